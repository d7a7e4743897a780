/**
 * The network facts that relate an egress-policy change to an alerted source, from EC2 Describe
 * calls in the source's account: its interfaces (by address, and by the interface ids its records
 * name) with their security groups, subnet and instance (DescribeNetworkInterfaces), each subnet's
 * network ACL association (DescribeNetworkAcls), and, for ModifySecurityGroupRules, whether a rule
 * is an egress rule (DescribeSecurityGroupRules by rule id), and, for a managed prefix list's
 * edit, which prefix lists the sources' groups' egress rules name (DescribeSecurityGroupRules by
 * group id). One batch per run: what was asked once is cached
 * for the run's later windows, and only what is missing is asked. Filters, not id lists: an id
 * deleted since would fail a whole call; pages of up to 1,000 (unpaginated calls fail in large
 * accounts).
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import {
  parseAddress,
  prefixesOf,
  type InterfaceFacts,
  type NetworkTopology,
  type SecurityGroupRuleFacts,
  type SourceRef,
  type SubnetAcl,
} from '../core';
import { loadEc2Module } from './ec2-enricher';

/** EC2 takes at most 200 filter values in one call. */
const VALUES_PER_CALL = 200;
const MAX_RESULTS = 1_000;
const ENI_ID = /^eni-[0-9a-f]{8,17}$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const RULE_ID = /^sgr-[0-9a-f]{8,17}$/;
const GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
const PREFIX_LIST_ID = /^pl-[0-9a-f]{8,17}$/;

const chunks = <T>(items: readonly T[]): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += VALUES_PER_CALL) out.push(items.slice(i, i + VALUES_PER_CALL));
  return out;
};

const describeError = (error: unknown): string =>
  error instanceof Error
    ? `${error.name}${error.message && error.message !== error.name ? `: ${error.message}` : ''}`
    : String(error);

export interface NetworkFactsResult {
  topology: NetworkTopology;
  /** Set when a Describe call failed: the facts are partial. */
  failure?: string;
}

/** One account and Region, for one run. */
export class Ec2NetworkFacts {
  private readonly interfaces = new Map<string, InterfaceFacts>();
  private readonly addressesAsked = new Set<string>();
  private readonly idsAsked = new Set<string>();
  private readonly subnetAcls = new Map<string, SubnetAcl>();
  private readonly subnetsAsked = new Set<string>();
  private readonly rules = new Map<string, SecurityGroupRuleFacts>();
  private readonly rulesAsked = new Set<string>();
  private readonly groupsAsked = new Set<string>();

  constructor(private readonly options: { client: Pick<EC2Client, 'send'> }) {}

  /**
   * Facts for the sources (and the rule ids of ModifySecurityGroupRules changes; with
   * `groupRules`, every rule of the sources' groups, for prefix list edits). Never throws.
   */
  async factsFor(
    sources: readonly SourceRef[],
    ruleIds: readonly string[],
    options: { groupRules?: boolean } = {},
  ): Promise<NetworkFactsResult> {
    let failure: string | undefined;
    const attempt = async (what: string, work: () => Promise<void>) => {
      if (failure !== undefined) return;
      try {
        await work();
      } catch (error) {
        failure = `EC2 ${what} failed (${describeError(error)})`;
      }
    };
    const addresses = [...new Set(sources.map((s) => s.address))].filter((a) => !this.addressesAsked.has(a));
    const v4 = addresses.filter((a) => parseAddress(a)?.kind() === 'ipv4');
    const v6 = addresses.filter((a) => parseAddress(a)?.kind() === 'ipv6');
    await attempt('DescribeNetworkInterfaces', async () => {
      for (const chunk of chunks(v4)) {
        await this.describeInterfaces('addresses.private-ip-address', chunk);
        chunk.forEach((a) => this.addressesAsked.add(a));
      }
      for (const chunk of chunks(v6)) {
        await this.describeInterfaces('ipv6-addresses.ipv6-address', chunk);
        chunk.forEach((a) => this.addressesAsked.add(a));
      }
      const ids = [...new Set(sources.flatMap((s) => s.interfaceIds ?? []))].filter(
        (id) => ENI_ID.test(id) && !this.interfaces.has(id) && !this.idsAsked.has(id),
      );
      for (const chunk of chunks(ids)) {
        await this.describeInterfaces('network-interface-id', chunk);
        chunk.forEach((id) => this.idsAsked.add(id));
      }
    });
    await attempt('DescribeNetworkAcls', async () => {
      const subnets = [
        ...new Set([...this.interfaces.values()].flatMap((i) => (i.subnetId ? [i.subnetId] : []))),
      ].filter((s) => SUBNET_ID.test(s) && !this.subnetsAsked.has(s));
      for (const chunk of chunks(subnets)) {
        await this.describeAcls(chunk);
        chunk.forEach((s) => this.subnetsAsked.add(s));
      }
    });
    await attempt('DescribeSecurityGroupRules', async () => {
      const wanted = [...new Set(ruleIds)].filter((id) => RULE_ID.test(id) && !this.rulesAsked.has(id));
      for (const chunk of chunks(wanted)) {
        await this.describeRules('security-group-rule-id', chunk);
        chunk.forEach((id) => this.rulesAsked.add(id));
      }
      if (options.groupRules !== true) return;
      const groups = [...new Set([...this.interfaces.values()].flatMap((i) => i.groupIds))].filter(
        (id) => GROUP_ID.test(id) && !this.groupsAsked.has(id),
      );
      for (const chunk of chunks(groups)) {
        await this.describeRules('group-id', chunk);
        chunk.forEach((id) => this.groupsAsked.add(id));
      }
    });
    return {
      topology: {
        interfaces: [...this.interfaces.values()],
        subnetAcls: [...this.subnetAcls.values()],
        securityGroupRules: [...this.rules.values()],
      },
      ...(failure === undefined ? {} : { failure }),
    };
  }

  private async describeInterfaces(filter: string, values: string[]): Promise<void> {
    const { DescribeNetworkInterfacesCommand } = loadEc2Module();
    let nextToken: string | undefined;
    do {
      const response = await this.options.client.send(
        new DescribeNetworkInterfacesCommand({
          Filters: [{ Name: filter, Values: values }],
          MaxResults: MAX_RESULTS,
          NextToken: nextToken,
          // A NAT gateway's or an EKS node's interface is an AWS-managed resource, which an
          // account may hide from Describe calls (managed resource visibility): ask for them.
          IncludeManagedResources: true,
        }),
      );
      for (const eni of response.NetworkInterfaces ?? []) {
        if (!eni.NetworkInterfaceId) continue;
        const addresses = [
          ...(eni.PrivateIpAddresses ?? []).flatMap((a) => (a.PrivateIpAddress ? [a.PrivateIpAddress] : [])),
          ...(eni.PrivateIpAddress ? [eni.PrivateIpAddress] : []),
          ...(eni.Ipv6Addresses ?? []).flatMap((a) => (a.Ipv6Address ? [a.Ipv6Address] : [])),
        ];
        this.interfaces.set(eni.NetworkInterfaceId, {
          networkInterfaceId: eni.NetworkInterfaceId,
          ...(eni.OwnerId ? { accountId: eni.OwnerId } : {}),
          ...(eni.VpcId ? { vpcId: eni.VpcId } : {}),
          ...(eni.SubnetId ? { subnetId: eni.SubnetId } : {}),
          ...(eni.Attachment?.InstanceId ? { instanceId: eni.Attachment.InstanceId } : {}),
          groupIds: (eni.Groups ?? []).flatMap((g) => (g.GroupId ? [g.GroupId] : [])),
          addresses: [...new Set(addresses)],
          ...prefixesOf(eni),
          ...(eni.InterfaceType ? { interfaceType: eni.InterfaceType } : {}),
        });
      }
      nextToken = response.NextToken;
    } while (nextToken);
  }

  private async describeAcls(subnets: string[]): Promise<void> {
    const { DescribeNetworkAclsCommand } = loadEc2Module();
    const wanted = new Set(subnets);
    let nextToken: string | undefined;
    do {
      const response = await this.options.client.send(
        new DescribeNetworkAclsCommand({
          Filters: [{ Name: 'association.subnet-id', Values: subnets }],
          MaxResults: MAX_RESULTS,
          NextToken: nextToken,
        }),
      );
      for (const acl of response.NetworkAcls ?? []) {
        for (const association of acl.Associations ?? []) {
          const subnetId = association.SubnetId;
          const networkAclId = association.NetworkAclId ?? acl.NetworkAclId;
          if (!subnetId || !networkAclId || !wanted.has(subnetId)) continue;
          this.subnetAcls.set(subnetId, {
            subnetId,
            networkAclId,
            ...(association.NetworkAclAssociationId
              ? { associationId: association.NetworkAclAssociationId }
              : {}),
          });
        }
      }
      nextToken = response.NextToken;
    } while (nextToken);
  }

  private async describeRules(filter: string, values: string[]): Promise<void> {
    const { DescribeSecurityGroupRulesCommand } = loadEc2Module();
    let nextToken: string | undefined;
    do {
      const response = await this.options.client.send(
        new DescribeSecurityGroupRulesCommand({
          Filters: [{ Name: filter, Values: values }],
          MaxResults: MAX_RESULTS,
          NextToken: nextToken,
        }),
      );
      for (const rule of response.SecurityGroupRules ?? []) {
        if (!rule.SecurityGroupRuleId || !rule.GroupId) continue;
        const prefixListId =
          rule.PrefixListId !== undefined && PREFIX_LIST_ID.test(rule.PrefixListId)
            ? rule.PrefixListId
            : undefined;
        this.rules.set(rule.SecurityGroupRuleId, {
          ruleId: rule.SecurityGroupRuleId,
          groupId: rule.GroupId,
          isEgress: rule.IsEgress === true,
          ...(prefixListId === undefined ? {} : { prefixListId }),
        });
      }
      nextToken = response.NextToken;
    } while (nextToken);
  }
}
