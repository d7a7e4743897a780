/**
 * The local EC2 endpoint's calls for change-aware alerts, against the real @aws-sdk/client-ec2:
 * DescribeNetworkInterfaces by any of an interface's addresses (secondary IPv4, IPv6),
 * DescribeNetworkAcls by subnet association, DescribeSecurityGroupRules by rule id; their
 * documented limits and paging.
 */
import {
  DescribeNetworkAclsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  paginateDescribeNetworkAcls,
} from '@aws-sdk/client-ec2';
import { startLocalEc2, type LocalEc2 } from '../support/local-ec2';

const hex = (i: number) => i.toString(16).padStart(16, '0');
const acl = (i: number) => `acl-0${hex(i)}`;
const subnet = (i: number) => `subnet-0${hex(i)}`;
const association = (i: number) => `aclassoc-0${hex(i)}`;
const rule = (i: number) => `sgr-0${hex(i)}`;

let ec2: LocalEc2;
let client: EC2Client;

beforeAll(async () => {
  ec2 = await startLocalEc2({ pageSize: 2 });
  ec2.addNetworkInterfaces(
    {
      networkInterfaceId: 'eni-0aaaaaaaaaaaaaaa1',
      vpcId: 'vpc-0aaaaaaaaaaaaaaaa',
      subnetId: subnet(1),
      privateIpAddress: '10.0.0.10',
      secondaryPrivateIpAddresses: ['10.0.0.11', '10.0.0.12'],
      ipv6Addresses: ['2001:db8::10'],
      groups: [{ groupId: 'sg-0aaaaaaaaaaaaaaa1', groupName: 'web' }],
      attachment: { instanceId: 'i-0aaaaaaaaaaaaaaa1' },
    },
    {
      networkInterfaceId: 'eni-0aaaaaaaaaaaaaaa2',
      vpcId: 'vpc-0aaaaaaaaaaaaaaaa',
      subnetId: subnet(2),
      privateIpAddress: '10.0.1.10',
      groups: [{ groupId: 'sg-0aaaaaaaaaaaaaaa2', groupName: 'db' }],
    },
  );
  // Five ACLs: ACL 1 holds subnets 1 and 2, each other ACL one subnet.
  ec2.addNetworkAcls(
    {
      networkAclId: acl(1),
      vpcId: 'vpc-0aaaaaaaaaaaaaaaa',
      associations: [
        { associationId: association(1), subnetId: subnet(1) },
        { associationId: association(2), subnetId: subnet(2) },
      ],
    },
    ...[3, 4, 5, 6].map((i) => ({
      networkAclId: acl(i),
      vpcId: 'vpc-0aaaaaaaaaaaaaaaa',
      associations: [{ associationId: association(i), subnetId: subnet(i) }],
    })),
  );
  ec2.addSecurityGroupRules(
    {
      securityGroupRuleId: rule(1),
      groupId: 'sg-0aaaaaaaaaaaaaaa1',
      isEgress: true,
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      cidrIpv4: '0.0.0.0/0',
    },
    { securityGroupRuleId: rule(2), groupId: 'sg-0aaaaaaaaaaaaaaa1', isEgress: false, ipProtocol: '-1' },
  );
  client = new EC2Client({ ...ec2.clientConfig(), maxAttempts: 1 });
});

afterAll(async () => {
  client.destroy();
  await ec2.stop();
});

beforeEach(() => ec2.resetCounters());

describe('DescribeNetworkInterfaces by address', () => {
  it('finds an interface by a secondary private address and describes all of its addresses', async () => {
    const out = await client.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'addresses.private-ip-address', Values: ['10.0.0.12'] }],
        MaxResults: 5,
      }),
    );
    expect(out.NetworkInterfaces?.map((n) => n.NetworkInterfaceId)).toEqual(['eni-0aaaaaaaaaaaaaaa1']);
    const eni = out.NetworkInterfaces![0]!;
    expect(eni.PrivateIpAddresses?.map((a) => [a.PrivateIpAddress, a.Primary])).toEqual([
      ['10.0.0.10', true],
      ['10.0.0.11', false],
      ['10.0.0.12', false],
    ]);
    expect(eni.Ipv6Addresses?.map((a) => a.Ipv6Address)).toEqual(['2001:db8::10']);
  });

  it('does not find a secondary address through private-ip-address (the primary only)', async () => {
    const out = await client.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'private-ip-address', Values: ['10.0.0.12'] }],
        MaxResults: 5,
      }),
    );
    expect(out.NetworkInterfaces).toEqual([]);
  });

  it('finds an interface by an IPv6 address', async () => {
    const out = await client.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'ipv6-addresses.ipv6-address', Values: ['2001:db8::10', '2001:db8::99'] }],
        MaxResults: 5,
      }),
    );
    expect(out.NetworkInterfaces?.map((n) => n.NetworkInterfaceId)).toEqual(['eni-0aaaaaaaaaaaaaaa1']);
  });
});

describe('DescribeNetworkAcls', () => {
  it('finds the ACL of each subnet by association.subnet-id, with its associations', async () => {
    const out = await client.send(
      new DescribeNetworkAclsCommand({
        Filters: [{ Name: 'association.subnet-id', Values: [subnet(2), subnet(4)] }],
        MaxResults: 5,
      }),
    );
    // A page of at most 2 (pageSize): both ACLs fit.
    expect(out.NetworkAcls?.map((a) => a.NetworkAclId)).toEqual([acl(1), acl(4)]);
    expect(out.NetworkAcls?.[0]?.Associations).toEqual([
      { NetworkAclAssociationId: association(1), NetworkAclId: acl(1), SubnetId: subnet(1) },
      { NetworkAclAssociationId: association(2), NetworkAclId: acl(1), SubnetId: subnet(2) },
    ]);
    expect(out.NetworkAcls?.[0]?.IsDefault).toBe(false);
    expect(out.NextToken).toBeUndefined();
  });

  it('pages with NextToken', async () => {
    const ids: string[] = [];
    for await (const page of paginateDescribeNetworkAcls(
      { client },
      { Filters: [{ Name: 'vpc-id', Values: ['vpc-0aaaaaaaaaaaaaaaa'] }], MaxResults: 5 },
    ))
      ids.push(...(page.NetworkAcls ?? []).map((a) => a.NetworkAclId!));
    expect(ids).toEqual([acl(1), acl(3), acl(4), acl(5), acl(6)]);
    expect(ec2.count('DescribeNetworkAcls')).toBe(3);
  });

  it('rejects a malformed id, an unknown one, and more than 200 filter values', async () => {
    await expect(
      client.send(new DescribeNetworkAclsCommand({ NetworkAclIds: ['acl-xyz'] })),
    ).rejects.toMatchObject({
      name: 'InvalidNetworkAclID.Malformed',
    });
    await expect(
      client.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [acl(99)] })),
    ).rejects.toMatchObject({ name: 'InvalidNetworkAclID.NotFound' });
    await expect(
      client.send(
        new DescribeNetworkAclsCommand({
          Filters: [
            { Name: 'association.subnet-id', Values: Array.from({ length: 201 }, (_, i) => subnet(i)) },
          ],
          MaxResults: 100,
        }),
      ),
    ).rejects.toMatchObject({ name: 'FilterLimitExceeded' });
  });
});

describe('DescribeSecurityGroupRules', () => {
  it('tells egress rules from ingress rules by id', async () => {
    const out = await client.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: 'security-group-rule-id', Values: [rule(1), rule(2), rule(3)] }],
        MaxResults: 5,
      }),
    );
    expect(
      out.SecurityGroupRules?.map((r) => [r.SecurityGroupRuleId, r.GroupId, r.IsEgress, r.IpProtocol]),
    ).toEqual([
      [rule(1), 'sg-0aaaaaaaaaaaaaaa1', true, 'tcp'],
      [rule(2), 'sg-0aaaaaaaaaaaaaaa1', false, '-1'],
    ]);
    expect(out.SecurityGroupRules?.[0]).toMatchObject({ FromPort: 443, ToPort: 443, CidrIpv4: '0.0.0.0/0' });
  });

  it('rejects MaxResults outside 5..1000 and MaxResults with ids', async () => {
    await expect(
      client.send(new DescribeSecurityGroupRulesCommand({ MaxResults: 1001 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await expect(
      client.send(new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [rule(1)], MaxResults: 5 })),
    ).rejects.toMatchObject({ name: 'InvalidParameterCombination' });
  });
});
