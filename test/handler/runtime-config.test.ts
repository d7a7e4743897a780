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

  it('refuses a log group ARN of another Region than AWS_REGION (every query would fail), naming the variable and the Regions', () => {
    // Prepare: an ARN of eu-west-1 beside one of the function's Region
    const other = 'arn:aws:logs:eu-west-1:123456789012:log-group:/vpc/flow-logs-eu';

    // Act
    const load = (region?: string) =>
      loadRuntimeConfig({
        ...VALID,
        LOG_GROUP_IDENTIFIERS: `/vpc/flow-logs,${GROUP_ARN},${other}`,
        ...(region === undefined ? {} : { AWS_REGION: region }),
      });

    // Assess: refused in us-east-1 (the default), by name and Regions; taken in its own Region only
    // when the other ARN is gone
    expect(() => load('us-east-1')).toThrow(ConfigError);
    expect(() => load()).toThrow(
      `LOG_GROUP_IDENTIFIERS: ${other} is a log group of eu-west-1, not of the function's Region (AWS_REGION us-east-1)`,
    );
    expect(() => load('eu-west-1')).toThrow(
      `${GROUP_ARN} is a log group of us-east-1, not of the function's Region (AWS_REGION eu-west-1)`,
    );
    expect(
      loadRuntimeConfig({ ...VALID, LOG_GROUP_IDENTIFIERS: other, AWS_REGION: 'eu-west-1' })
        .logGroupIdentifiers,
    ).toEqual([other]);
  });
});

describe('loadRuntimeConfig: more than 50 log groups, prefixes and linked accounts', () => {
  it('takes more than 50 log groups (the flow source queries them in parts)', () => {
    const groups = Array.from({ length: 60 }, (_, i) => `/vpc/flow-logs/${i}`);
    expect(
      loadRuntimeConfig({ ...VALID, LOG_GROUP_IDENTIFIERS: groups.join(',') }).logGroupIdentifiers,
    ).toEqual(groups);
  });

  it('takes prefixes instead of log groups, and INCLUDE_LINKED_ACCOUNTS', () => {
    const config = loadRuntimeConfig({
      ...VALID,
      LOG_GROUP_IDENTIFIERS: '',
      LOG_GROUP_PREFIXES: '/vpc/flow-logs/, /org/',
      INCLUDE_LINKED_ACCOUNTS: 'true',
    });
    expect(config.logGroupIdentifiers).toEqual([]);
    expect(config.logGroupPrefixes).toEqual(['/vpc/flow-logs/', '/org/']);
    expect(config.includeLinkedAccounts).toBe(true);
    expect(loadRuntimeConfig(VALID)).toMatchObject({ logGroupPrefixes: [], includeLinkedAccounts: false });
  });

  it('refuses an environment with neither log groups nor prefixes, naming both variables', () => {
    const load = () => loadRuntimeConfig({ ...VALID, LOG_GROUP_IDENTIFIERS: ' , ' });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/LOG_GROUP_IDENTIFIERS: set it or LOG_GROUP_PREFIXES/);
  });

  it.each([
    [
      'a prefix with a space',
      { LOG_GROUP_PREFIXES: '/vpc/flow logs' },
      /LOG_GROUP_PREFIXES: not a log group name prefix/,
    ],
    ['INCLUDE_LINKED_ACCOUNTS=yes', { INCLUDE_LINKED_ACCOUNTS: 'yes' }, /INCLUDE_LINKED_ACCOUNTS/],
  ])('refuses %s', (_name, env, message) => {
    expect(() => loadRuntimeConfig({ ...VALID, ...env })).toThrow(message);
  });
});

describe('loadRuntimeConfig: the own account and the member role', () => {
  it('reads ACCOUNT_ID, MEMBER_ROLE_NAME and MEMBER_ROLE_EXTERNAL_ID; empty means none', () => {
    const config = loadRuntimeConfig({
      ...VALID,
      ACCOUNT_ID: '111111111111',
      MEMBER_ROLE_NAME: 'EgressSpikeDetectorMember',
      MEMBER_ROLE_EXTERNAL_ID: 'egress-spike-detector:o-abc123defg',
    });
    expect(config.accountId).toBe('111111111111');
    expect(config.memberRole).toEqual({
      name: 'EgressSpikeDetectorMember',
      externalId: 'egress-spike-detector:o-abc123defg',
    });
    expect(
      loadRuntimeConfig({ ...VALID, ACCOUNT_ID: '', MEMBER_ROLE_NAME: '', MEMBER_ROLE_EXTERNAL_ID: '' }),
    ).toMatchObject({
      accountId: undefined,
      memberRole: undefined,
    });
  });

  it.each([
    [
      'a role name without an external id',
      { MEMBER_ROLE_NAME: 'Member' },
      /MEMBER_ROLE_EXTERNAL_ID: the member role needs both/,
    ],
    [
      'an external id without a role name',
      { MEMBER_ROLE_EXTERNAL_ID: 'abc' },
      /MEMBER_ROLE_NAME: the member role needs both/,
    ],
    [
      'an external id of one character',
      { MEMBER_ROLE_NAME: 'Member', MEMBER_ROLE_EXTERNAL_ID: 'a' },
      /MEMBER_ROLE_EXTERNAL_ID: not an external id/,
    ],
    ['an 11-digit account', { ACCOUNT_ID: '12345678901' }, /ACCOUNT_ID: not an AWS account ID/],
  ])('refuses %s', (_name, env, message) => {
    expect(() => loadRuntimeConfig({ ...VALID, ...env })).toThrow(message);
  });
});

describe('loadRuntimeConfig: change causes with the Athena source', () => {
  const ATHENA = {
    TABLE_NAME: 'egress-state',
    TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:egress-alerts',
    FLOW_SOURCE: 'athena',
    ATHENA_WORKGROUP: 'egress',
    ATHENA_DATABASE: 'flows',
    ATHENA_TABLE: 'vpc_flow_logs',
    AWS_REGION: 'us-east-1',
    LOOK_UP_CHANGE_CAUSES: 'true',
    // With vpc-id: one detector may count several Regions' flow logs (see the next describe).
    DETECTOR_CONFIG: JSON.stringify({
      flowLogFormat:
        'version account-id vpc-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status',
    }),
  };

  it('says why causes cannot be looked up with flow logs of another Region, rather than refusing to detect', () => {
    // The stack refuses this at synth where it knows its Region; a function that still gets it
    // detects and alerts, each alert saying why it names no cause.
    expect(
      loadRuntimeConfig({ ...ATHENA, ATHENA_FLOW_LOG_REGIONS: 'us-east-1,eu-west-1' })
        .changeCausesUnavailable,
    ).toBe(
      "the flow logs include eu-west-1, and causes are looked up in the function's Region (us-east-1) only; run a detector in each Region for that Region's flow logs",
    );
    expect(
      loadRuntimeConfig({ ...ATHENA, ATHENA_FLOW_LOG_REGIONS: 'eu-west-1' }).changeCausesUnavailable,
    ).toMatch(/^the flow logs include eu-west-1,/);
  });

  it("takes the table's fingerprint the stack sets, and refuses one that is no SHA-256, naming the variable", () => {
    const fingerprint = 'ab'.repeat(32);
    expect(
      loadRuntimeConfig({ ...ATHENA, ATHENA_TABLE_FINGERPRINT: fingerprint }).athena?.tableFingerprint,
    ).toBe(fingerprint);
    expect(loadRuntimeConfig(ATHENA).athena).not.toHaveProperty('tableFingerprint');
    expect(() => loadRuntimeConfig({ ...ATHENA, ATHENA_TABLE_FINGERPRINT: 'AB'.repeat(32) })).toThrow(
      /ATHENA_TABLE_FINGERPRINT: not a SHA-256 in hex/,
    );
  });

  it("takes the function's own Region, no Regions (its own), or several Regions without causes", () => {
    expect(loadRuntimeConfig({ ...ATHENA, ATHENA_FLOW_LOG_REGIONS: 'us-east-1' }).lookUpChangeCauses).toBe(
      true,
    );
    expect(loadRuntimeConfig({ ...ATHENA, ATHENA_FLOW_LOG_REGIONS: 'us-east-1' })).not.toHaveProperty(
      'changeCausesUnavailable',
    );
    expect(loadRuntimeConfig(ATHENA).lookUpChangeCauses).toBe(true);
    expect(
      loadRuntimeConfig({
        ...ATHENA,
        ATHENA_FLOW_LOG_REGIONS: 'us-east-1,eu-west-1',
        LOOK_UP_CHANGE_CAUSES: 'false',
      }).athena?.workGroup,
    ).toBe('egress');
  });
});

describe('loadRuntimeConfig: CIDR lists too long for one Logs Insights query', () => {
  const cidrs = (n: number) =>
    Array.from({ length: n }, (_, i) => `10.${Math.floor(i / 256)}.${i % 256}.0/24`);

  it('refuses them at cold start, naming the query length, where the schema alone allows them', () => {
    expect(() =>
      loadRuntimeConfig({ ...VALID, DETECTOR_CONFIG: JSON.stringify({ internalCidrs: cidrs(150) }) }),
    ).toThrow(
      /DETECTOR_CONFIG: count query would be \d+ characters, over the Logs Insights limit of 10000: 150 internal/,
    );
    expect(
      loadRuntimeConfig({ ...VALID, DETECTOR_CONFIG: JSON.stringify({ internalCidrs: cidrs(96) }) }).detector
        .internalCidrs,
    ).toHaveLength(96);
    // One that fits whole but leaves no room to split a busy window's query is refused too.
    expect(() =>
      loadRuntimeConfig({ ...VALID, DETECTOR_CONFIG: JSON.stringify({ internalCidrs: cidrs(97) }) }),
    ).toThrow(/once a busy window's query is split/);
  });
});

describe('loadRuntimeConfig: the Athena source over several Regions', () => {
  const ATHENA = {
    TABLE_NAME: 'egress-state',
    TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:egress-alerts',
    FLOW_SOURCE: 'athena',
    ATHENA_WORKGROUP: 'egress',
    ATHENA_DATABASE: 'flows',
    ATHENA_TABLE: 'vpc_flow_logs',
    AWS_REGION: 'us-east-1',
  };

  it("refuses several Regions in a format without vpc-id at cold start (one account's address in two Regions would be one source)", () => {
    expect(() => loadRuntimeConfig({ ...ATHENA, ATHENA_FLOW_LOG_REGIONS: 'us-east-1,eu-west-1' })).toThrow(
      /ATHENA_FLOW_LOG_REGIONS: the flow logs of us-east-1, eu-west-1 in a format without vpc-id would count one account's address in two Regions/,
    );
    // One Region, a format with vpc-id, or Security Lake (its records carry the VPC): fine.
    expect(loadRuntimeConfig({ ...ATHENA, ATHENA_FLOW_LOG_REGIONS: 'eu-west-1' }).athena?.workGroup).toBe(
      'egress',
    );
    const withVpc = JSON.stringify({
      flowLogFormat:
        'version account-id vpc-id interface-id srcaddr dstaddr dstport protocol start end action log-status',
    });
    expect(
      loadRuntimeConfig({
        ...ATHENA,
        ATHENA_FLOW_LOG_REGIONS: 'us-east-1,eu-west-1',
        DETECTOR_CONFIG: withVpc,
      }).athena?.workGroup,
    ).toBe('egress');
    expect(
      loadRuntimeConfig({
        ...ATHENA,
        ATHENA_FLOW_LOG_REGIONS: 'us-east-1,eu-west-1',
        ATHENA_TABLE_KIND: 'security-lake',
      }).athena?.table.kind,
    ).toBe('security-lake');
  });
});

describe('loadRuntimeConfig: TOPIC_ARN', () => {
  it('refuses a FIFO topic, saying why (no MessageGroupId is sent; no email or AWS Chatbot delivery)', () => {
    expect(() =>
      loadRuntimeConfig({ ...VALID, TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:egress-alerts.fifo' }),
    ).toThrow(
      /TOPIC_ARN: a FIFO topic \(\.fifo\) is refused: SNS requires a MessageGroupId on every publish to it, which the detector does not send, and FIFO topics cannot deliver to email or AWS Chatbot\. Use a standard topic/,
    );
  });

  it('still refuses what is not a topic ARN, and takes a standard topic', () => {
    expect(() =>
      loadRuntimeConfig({ ...VALID, TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:a.b' }),
    ).toThrow(/TOPIC_ARN: not an SNS topic ARN/);
    expect(loadRuntimeConfig(VALID).topicArn).toBe(VALID.TOPIC_ARN);
  });
});
