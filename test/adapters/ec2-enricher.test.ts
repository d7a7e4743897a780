import { DescribeInstancesCommand, DescribeNetworkInterfacesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { Ec2Enricher } from '../../lambda/adapters/ec2-enricher';
import type { AlertDetails } from '../../lambda/core';

// No local EC2 endpoint exists in test/support: the SDK mock stands in for DescribeNetworkInterfaces.
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
