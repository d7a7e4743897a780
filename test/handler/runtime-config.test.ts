/**
 * The Lambda environment's parse at cold start (lambda/runtime-config.ts): what it refuses and
 * how the message names it.
 */
import { ConfigError } from '../../lambda/core';
import { loadRuntimeConfig } from '../../lambda/runtime-config';

const VALID = {
  LOG_GROUP_IDENTIFIERS: '/vpc/flow-logs',
  TABLE_NAME: 'egress-state',
  TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:egress-alerts',
};
const GROUP_ARN = 'arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs-b';

describe('loadRuntimeConfig: LOG_GROUP_IDENTIFIERS', () => {
  it('takes names and log group ARNs as StartQuery does', () => {
    // Act
    const config = loadRuntimeConfig({ ...VALID, LOG_GROUP_IDENTIFIERS: ` /vpc/flow-logs , ${GROUP_ARN}` });

    // Assess
    expect(config.logGroupIdentifiers).toEqual(['/vpc/flow-logs', GROUP_ARN]);
  });

  it("refuses an ARN ending in ':*' (StartQuery would refuse every query) and says how to fix it", () => {
    // Act
    const load = () =>
      loadRuntimeConfig({ ...VALID, LOG_GROUP_IDENTIFIERS: `/vpc/flow-logs,${GROUP_ARN}:*` });

    // Assess
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(
      `LOG_GROUP_IDENTIFIERS: an ARN ending in ':*' is refused by StartQuery: remove the ':*' (got "/vpc/flow-logs,${GROUP_ARN}:*")`,
    );
  });
});
