import { DescribeInstancesCommand, DescribeNetworkInterfacesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { Ec2Enricher } from '../../lambda/adapters/ec2-enricher';
import type { AlertDetails } from '../../lambda/core';
import { startLocalEc2, type LocalEc2 } from '../support/local-ec2';

// Unit tests with the SDK mock; the same enricher against the local EC2 endpoint further down.
const ec2 = mockClient(EC2Client);
const details = (...interfaceIds: string[]): AlertDetails => ({
  topDestinations: [],
  totalDestinations: 0,
  interfaceIds,
});

describe('Ec2Enricher', () => {
  beforeEach(() => ec2.reset());

  it('adds instance, VPC, subnet and the instance Name tag per interface, asking EC2 once per interface and instance per run', async () => {
    // Prepare: the interface has its own Name tag; the instance's Name is the one people gave.
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        { Instances: [{ InstanceId: 'i-0123456789abcdef0', Tags: [{ Key: 'Name', Value: 'web-1' }] }] },
      ],
    });
    ec2.on(DescribeNetworkInterfacesCommand).resolves({
      NetworkInterfaces: [
        {
          NetworkInterfaceId: 'eni-0aaaabbbbccccdddd',
          VpcId: 'vpc-0123456789abcdef0',
          SubnetId: 'subnet-0123456789abcdef0',
          InterfaceType: 'interface',
          Attachment: { InstanceId: 'i-0123456789abcdef0' },
          TagSet: [{ Key: 'Name', Value: 'web-1-primary-eni' }],
        },
      ],
    });
    const warnings: string[] = [];
    const enricher = new Ec2Enricher({
      client: new EC2Client({ region: 'us-east-1' }),
      logger: { warn: (m) => warnings.push(m) },
    });

    // Act
    const first = await enricher.enrich(
      new Map([['10.0.0.1', details('eni-0aaaabbbbccccdddd', 'eni-0ffffeeeeddddcccc')]]),
    );
    const second = await enricher.enrich(new Map([['10.0.0.2', details('eni-0aaaabbbbccccdddd')]]));

    // Assess
    const resource = {
      instanceId: 'i-0123456789abcdef0',
      vpcId: 'vpc-0123456789abcdef0',
      subnetId: 'subnet-0123456789abcdef0',
      interfaceType: 'interface',
      name: 'web-1',
    };
    expect(first.get('10.0.0.1')?.resources).toEqual({ 'eni-0aaaabbbbccccdddd': resource });
    expect(second.get('10.0.0.2')?.resources).toEqual({ 'eni-0aaaabbbbccccdddd': resource });
    expect(ec2.commandCalls(DescribeNetworkInterfacesCommand)).toHaveLength(1);
    expect(ec2.commandCalls(DescribeNetworkInterfacesCommand)[0]?.args[0].input.Filters?.[0]?.Values).toEqual(
      ['eni-0aaaabbbbccccdddd', 'eni-0ffffeeeeddddcccc'],
    );
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters).toEqual([
      { Name: 'instance-id', Values: ['i-0123456789abcdef0'] },
    ]);
    expect(warnings).toEqual([]);
  });

  it('falls back to the interface Name tag when the instance has none or DescribeInstances fails', async () => {
    // Prepare: two interfaces on two instances; the first instance has no Name, then EC2 refuses.
    ec2.on(DescribeNetworkInterfacesCommand).resolves({
      NetworkInterfaces: [
        {
          NetworkInterfaceId: 'eni-0aaaabbbbccccdddd',
          Attachment: { InstanceId: 'i-0aaaaaaaaaaaaaaa1' },
          TagSet: [{ Key: 'Name', Value: 'eni-label-1' }],
        },
        {
          NetworkInterfaceId: 'eni-0ffffeeeeddddcccc',
          Attachment: { InstanceId: 'i-0aaaaaaaaaaaaaaa2' },
          TagSet: [{ Key: 'Name', Value: 'eni-label-2' }],
        },
      ],
    });
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: 'i-0aaaaaaaaaaaaaaa1', Tags: [] }] }] })
      .rejects(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }));
    const warnings: string[] = [];
    const enricher = new Ec2Enricher({
      client: new EC2Client({ region: 'us-east-1' }),
      logger: { warn: (m) => warnings.push(m) },
    });

    // Act
    const first = await enricher.enrich(new Map([['10.0.0.1', details('eni-0aaaabbbbccccdddd')]]));
    const second = await enricher.enrich(new Map([['10.0.0.2', details('eni-0ffffeeeeddddcccc')]]));

    // Assess
    expect(first.get('10.0.0.1')?.resources).toEqual({
      'eni-0aaaabbbbccccdddd': { instanceId: 'i-0aaaaaaaaaaaaaaa1', name: 'eni-label-1' },
    });
    expect(second.get('10.0.0.2')?.resources).toEqual({
      'eni-0ffffeeeeddddcccc': { instanceId: 'i-0aaaaaaaaaaaaaaa2', name: 'eni-label-2' },
    });
    expect(warnings).toEqual(['EC2 instance lookup failed; alerts go out with the interface names']);
  });

  it('logs a failure and returns the details unchanged, never throwing', async () => {
    // Prepare
    ec2
      .on(DescribeNetworkInterfacesCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation' }));
    const warnings: { message: string; extra: unknown }[] = [];
    const enricher = new Ec2Enricher({
      client: new EC2Client({ region: 'us-east-1' }),
      logger: { warn: (message, extra) => warnings.push({ message, extra }) },
    });
    const input = new Map([['10.0.0.1', details('eni-0aaaabbbbccccdddd', 'not-an-eni" or 1=1')]]);

    // Act
    const result = await enricher.enrich(input);

    // Assess
    expect(result.get('10.0.0.1')).toEqual(input.get('10.0.0.1'));
    expect(warnings).toEqual([
      {
        message: 'EC2 enrichment failed; alerts go out without it',
        extra: { error: 'UnauthorizedOperation: not authorized', interfaces: 1 },
      },
    ]);
  });
});

describe('Ec2Enricher over many accounts', () => {
  const accountOf = (source: string) => source.split('|')[0];
  const sixAccounts = new Map(
    Array.from({ length: 6 }, (_, i) => [
      `10000000000${i}|10.0.0.5`,
      details(`eni-0${String(i).repeat(16)}`),
    ]),
  );

  it('looks accounts up at the same time: six that each wait for STS wait together, not one after another', async () => {
    // Prepare: each account's client takes 300 ms (STS answering slowly) and has nothing
    const waitMs = 300;
    let inFlight = 0;
    let most = 0;
    const enricher = new Ec2Enricher({
      client: { send: async () => ({}) } as never,
      logger: { warn: () => undefined },
      ownAccountId: '999999999999',
      accountOf,
      clientForAccount: async () => {
        most = Math.max(most, (inFlight += 1));
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        inFlight -= 1;
        return undefined;
      },
    });

    // Act
    await enricher.enrich(sixAccounts);

    // Assess: all six waited at once (one after another, at most one would be in flight)
    expect(most).toBe(6);
  });

  it('starts no account at or after the deadline, and says which went without', async () => {
    // Prepare: the run's clock is past the deadline it gives
    const asked: string[] = [];
    const warnings: { message: string; extra: unknown }[] = [];
    const enricher = new Ec2Enricher({
      client: { send: async () => ({}) } as never,
      logger: { warn: (message, extra) => warnings.push({ message, extra }) },
      ownAccountId: '999999999999',
      accountOf,
      clientForAccount: async (account) => {
        asked.push(account);
        return undefined;
      },
      now: () => 2_000,
    });

    // Act
    const result = await enricher.enrich(sixAccounts, 1_000);

    // Assess
    expect(asked).toEqual([]);
    expect(result).toEqual(sixAccounts);
    expect(warnings).toEqual([
      {
        message: 'EC2 enrichment out of time; those alerts go out without it',
        extra: { accounts: [...sixAccounts.keys()].map(accountOf) },
      },
    ]);
  });
});

describe('Ec2Enricher against the local EC2 endpoint', () => {
  const eniId = (i: number) => `eni-0${i.toString(16).padStart(16, '0')}`;
  const instanceId = (i: number) => `i-0${i.toString(16).padStart(16, '0')}`;
  let local: LocalEc2;
  let client: EC2Client;

  beforeAll(async () => {
    ec2.restore(); // the SDK mock above replaces every EC2Client's send: real calls from here on
    // A large account: 1,200 interfaces (AWS refuses unpaginated describe calls over "a large
    // number"; the endpoint calls 1,000 large), every one attached to an instance with a Name.
    local = await startLocalEc2({ unpaginatedLimit: 1_000 });
    local.addNetworkInterfaces(
      ...Array.from({ length: 1_200 }, (_, i) => ({
        networkInterfaceId: eniId(i + 1),
        vpcId: 'vpc-0123456789abcdef0',
        subnetId: `subnet-0${String(i % 4).padStart(16, '0')}`,
        attachment: { instanceId: instanceId(i + 1) },
        tags: [{ key: 'Name', value: `eni-label-${i + 1}` }],
      })),
    );
    local.addInstances(
      ...Array.from({ length: 1_200 }, (_, i) => ({
        instanceId: instanceId(i + 1),
        tags: [{ key: 'Name', value: `host-${i + 1}` }],
      })),
    );
    client = new EC2Client({ ...local.clientConfig(), maxAttempts: 1 });
  });

  afterAll(async () => {
    client.destroy();
    await local.stop();
  });

  beforeEach(() => local.resetCounters());

  it('enriches 450 interfaces of a large account in calls of at most 200 filter values, paginated', async () => {
    // Prepare: 150 alerted sources, three interfaces each.
    const warnings: string[] = [];
    const enricher = new Ec2Enricher({ client, logger: { warn: (m) => warnings.push(m) } });
    const input = new Map(
      Array.from({ length: 150 }, (_, s) => [
        `10.1.${s >> 8}.${s & 255}`,
        details(eniId(3 * s + 1), eniId(3 * s + 2), eniId(3 * s + 3)),
      ]),
    );

    // Act
    const result = await enricher.enrich(input);

    // Assess
    expect(warnings).toEqual([]);
    expect(result.get('10.1.0.0')?.resources).toEqual({
      [eniId(1)]: {
        instanceId: instanceId(1),
        vpcId: 'vpc-0123456789abcdef0',
        subnetId: 'subnet-00000000000000000',
        interfaceType: 'interface',
        name: 'host-1',
      },
      [eniId(2)]: expect.objectContaining({ instanceId: instanceId(2), name: 'host-2' }),
      [eniId(3)]: expect.objectContaining({ instanceId: instanceId(3), name: 'host-3' }),
    });
    const named = [...result.values()].flatMap((d) => Object.values(d.resources ?? {}).map((r) => r.name));
    expect(named).toHaveLength(450);
    expect(new Set(named).size).toBe(450);
    const calls = local.requests;
    expect(calls.map((c) => c.action)).toEqual([
      'DescribeNetworkInterfaces',
      'DescribeNetworkInterfaces',
      'DescribeNetworkInterfaces',
      'DescribeInstances',
      'DescribeInstances',
      'DescribeInstances',
    ]);
    expect(calls.every((c) => c.params.MaxResults !== undefined)).toBe(true);
    // AWS-managed interfaces and instances too, where the account hides them from Describe calls.
    expect(calls.every((c) => c.params.IncludeManagedResources === 'true')).toBe(true);
  });
});
