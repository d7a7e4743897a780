/**
 * Where the detector gets the clients to look at an account (EC2 enrichment, CloudTrail lookups):
 * the AccountContext port (ports.ts).
 *
 * - SameAccountContext (change-explainer.ts): a single-account deployment. The function's own
 *   credentials in its own account, nothing elsewhere.
 * - MemberRoleAccountContext: an Organization (issue 14). In another account, the read-only
 *   member role (lib/member-role-stack.ts) assumed with the external id, once per account per run
 *   (the context object lives for one run, so are its credentials). An account where the role
 *   cannot be assumed (not deployed there, AccessDenied, STS failing) gives undefined, logged once
 *   per run: its alerts go out without that context, and the run goes on.
 */
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { STSClient } from '@aws-sdk/client-sts';
import type { AccountClientConfig, AccountContext } from './ports';

/**
 * The STS client module, loaded on first use: only a detector with a member role and something
 * to look up in another account needs it (as the EC2 module, ec2-enricher.ts).
 */
export function loadStsModule(): typeof import('@aws-sdk/client-sts') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@aws-sdk/client-sts') as typeof import('@aws-sdk/client-sts');
}

/**
 * Lifetime of the member role's credentials: STS's minimum. Longer than any run (Lambda stops a
 * function after 900 s, and the credentials are asked for after the run started), and a leaked
 * set is good for no longer than that.
 */
export const MEMBER_ROLE_SESSION_SECONDS = 900;

/**
 * How long one AssumeRole may take, retries included: an STS that does not answer costs the run
 * this much once per account, then the account's alerts go out without its context.
 */
export const ASSUME_ROLE_TIMEOUT_MS = 10_000;

const ACCOUNT_ID = /^\d{12}$/;

export interface AccountContextLogger {
  warn(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface MemberRoleAccountContextOptions {
  /** The STS client, made on first use. */
  sts: () => Pick<STSClient, 'send'>;
  /** The function's own account (its own credentials, no role); undefined: not known. */
  ownAccountId: string | undefined;
  /** The member role's name, the same in every account. */
  roleName: string;
  /** The external id the member role's trust policy requires (a confused-deputy guard, not a secret). */
  externalId: string;
  /** `aws`, `aws-cn`, `aws-us-gov`: the partition of the role ARNs. */
  partition: string;
  /** RoleSessionName: the member accounts' CloudTrail shows it (the run's id makes it traceable). */
  sessionName: string;
  logger: AccountContextLogger;
  /** @default ASSUME_ROLE_TIMEOUT_MS */
  timeoutMs?: number;
}

/** RoleSessionName: 2-64 of letters, digits and `+=,.@_-`. */
export function roleSessionName(runId: string): string {
  return `egress-spike-${runId}`.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
}

export class MemberRoleAccountContext implements AccountContext {
  /** Per account: the credentials of this run, or undefined once they could not be had. */
  private readonly credentials = new Map<string, Promise<AwsCredentialIdentity | undefined>>();
  private readonly unavailable = new Set<string>();

  constructor(private readonly options: MemberRoleAccountContextOptions) {}

  async clientConfigFor(accountId: string, region: string): Promise<AccountClientConfig | undefined> {
    if (accountId === this.options.ownAccountId) return { region };
    if (!ACCOUNT_ID.test(accountId)) return undefined;
    let pending = this.credentials.get(accountId);
    if (pending === undefined) {
      pending = this.assume(accountId);
      this.credentials.set(accountId, pending);
    }
    const credentials = await pending;
    return credentials === undefined ? undefined : { credentials, region };
  }

  /** Accounts whose context could not be had in this run (their alerts went out without it). */
  accountsWithoutContext(): string[] {
    return [...this.unavailable].sort();
  }

  private async assume(accountId: string): Promise<AwsCredentialIdentity | undefined> {
    const { roleName, externalId, partition, sessionName } = this.options;
    const roleArn = `arn:${partition}:iam::${accountId}:role/${roleName}`;
    try {
      const { AssumeRoleCommand } = loadStsModule();
      const { Credentials: c } = await this.options.sts().send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: sessionName,
          ExternalId: externalId,
          DurationSeconds: MEMBER_ROLE_SESSION_SECONDS,
        }),
        { abortSignal: AbortSignal.timeout(this.options.timeoutMs ?? ASSUME_ROLE_TIMEOUT_MS) },
      );
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) {
        throw new Error('AssumeRole answered without credentials');
      }
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        ...(c.Expiration === undefined ? {} : { expiration: c.Expiration }),
      };
    } catch (error) {
      this.unavailable.add(accountId);
      // AccessDenied is what an account without the role (or with another external id) answers.
      this.options.logger.warn(
        "no context from this account: the member role could not be assumed; its alerts go out without that account's context",
        {
          accountId,
          roleArn,
          error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
        },
      );
      return undefined;
    }
  }
}
