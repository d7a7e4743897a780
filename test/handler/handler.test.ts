/**
 * The real `lambda/handler.ts` module as Lambda loads it: environment parsed at cold start,
 * Powertools Logger and Metrics writing JSON and EMF to stdout.
 */
import type { RunSummary } from '../../lambda/detector-run';
import { startLocalSns, type LocalSns } from '../support/local-sns';

const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:egress-alerts';

type HandlerModule = typeof import('../../lambda/handler');

function loadHandler(env: Record<string, string>): HandlerModule {
  const saved = { ...process.env };
  try {
    for (const key of Object.keys(process.env))
      if (key.startsWith('POWERTOOLS_') || key.endsWith('_ENDPOINT')) delete process.env[key];
    Object.assign(process.env, env);
    let loaded: HandlerModule | undefined;
    jest.isolateModules(() => {
      // A fresh module registry is a fresh cold start; jest's CommonJS runtime needs require for it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require('../../lambda/handler') as HandlerModule;
    });
    return loaded!;
  } finally {
    process.env = saved;
  }
}

let sns: LocalSns;

const savedCredentials = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

beforeAll(async () => {
  sns = await startLocalSns({ topics: [TOPIC_ARN] });
  // The SDK resolves credentials at the first call, not at client creation.
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
});

afterAll(async () => {
  await sns.stop();
  if (savedCredentials.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
  else process.env.AWS_ACCESS_KEY_ID = savedCredentials.id;
  if (savedCredentials.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
  else process.env.AWS_SECRET_ACCESS_KEY = savedCredentials.secret;
});

describe('handler cold start', () => {
  it('fails the init with every bad variable named', () => {
    expect(() =>
      loadHandler({
        LOG_GROUP_IDENTIFIERS: '/vpc/flows',
        TABLE_NAME: 'x',
        TOPIC_ARN: 'arn:aws:sns:us-east-1:1:t',
      }),
    ).toThrow(/TABLE_NAME: not a DynamoDB table name \(got "x"\)\nTOPIC_ARN: not an SNS topic ARN/);
  });

  it('runs a test alert and emits EMF in the EgressSpikeDetector namespace, without the RunSucceeded heartbeat of the schedule', async () => {
    // Prepare
    const { handler } = loadHandler({
      LOG_GROUP_IDENTIFIERS: '/vpc/flows',
      TABLE_NAME: 'detector-state',
      TOPIC_ARN,
      SNS_ENDPOINT: sns.endpoint,
      AWS_REGION: 'us-east-1',
    });
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((l) => l.trim().length > 0),
      );
      return true;
    });

    // Act
    let summary: RunSummary;
    try {
      summary = await handler(
        { mode: 'test-alert' },
        { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'req-1' },
      );
    } finally {
      write.mockRestore();
    }

    // Assess
    expect(summary.alertsPublished).toBe(1);
    expect(sns.published).toHaveLength(1);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const emf = records.find((r) => r._aws !== undefined) as
      | {
          _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string }[] }[] };
          RunSucceeded?: number;
        }
      | undefined;
    expect(emf?._aws.CloudWatchMetrics[0]?.Namespace).toBe('EgressSpikeDetector');
    // A manual run is not the schedule: a test alert a window must not keep MissedRuns quiet while
    // every scheduled run fails, nor count as an alert sent.
    expect(emf?._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name)).toEqual(['BytesScanned']);
    expect(emf?.RunSucceeded).toBeUndefined();
    const published = records.find((r) => r.message === 'test alert published');
    expect(published).toMatchObject({
      level: 'INFO',
      run: 'req-1',
      mode: 'test-alert',
      service: 'egress-spike-detector',
    });
  });
});
