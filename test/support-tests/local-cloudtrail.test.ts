/**
 * The local CloudTrail endpoint through the real @aws-sdk/client-cloudtrail: the wire protocol,
 * and the documented limits of LookupEvents (2 requests a second per account and Region, 50 events
 * a page with NextToken, one lookup attribute).
 */
import {
  CloudTrailClient,
  InvalidLookupAttributesException,
  InvalidMaxResultsException,
  InvalidNextTokenException,
  InvalidTimeRangeException,
  LookupEventsCommand,
  ThrottlingException,
  type LookupEventsCommandInput,
} from '@aws-sdk/client-cloudtrail';
import { revokeSecurityGroupEgress, runInstances } from '../support/cloudtrail-records';
import { startLocalCloudTrail, type LocalCloudTrail } from '../support/local-cloudtrail';

const T = Date.parse('2026-11-27T14:00:00Z');
const SG = 'sg-0a1b2c3d4e5f60001';

let clock = T + 3_600_000;
let trail: LocalCloudTrail;
let client: CloudTrailClient;

beforeAll(async () => {
  trail = await startLocalCloudTrail({ now: () => clock, accounts: { OTHERKEY: '210987654321' } });
  client = new CloudTrailClient({ ...trail.clientConfig(), maxAttempts: 1 });
  // 120 revokes a minute apart, one RunInstances, one event in another account and one in another Region.
  for (let i = 0; i < 120; i += 1)
    trail.seed(
      revokeSecurityGroupEgress(SG, [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
        at: T + i * 60_000,
        eventId: `e-${String(i).padStart(3, '0')}`,
      }),
    );
  trail.seed(runInstances('i-0a1b2c3d4e5f60001', { at: T + 30_000, eventId: 'run' }));
  trail.seed(
    revokeSecurityGroupEgress(SG, [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
      at: T,
      eventId: 'other-account',
      accountId: '210987654321',
    }),
  );
  trail.seed(
    revokeSecurityGroupEgress(SG, [{ protocol: '-1', cidr: '0.0.0.0/0' }], {
      at: T,
      eventId: 'other-region',
      region: 'eu-west-1',
    }),
  );
});

afterAll(async () => {
  client.destroy();
  await trail.stop();
});

beforeEach(() => {
  trail.resetCounters();
  // A second per test: the rate window starts empty.
  clock += 10_000;
});

const lookup = (input: LookupEventsCommandInput, c: CloudTrailClient = client) =>
  c.send(new LookupEventsCommand(input));
const byName = (name: string) => [{ AttributeKey: 'EventName' as const, AttributeValue: name }];

describe('local CloudTrail LookupEvents', () => {
  it('pages 50 events at a time, newest first, with a NextToken that only works with the same parameters', async () => {
    const input = {
      LookupAttributes: byName('RevokeSecurityGroupEgress'),
      StartTime: new Date(T),
      EndTime: new Date(T + 3 * 3_600_000),
    };
    const first = await lookup(input);
    expect(first.Events).toHaveLength(50);
    expect(first.Events?.[0]?.EventId).toBe('e-119');
    expect(first.Events?.[0]?.EventTime).toEqual(new Date(T + 119 * 60_000));
    expect(JSON.parse(first.Events?.[0]?.CloudTrailEvent ?? '{}')).toMatchObject({
      eventID: 'e-119',
      requestParameters: { groupId: SG },
    });
    expect(first.Events?.[0]?.Resources).toEqual([
      { ResourceType: 'AWS::EC2::SecurityGroup', ResourceName: SG },
    ]);
    expect(first.NextToken).toEqual(expect.any(String));
    clock += 1_000;
    await expect(
      lookup({ ...input, LookupAttributes: byName('RunInstances'), NextToken: first.NextToken }),
    ).rejects.toBeInstanceOf(InvalidNextTokenException);
    const second = await lookup({ ...input, NextToken: first.NextToken });
    clock += 1_000;
    const third = await lookup({ ...input, NextToken: second.NextToken });
    expect([second.Events?.length, third.Events?.length, third.NextToken]).toEqual([50, 20, undefined]);
    expect(third.Events?.at(-1)?.EventId).toBe('e-000');
  });

  it('allows two requests a second per account and Region, and throttles the third', async () => {
    const input = { LookupAttributes: byName('RunInstances') };
    await lookup(input);
    await lookup(input);
    await expect(lookup(input)).rejects.toBeInstanceOf(ThrottlingException);
    expect(trail.throttled).toBe(1);
    // Another account's quota and another Region's are their own.
    const other = new CloudTrailClient({
      ...trail.clientConfig(),
      credentials: { accessKeyId: 'OTHERKEY', secretAccessKey: 'x' },
      maxAttempts: 1,
    });
    const ireland = new CloudTrailClient({ ...trail.clientConfig(), region: 'eu-west-1', maxAttempts: 1 });
    expect(
      (await lookup({ LookupAttributes: byName('RevokeSecurityGroupEgress') }, other)).Events?.map(
        (e) => e.EventId,
      ),
    ).toEqual(['other-account']);
    expect(
      (await lookup({ LookupAttributes: byName('RevokeSecurityGroupEgress') }, ireland)).Events?.map(
        (e) => e.EventId,
      ),
    ).toEqual(['other-region']);
    other.destroy();
    ireland.destroy();
    clock += 1_000;
    expect((await lookup(input)).Events?.map((e) => e.EventId)).toEqual(['run']);
  });

  it('takes exactly one lookup attribute of the documented keys', async () => {
    await expect(
      lookup({
        LookupAttributes: [...byName('RunInstances'), { AttributeKey: 'ResourceName', AttributeValue: SG }],
      }),
    ).rejects.toBeInstanceOf(InvalidLookupAttributesException);
    clock += 1_000;
    const bySg = await lookup({
      LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: SG }],
      MaxResults: 5,
    });
    expect(bySg.Events).toHaveLength(5);
  });

  it('refuses MaxResults outside 1-50 and a start after the end, and filters the time range inclusively', async () => {
    await expect(lookup({ MaxResults: 51 })).rejects.toBeInstanceOf(InvalidMaxResultsException);
    await expect(lookup({ StartTime: new Date(T + 1000), EndTime: new Date(T) })).rejects.toBeInstanceOf(
      InvalidTimeRangeException,
    );
    clock += 1_000;
    const range = await lookup({
      LookupAttributes: byName('RevokeSecurityGroupEgress'),
      StartTime: new Date(T + 60_000),
      EndTime: new Date(T + 120_000),
    });
    expect(range.Events?.map((e) => e.EventId)).toEqual(['e-002', 'e-001']);
  });

  it('returns an event only once it is delivered, and injects failures', async () => {
    trail.seed({
      record: runInstances('i-0a1b2c3d4e5f60002', { at: clock - 60_000, eventId: 'late' }),
      visibleAt: clock + 5 * 60_000,
    });
    expect(
      (await lookup({ LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: 'late' }] })).Events,
    ).toEqual([]);
    clock += 6 * 60_000;
    expect(
      (await lookup({ LookupAttributes: [{ AttributeKey: 'EventId', AttributeValue: 'late' }] })).Events,
    ).toHaveLength(1);
    trail.injectErrors('AccessDeniedException');
    clock += 1_000;
    await expect(lookup({})).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(trail.calls.map((c) => c.error)).toEqual([undefined, undefined, 'AccessDeniedException']);
  });
});
