/**
 * A local AWS STS endpoint for tests: `AssumeRole` in the AWS Query protocol as the real
 * `@aws-sdk/client-sts` sends it (a form-encoded POST, `Action=AssumeRole&Version=2011-06-15`),
 * answered in STS's XML (`<AssumeRoleResponse><AssumeRoleResult>`, errors as
 * `<ErrorResponse><Error><Type><Code>`).
 *
 * It knows who calls from the SigV4 `Authorization` header's access key (and the session token of
 * the keys it issued), and decides as IAM does for AssumeRole: the role's trust policy must allow
 * the caller (principal, `sts:AssumeRole`, conditions such as `sts:ExternalId` and
 * `aws:PrincipalArn`), no statement may deny it, and, for a caller with an identity policy, that
 * policy must allow `sts:AssumeRole` on the role (conditions such as `aws:ResourceOrgID`) when the
 * role is in another account or trusts the caller's account rather than the caller itself. A role
 * that does not exist is the same AccessDenied as a refusal (STS tells them apart to no one). The
 * documented parameter rules are enforced: RoleSessionName 2-64 of `[\w+=,.@-]`, ExternalId
 * 2-1224 of `[\w+=,.@:/-]`, DurationSeconds 900..the role's MaxSessionDuration and at most an hour
 * for a role session's call (role chaining, which a Lambda function's call always is).
 *
 * The keys it issues are accepted by other local endpoints through `authenticate` (local-ec2.ts
 * serves each caller its own account's resources), and expire on the endpoint's clock.
 *
 * Policies are evaluated for the subset tests use (Allow/Deny, Action, Principal AWS, Resource,
 * the String/Arn/Null condition operators with IfExists); a policy using anything else is refused
 * when the role is added, so a test never passes on a statement the endpoint ignored.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { callerOf, listenOnLoopback, newRequestId, readBody, type RequestCaller } from './local-endpoint';

export const STS_API_VERSION = '2011-06-15';

/** Parameter limits of AssumeRole (STS API reference). */
export const STS_LIMITS = {
  minDurationSeconds: 900,
  maxDurationSeconds: 43_200,
  /** A role session assuming another role (role chaining) gets at most an hour. */
  maxChainedDurationSeconds: 3_600,
  /** A role's MaxSessionDuration unless set. */
  defaultMaxSessionDuration: 3_600,
  defaultDurationSeconds: 3_600,
} as const;

const ROLE_SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]{1,64})$/;
const CALLER_ARN =
  /^arn:(aws[a-z-]*):(iam|sts)::(\d{12}):(user|role|assumed-role)\/(?:[\w+=,.@-]+\/)*?([\w+=,.@-]+)(?:\/([\w+=,.@-]+))?$/;

// ---------------------------------------------------------------------------------------------
// Policies

export interface IamStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  Principal?: '*' | { AWS?: string | string[] };
  Resource?: string | string[];
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export interface IamPolicy {
  Version?: string;
  Statement: IamStatement | IamStatement[];
}

const SUPPORTED_OPERATORS = new Set([
  'stringequals',
  'stringnotequals',
  'stringequalsignorecase',
  'stringlike',
  'stringnotlike',
  'arnequals',
  'arnlike',
  'arnnotequals',
  'arnnotlike',
  'null',
]);
const SUPPORTED_KEYS = new Set([
  'sts:externalid',
  'sts:rolesessionname',
  'aws:principalarn',
  'aws:principalaccount',
  'aws:principalorgid',
  'aws:resourceaccount',
  'aws:resourceorgid',
]);
const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Action', 'Principal', 'Resource', 'Condition']);

const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function statementsOf(policy: IamPolicy): IamStatement[] {
  return asList(policy.Statement);
}

/** Throws for anything in `policy` this endpoint would not evaluate. */
export function assertSupportedPolicy(policy: IamPolicy, kind: 'trust' | 'identity'): void {
  for (const statement of statementsOf(policy)) {
    const unknown = Object.keys(statement).filter((key) => !STATEMENT_KEYS.has(key));
    if (unknown.length > 0) throw new Error(`local STS does not evaluate ${unknown.join(', ')} in a policy`);
    if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny')
      throw new Error(`a statement's Effect must be Allow or Deny, got ${JSON.stringify(statement.Effect)}`);
    if (statement.Action === undefined) throw new Error('a statement without Action');
    if (kind === 'trust' && statement.Principal === undefined)
      throw new Error('a trust policy statement without Principal');
    if (kind === 'identity' && statement.Resource === undefined)
      throw new Error('an identity policy statement without Resource');
    const principal = statement.Principal;
    if (principal !== undefined && principal !== '*') {
      const others = Object.keys(principal).filter((key) => key !== 'AWS');
      if (others.length > 0)
        throw new Error(`local STS evaluates only AWS principals, not ${others.join(', ')}`);
    }
    for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
      const base = operator.toLowerCase().replace(/ifexists$/, '');
      if (!SUPPORTED_OPERATORS.has(base))
        throw new Error(`local STS does not evaluate the condition operator ${operator}`);
      for (const key of Object.keys(entries)) {
        if (!SUPPORTED_KEYS.has(key.toLowerCase()))
          throw new Error(`local STS does not evaluate the condition key ${key}`);
      }
    }
  }
}

/** IAM's wildcards: `*` any run, `?` one character; `caseless` for actions. */
function globMatches(pattern: string, value: string, caseless = false): boolean {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, caseless ? 'is' : 's').test(value);
}

/** ArnLike: each of an ARN's six colon-separated parts is matched on its own. */
function arnMatches(pattern: string, value: string): boolean {
  const split = (arn: string) => {
    const parts = arn.split(':');
    return [...parts.slice(0, 5), parts.slice(5).join(':')];
  };
  const p = split(pattern);
  const v = split(value);
  return p.length === v.length && p.every((part, i) => globMatches(part, v[i]!));
}

/** The facts a request is judged on; condition keys are lower-cased. */
interface PolicyRequest {
  action: string;
  principal?: CallerIdentity;
  resource?: string;
  context: Record<string, string | undefined>;
}

function conditionHolds(operator: string, key: string, wanted: string[], request: PolicyRequest): boolean {
  const lower = operator.toLowerCase();
  const ifExists = lower.endsWith('ifexists');
  const base = lower.replace(/ifexists$/, '');
  const value = request.context[key.toLowerCase()];
  if (base === 'null') return wanted.some((w) => (w === 'true') === (value === undefined));
  if (value === undefined) return ifExists || base.includes('not');
  switch (base) {
    case 'stringequals':
      return wanted.includes(value);
    case 'stringnotequals':
      return !wanted.includes(value);
    case 'stringequalsignorecase':
      return wanted.some((w) => w.toLowerCase() === value.toLowerCase());
    case 'stringlike':
      return wanted.some((w) => globMatches(w, value));
    case 'stringnotlike':
      return !wanted.some((w) => globMatches(w, value));
    case 'arnequals':
    case 'arnlike':
      return wanted.some((w) => arnMatches(w, value));
    case 'arnnotequals':
    case 'arnnotlike':
      return !wanted.some((w) => arnMatches(w, value));
    default:
      throw new Error(`unsupported operator ${operator}`);
  }
}

function principalMatches(principal: IamStatement['Principal'], caller: CallerIdentity | undefined): boolean {
  if (principal === undefined) return true;
  if (caller === undefined) return false;
  if (principal === '*') return true;
  return asList(principal.AWS).some((value) => {
    if (value === '*') return true;
    if (/^\d{12}$/.test(value)) return caller.accountId === value;
    const root = /^arn:aws[a-z-]*:iam::(\d{12}):root$/.exec(value);
    if (root) return caller.accountId === root[1];
    return value === caller.principalArn || value === caller.arn;
  });
}

/** `allow`, `deny` (an explicit Deny) or `implicit` (nothing allows). */
export function evaluatePolicy(policy: IamPolicy, request: PolicyRequest): 'allow' | 'deny' | 'implicit' {
  let allowed = false;
  for (const statement of statementsOf(policy)) {
    if (!asList(statement.Action).some((a) => globMatches(a, request.action, true))) continue;
    if (!principalMatches(statement.Principal, request.principal)) continue;
    if (
      statement.Resource !== undefined &&
      (request.resource === undefined ||
        !asList(statement.Resource).some((r) => arnMatches(r, request.resource!)))
    )
      continue;
    const conditions = Object.entries(statement.Condition ?? {}).every(([operator, entries]) =>
      Object.entries(entries).every(([key, wanted]) =>
        conditionHolds(operator, key, asList(wanted).map(String), request),
      ),
    );
    if (!conditions) continue;
    if (statement.Effect === 'Deny') return 'deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'implicit';
}

// ---------------------------------------------------------------------------------------------
// Callers, roles and sessions

/** Who a set of credentials belongs to. */
export interface CallerIdentity {
  accountId: string;
  /** The caller as GetCallerIdentity names it (a role's session: `arn:aws:sts::A:assumed-role/R/S`). */
  arn: string;
  /** aws:PrincipalArn: the user's ARN, or the role's for a role session. */
  principalArn: string;
  /** A role's session (its AssumeRole calls are role chaining). */
  roleSession: boolean;
}

export interface LocalCaller {
  /**
   * An IAM user or role ARN (`arn:aws:iam::A:user/N`, `arn:aws:iam::A:role/N`: the caller holds
   * a session of that role, as a Lambda function does), or an assumed-role session ARN.
   */
  arn: string;
  /** What the caller's identity policies allow; undefined: not checked (trust policies only). */
  policy?: IamPolicy;
}

export interface LocalRole {
  /** `arn:aws:iam::<account>:role/<name>`. */
  arn: string;
  /** The AssumeRolePolicyDocument (an object, or its JSON text as IAM stores it). */
  trustPolicy: IamPolicy | string;
  /** Seconds, 3600..43200. @default 3600 */
  maxSessionDuration?: number;
}

/** One AssumeRole that succeeded. */
export interface IssuedSession {
  roleArn: string;
  accountId: string;
  sessionName: string;
  externalId: string | undefined;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: number;
  /** Who assumed it. */
  callerArn: string;
}

export interface StsRequest {
  action: string;
  params: Record<string, string>;
  caller: RequestCaller;
  /** The error code answered, or undefined for a success. */
  error?: string;
}

export type AuthenticationResult =
  | { ok: true; identity: CallerIdentity }
  | {
      ok: false;
      code: 'InvalidClientTokenId' | 'ExpiredToken' | 'MissingAuthenticationToken';
      message: string;
    };

export interface LocalStsOptions {
  /** The long-lived credentials the endpoint knows: access key id -> caller. */
  callers: Record<string, LocalCaller>;
  /** Account -> Organization id (aws:PrincipalOrgID, aws:ResourceOrgID). */
  organizations?: Record<string, string>;
  /** The clock of session expiry. @default Date.now */
  now?: () => number;
}

export interface LocalSts {
  endpoint: string;
  addRole(role: LocalRole): void;
  removeRole(arn: string): void;
  /** Who the credentials of a request belong to, as any AWS endpoint would authenticate them. */
  authenticate(caller: RequestCaller): AuthenticationResult;
  /** Every session issued, in order. */
  readonly sessions: readonly IssuedSession[];
  readonly requests: readonly StsRequest[];
  count(action: string): number;
  /** The next `count` calls fail with `code` (HTTP `status`: default 400). */
  injectErrors(code: string, count?: number, status?: number): void;
  resetCounters(): void;
  /** Client configuration signing as `accessKeyId` (one of `callers`). */
  clientConfig(accessKeyId: string): {
    endpoint: string;
    region: 'us-east-1';
    credentials: { accessKeyId: string; secretAccessKey: string };
  };
  stop(): Promise<void>;
}

class StsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

const escapeXml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

const NAMESPACE = `https://sts.amazonaws.com/doc/${STS_API_VERSION}/`;

function identityOfArn(arn: string): CallerIdentity {
  const match = CALLER_ARN.exec(arn);
  if (!match) throw new Error(`not a user, role or assumed-role ARN: ${arn}`);
  const [, partition, , accountId, kind, name] = match as unknown as string[];
  if (kind === 'user') return { accountId: accountId!, arn, principalArn: arn, roleSession: false };
  const roleArn = `arn:${partition}:iam::${accountId}:role/${name}`;
  return {
    accountId: accountId!,
    arn: kind === 'role' ? `arn:${partition}:sts::${accountId}:assumed-role/${name}/session` : arn,
    principalArn: roleArn,
    roleSession: true,
  };
}

const randomKey = (prefix: string, length: number): string =>
  prefix +
  [...randomBytes(length)]
    .map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32])
    .join('')
    .slice(0, length);

export async function startLocalSts(options: LocalStsOptions): Promise<LocalSts> {
  const now = options.now ?? Date.now;
  const organizations = options.organizations ?? {};
  const callers = new Map<string, { caller: LocalCaller; identity: CallerIdentity }>();
  for (const [key, caller] of Object.entries(options.callers)) {
    if (caller.policy !== undefined) assertSupportedPolicy(caller.policy, 'identity');
    callers.set(key, { caller, identity: identityOfArn(caller.arn) });
  }
  const roles = new Map<string, { trust: IamPolicy; maxSessionDuration: number }>();
  const sessions: IssuedSession[] = [];
  let requests: StsRequest[] = [];
  let injected: { code: string; status: number; remaining: number }[] = [];

  const authenticate = (caller: RequestCaller): AuthenticationResult => {
    if (caller.accessKeyId === undefined)
      return {
        ok: false,
        code: 'MissingAuthenticationToken',
        message: 'Request is missing Authentication Token',
      };
    const known = callers.get(caller.accessKeyId);
    if (known) return { ok: true, identity: known.identity };
    const session = sessions.find((s) => s.accessKeyId === caller.accessKeyId);
    if (session === undefined || session.sessionToken !== caller.sessionToken)
      return {
        ok: false,
        code: 'InvalidClientTokenId',
        message: 'The security token included in the request is invalid.',
      };
    if (now() >= session.expiration)
      return {
        ok: false,
        code: 'ExpiredToken',
        message: 'The security token included in the request is expired',
      };
    const name = session.roleArn.slice(session.roleArn.lastIndexOf('/') + 1);
    const partition = session.roleArn.split(':')[1];
    return {
      ok: true,
      identity: {
        accountId: session.accountId,
        arn: `arn:${partition}:sts::${session.accountId}:assumed-role/${name}/${session.sessionName}`,
        principalArn: session.roleArn,
        roleSession: true,
      },
    };
  };

  const assumeRole = (params: Record<string, string>, caller: RequestCaller): string => {
    const who = authenticate(caller);
    if (!who.ok) throw new StsError(who.code, who.message, who.code === 'ExpiredToken' ? 400 : 403);
    const identity = who.identity;
    const roleArn = params.RoleArn;
    const sessionName = params.RoleSessionName;
    const externalId = params.ExternalId;
    if (roleArn === undefined || roleArn === '')
      throw new StsError('MissingParameter', "The request must contain the parameter 'RoleArn'");
    if (sessionName === undefined || sessionName === '')
      throw new StsError('MissingParameter', "The request must contain the parameter 'RoleSessionName'");
    if (roleArn.length < 20 || roleArn.length > 2048)
      throw new StsError(
        'ValidationError',
        "1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must have length between 20 and 2048",
      );
    if (!ROLE_SESSION_NAME.test(sessionName))
      throw new StsError(
        'ValidationError',
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64`,
      );
    if (externalId !== undefined && !EXTERNAL_ID.test(externalId))
      throw new StsError(
        'ValidationError',
        `1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,./@:-]* and have length between 2 and 1224`,
      );
    const durationText = params.DurationSeconds;
    const duration = durationText === undefined ? STS_LIMITS.defaultDurationSeconds : Number(durationText);
    if (
      !Number.isInteger(duration) ||
      duration < STS_LIMITS.minDurationSeconds ||
      duration > STS_LIMITS.maxDurationSeconds
    )
      throw new StsError(
        'ValidationError',
        `1 validation error detected: Value '${durationText}' at 'durationSeconds' failed to satisfy constraint: Member must have value between ${STS_LIMITS.minDurationSeconds} and ${STS_LIMITS.maxDurationSeconds}`,
      );
    const target = ROLE_ARN.exec(roleArn);
    if (!target) throw new StsError('ValidationError', `${roleArn} is invalid`);
    const roleAccount = target[2]!;
    const denied = () =>
      new StsError(
        'AccessDenied',
        `User: ${identity.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
        403,
      );
    const context: Record<string, string | undefined> = {
      'sts:externalid': externalId,
      'sts:rolesessionname': sessionName,
      'aws:principalarn': identity.principalArn,
      'aws:principalaccount': identity.accountId,
      'aws:principalorgid': organizations[identity.accountId],
      'aws:resourceaccount': roleAccount,
      'aws:resourceorgid': organizations[roleAccount],
    };
    const request: PolicyRequest = {
      action: 'sts:AssumeRole',
      principal: identity,
      resource: roleArn,
      context,
    };
    // Identity side: the caller's own policies (when the test gave them).
    const callerPolicy =
      caller.accessKeyId === undefined ? undefined : callers.get(caller.accessKeyId)?.caller.policy;
    const identityDecision = callerPolicy === undefined ? 'allow' : evaluatePolicy(callerPolicy, request);
    if (identityDecision === 'deny') throw denied();
    const role = roles.get(roleArn);
    if (role === undefined) throw denied();
    const trustDecision = evaluatePolicy(role.trust, request);
    if (trustDecision !== 'allow') throw denied();
    // Trusting the caller itself (same account) needs no identity policy; trusting its account,
    // or a role in another account, needs the caller's own policy to allow the call too.
    const trustsCallerItself = evaluatePolicy(
      {
        Statement: statementsOf(role.trust).map((s) => ({
          ...s,
          Principal:
            s.Principal === undefined || s.Principal === '*'
              ? s.Principal
              : {
                  AWS: asList(s.Principal.AWS).filter(
                    (p) => p === identity.principalArn || p === identity.arn,
                  ),
                },
        })),
      },
      request,
    );
    const needsIdentity = roleAccount !== identity.accountId || trustsCallerItself !== 'allow';
    if (needsIdentity && identityDecision !== 'allow') throw denied();
    if (duration > role.maxSessionDuration)
      throw new StsError(
        'ValidationError',
        'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      );
    if (identity.roleSession && duration > STS_LIMITS.maxChainedDurationSeconds)
      throw new StsError(
        'ValidationError',
        'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
      );
    const session: IssuedSession = {
      roleArn,
      accountId: roleAccount,
      sessionName,
      externalId,
      accessKeyId: randomKey('ASIA', 16),
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(96).toString('base64'),
      // STS answers whole seconds.
      expiration: Math.floor(now() / 1000) * 1000 + duration * 1000,
      callerArn: identity.arn,
    };
    sessions.push(session);
    const roleName = target[3]!;
    const partition = target[1]!;
    return (
      `<AssumeRoleResponse xmlns="${NAMESPACE}"><AssumeRoleResult>` +
      `<AssumedRoleUser><Arn>arn:${partition}:sts::${roleAccount}:assumed-role/${escapeXml(roleName)}/${escapeXml(sessionName)}</Arn>` +
      `<AssumedRoleId>AROA${roleAccount}EXAMPLE:${escapeXml(sessionName)}</AssumedRoleId></AssumedRoleUser>` +
      `<Credentials><AccessKeyId>${session.accessKeyId}</AccessKeyId><SecretAccessKey>${escapeXml(session.secretAccessKey)}</SecretAccessKey>` +
      `<SessionToken>${escapeXml(session.sessionToken)}</SessionToken>` +
      `<Expiration>${new Date(session.expiration).toISOString().replace(/\.\d{3}Z$/, 'Z')}</Expiration></Credentials>` +
      `<PackedPolicySize>0</PackedPolicySize>` +
      `</AssumeRoleResult><ResponseMetadata><RequestId>${newRequestId()}</RequestId></ResponseMetadata></AssumeRoleResponse>`
    );
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = (await readBody(req)).toString('utf8');
    const params = Object.fromEntries(new URLSearchParams(body));
    const action = params.Action ?? '';
    const caller = callerOf(req);
    const record: StsRequest = { action, params, caller };
    requests.push(record);
    let status = 200;
    let xml: string;
    try {
      if (
        req.method !== 'POST' ||
        !/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')
      )
        throw new StsError('InvalidRequest', 'STS Query requests are form-encoded POSTs');
      if (action !== 'AssumeRole')
        throw new StsError(
          'InvalidAction',
          `Could not find operation ${action || '(none)'} for version ${STS_API_VERSION}`,
        );
      if (params.Version !== STS_API_VERSION)
        throw new StsError(
          'InvalidAction',
          `Could not find operation ${action} for version ${String(params.Version)}`,
        );
      const fault = injected.find((i) => i.remaining > 0);
      if (fault !== undefined) {
        fault.remaining -= 1;
        throw new StsError(fault.code, `Injected ${fault.code}`, fault.status);
      }
      xml = assumeRole(params, caller);
    } catch (error) {
      if (!(error instanceof StsError)) throw error;
      record.error = error.code;
      status = error.status;
      const type = status >= 500 ? 'Receiver' : 'Sender';
      xml =
        `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code>` +
        `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${newRequestId()}</RequestId></ErrorResponse>`;
    }
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/xml');
    res.setHeader('Content-Length', Buffer.byteLength(xml));
    res.end(xml);
  };

  const server = await listenOnLoopback(handle);
  return {
    endpoint: server.endpoint,
    addRole(role) {
      if (!ROLE_ARN.test(role.arn)) throw new Error(`not a role ARN: ${role.arn}`);
      const trust =
        typeof role.trustPolicy === 'string' ? (JSON.parse(role.trustPolicy) as IamPolicy) : role.trustPolicy;
      assertSupportedPolicy(trust, 'trust');
      const maxSessionDuration = role.maxSessionDuration ?? STS_LIMITS.defaultMaxSessionDuration;
      if (!Number.isInteger(maxSessionDuration) || maxSessionDuration < 3_600 || maxSessionDuration > 43_200)
        throw new RangeError(`MaxSessionDuration must be 3600..43200, got ${maxSessionDuration}`);
      roles.set(role.arn, { trust, maxSessionDuration });
    },
    removeRole(arn) {
      roles.delete(arn);
    },
    authenticate,
    get sessions() {
      return [...sessions];
    },
    get requests() {
      return [...requests];
    },
    count: (action) => requests.filter((r) => r.action === action).length,
    injectErrors(code, count = 1, status = 400) {
      if (!Number.isInteger(count) || count < 1)
        throw new RangeError(`count must be a positive integer, got ${count}`);
      injected.push({ code, status, remaining: count });
    },
    resetCounters() {
      requests = [];
      injected = [];
    },
    clientConfig(accessKeyId) {
      if (!callers.has(accessKeyId)) throw new Error(`not one of the endpoint's callers: ${accessKeyId}`);
      return {
        endpoint: server.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId, secretAccessKey: 'test' },
      };
    },
    stop: () => server.stop(),
  };
}
