/**
 * Which flow log groups a run queries: the configured ones, plus those found by name prefix with
 * DescribeLogGroups, in this account and (in a monitoring account of CloudWatch cross-account
 * observability) every linked source account (`includeLinkedAccounts`). Discovery runs once per
 * run, so a new account's flow logs are queried from the first run after its link and its log
 * group exist, without a redeploy.
 *
 * Why DescribeLogGroups and not the Logs Insights `SOURCE logGroups(namePrefix: [...])` command:
 * SOURCE takes at most 5 prefixes and 20 account ids, fails over 10,000 log groups, reads only the
 * Standard log class unless told otherwise, and AWS recommends it only for queries that use field
 * indexes; and it hides which log groups a query read. Discovery names every group, so the
 * detector logs and counts them, queries them 50 at a time (StartQuery's limit) and splits each
 * part on its own when its result reaches the row limit.
 */
import { DescribeLogGroupsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';

/** StartQuery's limit on log groups per query. */
export const MAX_LOG_GROUPS_PER_QUERY = 50;
/** DescribeLogGroups' largest page. */
const DESCRIBE_PAGE_SIZE = 50;

export interface LogGroupResolver {
  /** Every log group to query (names or ARNs without `:*`), each once. */
  logGroups(): Promise<string[]>;
}

export class LogGroupDiscoveryError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'LogGroupDiscoveryError';
  }
}

export interface LogGroupDiscoveryOptions {
  client: Pick<CloudWatchLogsClient, 'send'>;
  /** Configured log groups (names or ARNs), queried whatever discovery finds. */
  logGroupIdentifiers?: readonly string[];
  /** Name prefixes to discover log groups by (each a DescribeLogGroups `logGroupNamePrefix`). */
  prefixes?: readonly string[];
  /** Also list the linked source accounts' groups (a monitoring account). @default false */
  includeLinkedAccounts?: boolean;
  /**
   * The function's own partition, account and Region: a configured name is this account's group
   * in this Region, so its ARN is known and the group is queried once however it is named.
   * Absent: names and ARNs are compared as written.
   */
  own?: OwnLogGroupScope;
  /** Told what was found, once per resolution. */
  logger?: { info(message: string, ...extra: Record<string, unknown>[]): void };
}

/**
 * The configured groups plus the discovered ones, resolved once (the first call) and then the
 * same for the rest of the run. Throws LogGroupDiscoveryError when DescribeLogGroups fails or
 * nothing at all is left to query.
 */
export class LogGroupDiscovery implements LogGroupResolver {
  private resolved: Promise<string[]> | undefined;
  /** What the last resolution found, for the run's log line. */
  found: { configured: number; discovered: number; accounts: number } | undefined;

  constructor(private readonly options: LogGroupDiscoveryOptions) {}

  logGroups(): Promise<string[]> {
    this.resolved ??= this.resolve();
    return this.resolved;
  }

  private async resolve(): Promise<string[]> {
    const own = this.options.own;
    // Configured names and discovered ARNs are compared by ARN: the same group named both ways
    // would otherwise be queried twice and its records counted twice.
    const configured = uniqueLogGroups(this.options.logGroupIdentifiers ?? [], own);
    const seen = new Set(configured.map((group) => logGroupKey(group, own)));
    const discovered: string[] = [];
    for (const prefix of this.options.prefixes ?? []) {
      for (const arn of await this.describe(prefix)) {
        const key = logGroupKey(arn, own);
        if (seen.has(key)) continue;
        seen.add(key);
        discovered.push(arn);
      }
    }
    // ARN order keeps one account's groups together (and in the same query part).
    discovered.sort();
    const all = [...configured, ...discovered];
    this.found = {
      configured: configured.length,
      discovered: discovered.length,
      accounts: new Set(discovered.map((arn) => arn.split(':')[4])).size,
    };
    this.options.logger?.info('flow log groups to query', {
      ...this.found,
      prefixes: this.options.prefixes ?? [],
      includeLinkedAccounts: this.options.includeLinkedAccounts === true,
      queryParts: Math.ceil(all.length / MAX_LOG_GROUPS_PER_QUERY),
    });
    if (all.length === 0) {
      throw new LogGroupDiscoveryError(
        `no flow log group to query: none is configured and none ${this.options.includeLinkedAccounts ? 'in this account or a linked source account ' : 'in this account '}starts with ${(this.options.prefixes ?? []).map((p) => JSON.stringify(p)).join(' or ')}`,
      );
    }
    return all;
  }

  /** The ARNs (without `:*`) of the queryable groups whose names start with `prefix`. */
  private async describe(prefix: string): Promise<string[]> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      let page;
      try {
        page = await this.options.client.send(
          new DescribeLogGroupsCommand({
            logGroupNamePrefix: prefix,
            includeLinkedAccounts: this.options.includeLinkedAccounts === true ? true : undefined,
            limit: DESCRIBE_PAGE_SIZE,
            nextToken,
          }),
        );
      } catch (error) {
        throw new LogGroupDiscoveryError(
          `DescribeLogGroups for prefix ${JSON.stringify(prefix)} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
          { cause: error },
        );
      }
      for (const group of page.logGroups ?? []) {
        // The Delivery class keeps logs for a day and cannot be queried by Logs Insights.
        if (group.logGroupClass === 'DELIVERY') continue;
        const arn = group.logGroupArn ?? group.arn?.replace(/:\*$/, '');
        if (arn !== undefined && arn !== '') arns.push(arn);
      }
      nextToken = page.nextToken === '' ? undefined : page.nextToken;
    } while (nextToken !== undefined);
    return arns;
  }
}

/** A fixed list (tests, or no prefixes configured); `own` as in LogGroupDiscoveryOptions. */
export function fixedLogGroups(identifiers: readonly string[], own?: OwnLogGroupScope): LogGroupResolver {
  const list = uniqueLogGroups(identifiers, own);
  return { logGroups: () => Promise.resolve(list) };
}

/** Where the function runs: what makes a log group name into its ARN. */
export interface OwnLogGroupScope {
  partition: string;
  accountId: string;
  region: string;
}

/**
 * One spelling per log group: the first of its name and its ARN (with or without `:*`), as
 * written, so names stay names in StartQuery and in the alert's console link.
 */
function uniqueLogGroups(identifiers: readonly string[], own: OwnLogGroupScope | undefined): string[] {
  const seen = new Set<string>();
  const unique: string[] = [];
  for (const identifier of identifiers) {
    const key = logGroupKey(identifier, own);
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(identifier);
  }
  return unique;
}

/**
 * The log group's ARN without `:*`: a name is the own account's group in the own Region (the
 * StartQuery meaning of a name). Without `own`, a name stays itself.
 */
export function logGroupKey(identifier: string, own: OwnLogGroupScope | undefined): string {
  if (identifier.startsWith('arn:')) return identifier.replace(/:\*$/, '');
  if (own === undefined) return identifier;
  return `arn:${own.partition}:logs:${own.region}:${own.accountId}:log-group:${identifier}`;
}

/**
 * The groups cut into as few StartQuery parts as the 50-group limit allows, of nearly equal
 * size (fewer rows per part, so a part reaches the row limit later), in order.
 */
export function logGroupParts(groups: readonly string[]): string[][] {
  if (groups.length === 0) return [];
  const parts = Math.ceil(groups.length / MAX_LOG_GROUPS_PER_QUERY);
  const size = Math.ceil(groups.length / parts);
  const result: string[][] = [];
  for (let i = 0; i < groups.length; i += size) result.push(groups.slice(i, i + size));
  return result;
}
