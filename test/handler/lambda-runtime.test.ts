/**
 * What createLambdaRuntime builds from the configuration: the clients' Regions.
 */
import { createLambdaRuntime } from '../../lambda/lambda-runtime';
import { loadRuntimeConfig } from '../../lambda/runtime-config';

const ENV = {
  LOG_GROUP_IDENTIFIERS: '/vpc/flows',
  TABLE_NAME: 'detector-state',
  AWS_REGION: 'eu-west-1',
};

describe('createLambdaRuntime', () => {
  it("publishes in the alert topic's Region (a central topic of another Region), queries in its own", async () => {
    const runtime = createLambdaRuntime(
      loadRuntimeConfig({ ...ENV, TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:EgressSpikeDetector-alerts' }),
    );
    expect(await runtime.clients.sns.config.region()).toBe('us-east-1');
    expect(await runtime.clients.logs.config.region()).toBe('eu-west-1');
    expect(await runtime.clients.dynamodb.config.region()).toBe('eu-west-1');
  });
});
