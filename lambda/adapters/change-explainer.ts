/**
 * Change-aware alerts in the Lambda: for the alerts a window decided, looks up the egress-policy
 * changes in each alerted source's account and Region (CloudTrail LookupEvents), the network facts
 * that relate them to the sources (EC2 Describe calls), and lets the core say which change most
 * likely explains each alert (`explainAlerts`, the same function the replay uses).
 *
 * Clients come from the AccountContext port: the function's own credentials in its own account,
 * a member role elsewhere (issue 14), or nothing (the alert then says the cause could not be
 * looked up). Lookups are per account and Region, cached and bounded per run; anything that fails
 * leaves the alert as it was, with the reason: a cause never holds an alert back.
 */
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { EC2Client } from '@aws-sdk/client-ec2';
import {
  causeSearchRange,
  explainAlerts,
  EMPTY_TOPOLOGY,
  mayRelate,
  wantsCause,
  alertSourceRefs,
  type Alert,
  type ChangeLookupOutcome,
  type DetectorConfig,
  type NetworkTopology,
  type PolicyChange,
  type SourceRef,
  type Window,
  isoTime,
} from '../core';
import { CloudTrailChangeLookup } from './cloudtrail-change-lookup';
import { Ec2NetworkFacts } from './ec2-network-facts';
import type { AccountClientConfig, AccountContext, ChangeExplainer } from './ports';

export interface ExplainerLogger {
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface AccountClients {
  cloudTrail: Pick<CloudTrailClient, 'send'>;
  ec2: Pick<EC2Client, 'send'>;
}

export interface AwsChangeExplainerOptions {
  config: DetectorConfig;
  /** The Region of the flow logs (and so of the sources). */
  region: string;
  /** The function's own account: where sources whose records name no account live (one account). */
  ownAccountId: string;
  /**
   * A monitoring account (cross-account observability): a source whose records name no account
   * (`unknown`, an interface an AWS service created) may be in any linked account's VPC, so its
   * lookup is unavailable rather than made in the monitoring account, where "none found" would
   * be claimed without having looked where the change is.
   */
  linkedAccounts?: boolean;
  accounts: AccountContext;
  /** The CloudTrail and EC2 clients for an account's client configuration. */
  clientsFor(accountId: string, clientConfig: AccountClientConfig): AccountClients;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  logger: ExplainerLogger;
  /** LookupEvents calls per account per run. @default DEFAULT_MAX_LOOKUP_CALLS */
  maxLookupCalls?: number;
}

interface AccountLookups {
  lookup: CloudTrailChangeLookup;
  facts: Ec2NetworkFacts;
}

const NO_ACCOUNT_IN_MONITORING_ACCOUNT =
  "the records name no account (an interface an AWS service created), which in a monitoring account may be any linked account's: whose CloudTrail holds its changes is not known";

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/** One run's explainer: its per-account lookups and facts are the run's cache. */
export class AwsChangeExplainer implements ChangeExplainer {
  private readonly perAccount = new Map<string, Promise<AccountLookups | undefined>>();

  constructor(private readonly options: AwsChangeExplainerOptions) {}

  async explain(alerts: readonly Alert[], window: Window, deadline: number): Promise<Alert[]> {
    const config = this.options.config;
    if (config.policyChangeSpikes === 'off' || !alerts.some(wantsCause)) return [...alerts];
    try {
      const range = causeSearchRange(window.start, config);
      const byAccount = new Map<string, SourceRef[]>();
      const noAccountUnknown = this.options.linkedAccounts === true;
      for (const alert of alerts.filter(wantsCause)) {
        for (const source of alertSourceRefs(alert)) {
          if (source.accountId === undefined && noAccountUnknown) continue;
          const account = source.accountId ?? this.options.ownAccountId;
          const list = byAccount.get(account);
          if (list) list.push(source);
          else byAccount.set(account, [source]);
        }
      }
      // First every account's changes, then every account's facts: a change in one account can
      // explain another's host (a prefix list shared through AWS RAM, a shared VPC's network ACL
      // in its owner's account), so what to describe depends on all the changes read.
      const lookedUp = await Promise.all(
        [...byAccount].map(async ([accountId, sources]) => ({
          accountId,
          sources,
          ...(await this.lookUpChanges(accountId, range, deadline)),
        })),
      );
      const changes = lookedUp.flatMap((r) => r.changes);
      const results = await Promise.all(
        lookedUp.map(async (r) => ({ ...r, ...(await this.describeFacts(r, changes)) })),
      );
      const outcomes = new Map(results.map((r) => [r.accountId, r.outcome]));
      const topology: NetworkTopology = {
        interfaces: results.flatMap((r) => r.topology.interfaces),
        subnetAcls: results.flatMap((r) => r.topology.subnetAcls),
        securityGroupRules: results.flatMap((r) => r.topology.securityGroupRules),
      };
      const own = this.options.ownAccountId;
      return explainAlerts(
        alerts,
        {
          changes,
          topology,
          lookupFor: (accountId) =>
            accountId === undefined && noAccountUnknown
              ? { status: 'unavailable', reason: NO_ACCOUNT_IN_MONITORING_ACCOUNT }
              : (outcomes.get(accountId ?? own) ?? { status: 'unavailable', reason: 'not looked up' }),
        },
        config,
      );
    } catch (error) {
      // A bug here must not cost the alert: it goes out as decided.
      this.options.logger.error('change causes not attached: unexpected failure', {
        error: describeError(error),
      });
      return [...alerts];
    }
  }

  /** One account's changes in the range (CloudTrail LookupEvents), and how the lookup went. */
  private async lookUpChanges(
    accountId: string,
    range: { from: number; to: number },
    deadline: number,
  ): Promise<{ changes: PolicyChange[]; outcome: ChangeLookupOutcome; lookups?: AccountLookups }> {
    const lookups = await this.lookupsFor(accountId);
    if (lookups === undefined) {
      return {
        changes: [],
        outcome: {
          status: 'unavailable',
          reason: `no access to account ${accountId} in ${this.options.region} (no member role, or it could not be assumed)`,
        },
      };
    }
    const found = await lookups.lookup.lookUp(range.from, range.to, deadline);
    if (found.outcome.status !== 'complete') {
      this.options.logger.warn('CloudTrail lookup not complete; alerts say so', {
        accountId,
        region: this.options.region,
        status: found.outcome.status,
        reason: found.outcome.reason,
        calls: lookups.lookup.calls,
      });
    }
    return { changes: found.changes, outcome: found.outcome, lookups };
  }

  /**
   * One account's network facts for its sources (EC2 Describe calls), when any account's lookup
   * read a change: nothing read, nothing to relate.
   */
  private async describeFacts(
    account: {
      accountId: string;
      sources: readonly SourceRef[];
      outcome: ChangeLookupOutcome;
      lookups?: AccountLookups;
    },
    changes: readonly PolicyChange[],
  ): Promise<{ topology: NetworkTopology; outcome: ChangeLookupOutcome }> {
    const { accountId, sources, lookups } = account;
    let outcome = account.outcome;
    // An interface's or an instance's group set is its own account's: another account's such
    // change relates to nothing here (groups, ACLs and prefix lists can be shared, so those can).
    const relatable = changes.filter((c) => mayRelate(c, { accountId }));
    if (lookups === undefined || relatable.length === 0) return { topology: EMPTY_TOPOLOGY, outcome };
    const facts = await lookups.facts.factsFor(
      sources,
      relatable.flatMap((c) => c.ruleIds ?? []),
      // A prefix list's edit reaches the sources through the rules of their groups that name it.
      { groupRules: relatable.some((c) => c.target.kind === 'prefix-list') },
    );
    if (facts.failure !== undefined) {
      this.options.logger.warn('EC2 Describe failed; changes relate only as far as known', {
        accountId,
        error: facts.failure,
      });
      outcome = {
        status: outcome.status === 'unavailable' ? 'unavailable' : 'incomplete',
        reason: outcome.reason === undefined ? facts.failure : `${outcome.reason}; ${facts.failure}`,
      };
    }
    return { topology: facts.topology, outcome };
  }

  private lookupsFor(accountId: string): Promise<AccountLookups | undefined> {
    let pending = this.perAccount.get(accountId);
    if (pending === undefined) {
      pending = (async () => {
        let clientConfig: AccountClientConfig | undefined;
        try {
          clientConfig = await this.options.accounts.clientConfigFor(accountId, this.options.region);
        } catch (error) {
          this.options.logger.warn('account context failed; its alerts go out without causes', {
            accountId,
            error: describeError(error),
          });
          return undefined;
        }
        if (clientConfig === undefined) return undefined;
        const clients = this.options.clientsFor(accountId, clientConfig);
        return {
          lookup: new CloudTrailChangeLookup({
            client: clients.cloudTrail,
            now: this.options.now,
            sleep: this.options.sleep,
            ...(this.options.maxLookupCalls === undefined ? {} : { maxCalls: this.options.maxLookupCalls }),
          }),
          facts: new Ec2NetworkFacts({ client: clients.ec2 }),
        };
      })();
      this.perAccount.set(accountId, pending);
    }
    return pending;
  }
}

/**
 * The AccountContext of a single-account deployment: the function's own credentials in its own
 * account, nothing elsewhere (an Organization's member role: MemberRoleAccountContext, account-context.ts).
 */
export class SameAccountContext implements AccountContext {
  constructor(private readonly ownAccountId: string) {}

  clientConfigFor(accountId: string, region: string): Promise<AccountClientConfig | undefined> {
    return Promise.resolve(accountId === this.ownAccountId ? { region } : undefined);
  }
}

/** The account of an ARN (`arn:aws:sns:eu-west-1:123456789012:alerts` -> `123456789012`). */
export function accountOfArn(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account !== undefined && /^\d{12}$/.test(account) ? account : undefined;
}

/**
 * Change causes this deployment cannot look up (Athena flow logs of another Region than the
 * function's): every alert that would have a cause says why, instead of "none found" after a
 * search that could not see the source's changes.
 */
export class UnavailableChangeExplainer implements ChangeExplainer {
  constructor(
    private readonly config: Pick<DetectorConfig, 'windowMinutes' | 'lagMinutes' | 'changeLookbackMinutes'>,
    private readonly reason: string,
  ) {}

  explain(alerts: readonly Alert[], window: Window): Promise<Alert[]> {
    const range = causeSearchRange(window.start, this.config);
    return Promise.resolve(
      alerts.map((alert) =>
        wantsCause(alert)
          ? {
              ...alert,
              causeLookup: {
                status: 'unavailable' as const,
                from: isoTime(range.from),
                to: isoTime(range.to),
                reason: this.reason,
              },
            }
          : alert,
      ),
    );
  }
}
