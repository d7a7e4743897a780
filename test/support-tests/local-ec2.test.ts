/**
 * The local EC2 endpoint against the real @aws-sdk/client-ec2: the EC2 Query protocol both ways,
 * the documented limits and errors of DescribeNetworkInterfaces and DescribeInstances, paging.
 */
import {
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  type DescribeNetworkInterfacesCommandInput,
  EC2Client,
  paginateDescribeInstances,
  paginateDescribeNetworkInterfaces,
} from '@aws-sdk/client-ec2';
import { startLocalEc2, type LocalEc2, type LocalNetworkInterface } from '../support/local-ec2';

const eniId = (i: number) => `eni-0${i.toString(16).padStart(16, '0')}`;
const instanceId = (i: number) => `i-0${i.toString(16).padStart(16, '0')}`;

/** 12 interfaces over two VPCs; the even ones attached to an instance each. */
const INTERFACES: LocalNetworkInterface[] = Array.from({ length: 12 }, (_, i) => ({
  networkInterfaceId: eniId(i + 1),
  vpcId: i < 6 ? 'vpc-0aaaaaaaaaaaaaaaa' : 'vpc-0bbbbbbbbbbbbbbbb',
  subnetId: `subnet-0${(i % 3).toString().padStart(16, '0')}`,
  privateIpAddress: `10.0.0.${i + 1}`,
  description: i === 1 ? 'Primary network interface & <more>' : undefined,
  groups: [{ groupId: 'sg-0123456789abcdef0', groupName: 'web' }],
  ...(i % 2 === 0 ? { attachment: { instanceId: instanceId(i + 1) } } : {}),
  tags: [{ key: 'Name', value: `eni-${i + 1}` }],
}));

let ec2: LocalEc2;
let client: EC2Client;

beforeAll(async () => {
  ec2 = await startLocalEc2();
  ec2.addNetworkInterfaces(...INTERFACES);
  ec2.addInstances(
    { instanceId: instanceId(1), reservationId: 'r-0aaaa', tags: [{ key: 'Name', value: 'web-1' }] },
    { instanceId: instanceId(3), reservationId: 'r-0aaaa', tags: [{ key: 'Name', value: 'web-2' }] },
    { instanceId: instanceId(5), state: 'stopped', vpcId: 'vpc-0aaaaaaaaaaaaaaaa' },
  );
  client = new EC2Client({ ...ec2.clientConfig(), maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  await ec2.stop();
});

beforeEach(() => ec2.resetCounters());

describe('local EC2: DescribeNetworkInterfaces', () => {
  it('answers a filtered call in the XML the SDK reads back into every field', async () => {
    // Act
    const out = await client.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'network-interface-id', Values: [eniId(1), eniId(2), eniId(99)] }],
      }),
    );

    // Assess
    expect(out.NextToken).toBeUndefined();
    expect(out.NetworkInterfaces).toHaveLength(2);
    expect(out.NetworkInterfaces![0]).toMatchObject({
      NetworkInterfaceId: eniId(1),
      VpcId: 'vpc-0aaaaaaaaaaaaaaaa',
      SubnetId: 'subnet-00000000000000000',
      PrivateIpAddress: '10.0.0.1',
      InterfaceType: 'interface',
      Status: 'in-use',
      RequesterManaged: false,
      Attachment: { InstanceId: instanceId(1), DeviceIndex: 0, Status: 'attached' },
      Groups: [{ GroupId: 'sg-0123456789abcdef0', GroupName: 'web' }],
      TagSet: [{ Key: 'Name', Value: 'eni-1' }],
    });
    expect(out.NetworkInterfaces![1]).toMatchObject({
      NetworkInterfaceId: eniId(2),
      Status: 'available',
      Description: 'Primary network interface & <more>',
    });
    expect(out.NetworkInterfaces![1]!.Attachment).toBeUndefined();
    // The request as the SDK sent it: EC2 Query lists, 1-based.
    expect(ec2.requests[0]!.params).toMatchObject({
      Action: 'DescribeNetworkInterfaces',
      Version: '2016-11-15',
      'Filter.1.Name': 'network-interface-id',
      'Filter.1.Value.3': eniId(99),
    });
  });

  it('matches filter values with * and ? wildcards, tag:<key> and tag-key filters', async () => {
    const ids = async (filters: { Name: string; Values: string[] }[]) =>
      (
        await client.send(new DescribeNetworkInterfacesCommand({ Filters: filters, MaxResults: 1000 }))
      ).NetworkInterfaces!.map((e) => e.NetworkInterfaceId);

    expect(await ids([{ Name: 'tag:Name', Values: ['eni-1?'] }])).toEqual([eniId(10), eniId(11), eniId(12)]);
    expect(await ids([{ Name: 'private-ip-address', Values: ['10.0.0.1*'] }])).toHaveLength(4);
    expect(
      await ids([
        { Name: 'vpc-id', Values: ['vpc-0bbbbbbbbbbbbbbbb'] },
        { Name: 'attachment.instance-id', Values: ['i-*'] },
      ]),
    ).toEqual([eniId(7), eniId(9), eniId(11)]);
    expect(await ids([{ Name: 'tag-key', Values: ['Owner'] }])).toEqual([]);
  });

  it('describes interfaces by id, and names an id that does not exist or is malformed', async () => {
    const byId = await client.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId(3)] }));
    expect(byId.NetworkInterfaces?.map((e) => e.NetworkInterfaceId)).toEqual([eniId(3)]);
    await expect(
      client.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId(3), eniId(99)] })),
    ).rejects.toMatchObject({
      name: 'InvalidNetworkInterfaceID.NotFound',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      client.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-x'] })),
    ).rejects.toMatchObject({ name: 'InvalidNetworkInterfaceId.Malformed' });
  });

  it('pages with MaxResults and NextToken; the SDK paginator collects every interface once', async () => {
    // Act
    const pages = [];
    for await (const page of paginateDescribeNetworkInterfaces(
      { client, pageSize: 5 },
      { Filters: [{ Name: 'group-id', Values: ['sg-0123456789abcdef0'] }] },
    ))
      pages.push(page.NetworkInterfaces!.map((e) => e.NetworkInterfaceId));

    // Assess
    expect(pages.map((p) => p.length)).toEqual([5, 5, 2]);
    expect(pages.flat()).toEqual(INTERFACES.map((e) => e.networkInterfaceId));
    expect(ec2.requests.map((r) => r.params.MaxResults)).toEqual(['5', '5', '5']);
  });

  it('refuses a NextToken of another query', async () => {
    const first = await client.send(new DescribeNetworkInterfacesCommand({ MaxResults: 5 }));
    await expect(
      client.send(
        new DescribeNetworkInterfacesCommand({
          MaxResults: 5,
          NextToken: first.NextToken,
          Filters: [{ Name: 'vpc-id', Values: ['vpc-0aaaaaaaaaaaaaaaa'] }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidPaginationToken' });
  });

  it.each([
    ['MaxResults below 5', { MaxResults: 4 }, 'InvalidParameterValue'],
    ['MaxResults above 1000', { MaxResults: 1001 }, 'InvalidParameterValue'],
    [
      'MaxResults with ids',
      { MaxResults: 5, NetworkInterfaceIds: [eniId(1)] },
      'InvalidParameterCombination',
    ],
    [
      '201 filter values',
      {
        Filters: [
          { Name: 'network-interface-id', Values: Array.from({ length: 150 }, (_, i) => eniId(i + 1)) },
          { Name: 'subnet-id', Values: Array.from({ length: 51 }, (_, i) => `subnet-0${i}`) },
        ],
      },
      'FilterLimitExceeded',
    ],
    ['an unknown filter', { Filters: [{ Name: 'colour', Values: ['blue'] }] }, 'InvalidParameterValue'],
    ['DryRun', { DryRun: true }, 'DryRunOperation'],
  ] as const)('refuses %s', async (_label, input, code) => {
    await expect(client.send(new DescribeNetworkInterfacesCommand(input as never))).rejects.toMatchObject({
      name: code,
    });
  });

  it('accepts 200 filter values in a call', async () => {
    const out = await client.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [
          { Name: 'network-interface-id', Values: Array.from({ length: 200 }, (_, i) => eniId(i + 1)) },
        ],
      }),
    );
    expect(out.NetworkInterfaces).toHaveLength(12);
  });

  it('refuses an unpaginated call over more interfaces than its limit, unless one of the documented filters narrows it', async () => {
    // Prepare: an account of 12 interfaces on an endpoint that calls 10 "a large number".
    const crowded = await startLocalEc2({ unpaginatedLimit: 10 });
    crowded.addNetworkInterfaces(...INTERFACES);
    const crowdedClient = new EC2Client({ ...crowded.clientConfig(), maxAttempts: 1 });
    const send = (input: DescribeNetworkInterfacesCommandInput) =>
      crowdedClient.send(new DescribeNetworkInterfacesCommand(input));
    const byIdFilter = { Filters: [{ Name: 'network-interface-id', Values: [eniId(1)] }] };
    try {
      // Act & Assess: a network-interface-id filter is not one of them; MaxResults or vpc-id is.
      await expect(send(byIdFilter)).rejects.toMatchObject({
        name: 'RequestLimitExceeded',
        $metadata: { httpStatusCode: 503 },
      });
      expect((await send({ ...byIdFilter, MaxResults: 1000 })).NetworkInterfaces).toHaveLength(1);
      expect(
        (
          await send({
            Filters: [...byIdFilter.Filters, { Name: 'vpc-id', Values: ['vpc-0aaaaaaaaaaaaaaaa'] }],
          })
        ).NetworkInterfaces,
      ).toHaveLength(1);
      expect((await send({ NetworkInterfaceIds: [eniId(1)] })).NetworkInterfaces).toHaveLength(1);
    } finally {
      crowdedClient.destroy();
      await crowded.stop();
    }
  });

  it('answers an action it does not know with InvalidAction', async () => {
    const response = await fetch(ec2.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=DescribeVolumes&Version=2016-11-15',
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('<Code>InvalidAction</Code>');
  });

  it('fails the next calls of an action with an injected error', async () => {
    ec2.injectErrors('DescribeNetworkInterfaces', 'UnauthorizedOperation', 1, 403);
    await expect(client.send(new DescribeNetworkInterfacesCommand({ MaxResults: 5 }))).rejects.toMatchObject({
      name: 'UnauthorizedOperation',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(client.send(new DescribeNetworkInterfacesCommand({ MaxResults: 5 }))).resolves.toBeDefined();
  });
});

describe('local EC2: DescribeInstances', () => {
  it('groups the instances of one reservation, with their state and tags', async () => {
    // Act
    const out = await client.send(
      new DescribeInstancesCommand({
        Filters: [{ Name: 'instance-id', Values: [instanceId(1), instanceId(3), instanceId(5)] }],
      }),
    );

    // Assess
    expect(out.Reservations?.map((r) => [r.ReservationId, r.Instances?.map((i) => i.InstanceId)])).toEqual([
      ['r-0aaaa', [instanceId(1), instanceId(3)]],
      [`r-${instanceId(5).slice(2)}`, [instanceId(5)]],
    ]);
    expect(out.Reservations![0]!.Instances![0]).toMatchObject({
      State: { Code: 16, Name: 'running' },
      Tags: [{ Key: 'Name', Value: 'web-1' }],
    });
    expect(out.Reservations![1]!.Instances![0]).toMatchObject({
      State: { Code: 80, Name: 'stopped' },
      VpcId: 'vpc-0aaaaaaaaaaaaaaaa',
    });
  });

  it('filters by state and tag, pages with MaxResults, and names an unknown or malformed instance id', async () => {
    const running = await client.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['running'] }] }),
    );
    expect(running.Reservations?.flatMap((r) => r.Instances!.map((i) => i.InstanceId))).toEqual([
      instanceId(1),
      instanceId(3),
    ]);
    const named = await client.send(
      new DescribeInstancesCommand({ Filters: [{ Name: 'tag:Name', Values: ['web-*'] }], MaxResults: 5 }),
    );
    expect(named.Reservations?.flatMap((r) => r.Instances!.map((i) => i.InstanceId))).toHaveLength(2);

    const small = await startLocalEc2({ pageSize: 1 });
    const smallClient = new EC2Client({ ...small.clientConfig(), maxAttempts: 1 });
    try {
      small.addInstances({ instanceId: instanceId(7) }, { instanceId: instanceId(8) });
      const pages = [];
      for await (const page of paginateDescribeInstances({ client: smallClient, pageSize: 5 }, {}))
        pages.push(page.Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId)));
      expect(pages).toEqual([[instanceId(7)], [instanceId(8)]]);
    } finally {
      smallClient.destroy();
      await small.stop();
    }

    await expect(
      client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId(99)] })),
    ).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });
    await expect(
      client.send(new DescribeInstancesCommand({ InstanceIds: ['i-nope'] })),
    ).rejects.toMatchObject({
      name: 'InvalidInstanceID.Malformed',
    });
    await expect(
      client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId(1)], MaxResults: 5 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterCombination' });
  });
});
