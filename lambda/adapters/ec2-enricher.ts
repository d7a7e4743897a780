/**
 * Optional enrichment (ENRICH_WITH_EC2=true): which instance, VPC and subnet an alerted source's
 * network interfaces belong to, and the instance's Name tag. One DescribeNetworkInterfaces call
 * per run for the interfaces not seen yet, then one DescribeInstances call for the attached
 * instances not seen yet (both cached for the run): the Name people give is the instance's, the
 * interface's own Name tag is only the fallback. A failure is logged and the alert goes out with
 * what is known (or without enrichment): enrichment never blocks an alert.
 *
 * In an Organization, a source's interfaces are in its own account: they are looked up there,
 * with that account's client (the member role, account-context.ts), several accounts at once
 * (each may wait up to 10 s for STS), and none started at or after the deadline the run gives:
 * enrichment runs before the window's commit and must not eat its time. An account whose client
 * cannot be had, or not in time, is left unenriched, and the others are enriched as usual.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { AlertDetails } from '../core';

/**
 * The EC2 client module, loaded on first use: it takes about a third of a second to load, more
 * than the rest of the handler together, and most deployments leave enrichment off. (A synchronous
 * require: the bundle is CommonJS, and a dynamic import() would not run under Jest.)
 */
export function loadEc2Module(): typeof import('@aws-sdk/client-ec2') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-ec2') as typeof import('@aws-sdk/client-ec2');
}

export interface EnricherLogger {
  warn(message: string, ...extra: Record<string, unknown>[]): void;
}

/** EC2 refuses more than 200 filter values in one call (FilterLimitExceeded). */
const IDS_PER_CALL = 200;
/**
 * Every describe call is paginated: AWS refuses (or throttles, or times out) an unpaginated
 * DescribeNetworkInterfaces in an account with many interfaces unless a vpc-id, subnet-id, ...
 * filter narrows it, and an interface-id filter is not one of those.
 */
const PAGE_SIZE = 1000;
const ENI_ID = /^eni-[0-9a-f]{8,17}$/;
/** Accounts looked up at once. */
const ACCOUNTS_AT_ONCE = 8;

/** An EC2 client, or as much of one as the enricher uses. */
export type Ec2Sender = Pick<EC2Client, 'send'>;

export interface Ec2EnricherOptions {
  /** The function's own account's client: for its own sources and those of no known account. */
  client: Ec2Sender;
  logger: EnricherLogger;
  /** The account of a source (a details key); undefined where not known. @default never known */
  accountOf?: (source: string) => string | undefined;
  /** The function's own account: its sources use `client`. */
  ownAccountId?: string;
  /**
   * The client of another account, or undefined when that account's context cannot be had (its
   * sources are left unenriched). @default none: other accounts' sources are left unenriched
   */
  clientForAccount?: (accountId: string) => Promise<Ec2Sender | undefined>;
  /** The run's clock (epoch ms), which the deadline is on. @default Date.now */
  now?: () => number;
}

export class Ec2Enricher {
  private readonly cache = new Map<string, Record<string, string>>();
  /** The interface's own Name tag or description: shown only when its instance has no Name. */
  private readonly interfaceLabels = new Map<string, { name?: string; description?: string }>();
  /** Instance id -> its Name tag (undefined: looked up, no Name). */
  private readonly instanceNames = new Map<string, string | undefined>();

  constructor(private readonly options: Ec2EnricherOptions) {}

  /**
   * Returns the details with `resources` filled in for the interfaces EC2 knows; no account's
   * lookups start at or after `deadline` (epoch ms). Never throws.
   */
  async enrich(
    details: ReadonlyMap<string, AlertDetails>,
    deadline = Number.POSITIVE_INFINITY,
  ): Promise<Map<string, AlertDetails>> {
    // The sources by account: each account's interfaces are asked of that account's EC2.
    const byAccount = new Map<string | undefined, AlertDetails[]>();
    for (const [source, d] of details) {
      const account = this.options.accountOf?.(source);
      const key = account === this.options.ownAccountId ? undefined : account;
      byAccount.set(key, [...(byAccount.get(key) ?? []), d]);
    }
    const now = this.options.now ?? Date.now;
    const accounts = [...byAccount];
    const late: (string | undefined)[] = [];
    let next = 0;
    const lookUpAccounts = async (): Promise<void> => {
      for (let i = next++; i < accounts.length; i = next++) {
        const [account, accountDetails] = accounts[i]!;
        if (now() >= deadline) {
          late.push(account);
          continue;
        }
        const client = await this.clientFor(account);
        if (client === undefined) continue;
        if (now() >= deadline) late.push(account);
        else await this.enrichAccount(client, accountDetails, account);
      }
    };
    await Promise.all(Array.from({ length: Math.min(ACCOUNTS_AT_ONCE, accounts.length) }, lookUpAccounts));
    if (late.length > 0) {
      this.options.logger.warn('EC2 enrichment out of time; those alerts go out without it', {
        accounts: late.map((account) => account ?? this.options.ownAccountId ?? 'own'),
      });
    }
    const enriched = new Map<string, AlertDetails>();
    for (const [srcIp, d] of details) {
      const resources = Object.fromEntries(
        d.interfaceIds.flatMap((id) => {
          const resource = this.resourceOf(id);
          return resource && Object.keys(resource).length > 0 ? [[id, resource] as const] : [];
        }),
      );
      enriched.set(
        srcIp,
        Object.keys(resources).length === 0 ? d : { ...d, resources: { ...d.resources, ...resources } },
      );
    }
    return enriched;
  }

  /** The client for an account's sources (undefined: the own account), or undefined if none. */
  private async clientFor(account: string | undefined): Promise<Ec2Sender | undefined> {
    if (account === undefined) return this.options.client;
    if (this.options.clientForAccount === undefined) return undefined;
    try {
      return await this.options.clientForAccount(account);
    } catch (error) {
      this.options.logger.warn('EC2 enrichment: no client for the account; its alerts go out without it', {
        accountId: account,
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
      return undefined;
    }
  }

  /** Looks up one account's interfaces and their instances not seen yet in this run. */
  private async enrichAccount(
    client: Ec2Sender,
    details: readonly AlertDetails[],
    account: string | undefined,
  ): Promise<void> {
    const wanted = [...new Set(details.flatMap((d) => d.interfaceIds))].filter(
      (id) => ENI_ID.test(id) && !this.cache.has(id),
    );
    try {
      for (let i = 0; i < wanted.length; i += IDS_PER_CALL)
        await this.lookUp(client, wanted.slice(i, i + IDS_PER_CALL));
    } catch (error) {
      this.options.logger.warn('EC2 enrichment failed; alerts go out without it', {
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        interfaces: wanted.length,
        ...(account === undefined ? {} : { accountId: account }),
      });
    }
    const instances = [
      ...new Set(
        details.flatMap((d) => d.interfaceIds.flatMap((id) => this.cache.get(id)?.instanceId ?? [])),
      ),
    ].filter((id) => !this.instanceNames.has(id));
    try {
      for (let i = 0; i < instances.length; i += IDS_PER_CALL)
        await this.lookUpInstances(client, instances.slice(i, i + IDS_PER_CALL));
    } catch (error) {
      this.options.logger.warn('EC2 instance lookup failed; alerts go out with the interface names', {
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        instances: instances.length,
        ...(account === undefined ? {} : { accountId: account }),
      });
    }
  }

  private resourceOf(eniId: string): Record<string, string> | undefined {
    const resource = this.cache.get(eniId);
    if (resource === undefined) return undefined;
    const label = this.interfaceLabels.get(eniId);
    const instanceName =
      resource.instanceId === undefined ? undefined : this.instanceNames.get(resource.instanceId);
    const name = instanceName ?? label?.name;
    if (name) return { ...resource, name };
    return label?.description ? { ...resource, description: label.description } : resource;
  }

  private async lookUpInstances(client: Ec2Sender, ids: string[]): Promise<void> {
    let nextToken: string | undefined;
    do {
      // A filter, not InstanceIds: an instance terminated since would fail the whole call.
      const { DescribeInstancesCommand } = loadEc2Module();
      const response = await client.send(
        new DescribeInstancesCommand({
          Filters: [{ Name: 'instance-id', Values: ids }],
          MaxResults: PAGE_SIZE,
          NextToken: nextToken,
          IncludeManagedResources: true,
        }),
      );
      for (const instance of (response.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        if (!instance.InstanceId) continue;
        this.instanceNames.set(instance.InstanceId, instance.Tags?.find((t) => t.Key === 'Name')?.Value);
      }
      nextToken = response.NextToken;
    } while (nextToken);
    for (const id of ids) if (!this.instanceNames.has(id)) this.instanceNames.set(id, undefined);
  }

  private async lookUp(client: Ec2Sender, ids: string[]): Promise<void> {
    const { DescribeNetworkInterfacesCommand } = loadEc2Module();
    let nextToken: string | undefined;
    do {
      const response = await client.send(
        new DescribeNetworkInterfacesCommand({
          Filters: [{ Name: 'network-interface-id', Values: ids }],
          MaxResults: PAGE_SIZE,
          NextToken: nextToken,
          // Managed resources (EKS Auto Mode's instances, NAT gateways) may be hidden from
          // Describe calls by the account's managed resource visibility: ask for them.
          IncludeManagedResources: true,
        }),
      );
      for (const eni of response.NetworkInterfaces ?? []) {
        if (!eni.NetworkInterfaceId) continue;
        const name = eni.TagSet?.find((t) => t.Key === 'Name')?.Value;
        const resource: Record<string, string> = {};
        if (eni.Attachment?.InstanceId) resource.instanceId = eni.Attachment.InstanceId;
        if (eni.VpcId) resource.vpcId = eni.VpcId;
        if (eni.SubnetId) resource.subnetId = eni.SubnetId;
        if (eni.InterfaceType) resource.interfaceType = eni.InterfaceType;
        this.interfaceLabels.set(eni.NetworkInterfaceId, {
          ...(name ? { name } : {}),
          ...(eni.Description ? { description: eni.Description } : {}),
        });
        this.cache.set(eni.NetworkInterfaceId, resource);
      }
      nextToken = response.NextToken;
    } while (nextToken);
    // Interfaces EC2 does not know (deleted since): remember that too, so they are not asked for again.
    for (const id of ids) if (!this.cache.has(id)) this.cache.set(id, {});
  }
}
