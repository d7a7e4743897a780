/**
 * A source is an address within its account (and within its VPC where the flow log format
 * carries `vpc-id`): an Organization's accounts reuse the same address plans, so an address alone
 * would merge two accounts' hosts into one series. Everything keyed per source (counts,
 * baselines, cooldowns, outbox ids, replay state files) uses the opaque string built here, and
 * only this module builds or reads it.
 *
 * `<accountId>|<address>` or `<accountId>|<vpcId>|<address>`: `|` appears in no account id, VPC
 * id or address (IPv6 uses `:`), so the key splits back unambiguously.
 */

export interface SourceIdentity {
  /** The 12-digit account; undefined where the record does not say (no `account-id` field, `unknown`). */
  accountId: string | undefined;
  /** The VPC, where the flow log format carries `vpc-id`. */
  vpcId?: string;
  /** The address as the record writes it (IPv6 as written: no IPv4-mapped rewriting). */
  address: string;
}

/** What a key holds in place of an account the record does not name. */
export const UNKNOWN_ACCOUNT = '-';

/**
 * The key format marker the stores record (Lambda STATE, replay state files). Keys before it
 * were bare addresses; a store without the marker holds those and must not be mixed with these.
 */
export const SOURCE_KEY_FORMAT = 'account|address';

const SEPARATOR = '|';
const ACCOUNT_ID = /^\d{12}$/;
const VPC_ID = /^vpc-[0-9a-f]{1,32}$/;

export class InvalidSourceKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidSourceKeyError';
  }
}

/** A 12-digit AWS account id. */
export function isAccountId(value: string): boolean {
  return ACCOUNT_ID.test(value);
}

/** A VPC id as AWS writes it (`vpc-` and lower-case hex). */
export function isVpcId(value: string): boolean {
  return VPC_ID.test(value);
}

/**
 * A record's `account-id` value as a key's account: the 12-digit id itself, else `-`. AWS writes
 * a 12-digit id or `unknown` (interfaces an AWS service created, e.g. a VPC endpoint's); anything
 * else names no account either. The record still counts: an account never makes a line malformed,
 * so every reader (Logs Insights rows, every replay path) gives one answer.
 */
export function accountOfRecord(value: string | undefined): string {
  return value !== undefined && ACCOUNT_ID.test(value) ? value : UNKNOWN_ACCOUNT;
}

/** A record's `vpc-id` value as a key's VPC: the id itself, else undefined (`-`, anything else). */
export function vpcOfRecord(value: string | undefined): string | undefined {
  return value !== undefined && VPC_ID.test(value) ? value : undefined;
}

/**
 * The key of a source. `accountId` is a 12-digit id, or `-`/undefined when not known; `vpcId`
 * is left out when absent or `-`. Throws InvalidSourceKeyError naming the part that is wrong.
 */
export function sourceKey(identity: {
  accountId?: string | undefined;
  vpcId?: string | undefined;
  address: string;
}): string {
  const { address, vpcId } = identity;
  const accountId = identity.accountId ?? UNKNOWN_ACCOUNT;
  if (accountId !== UNKNOWN_ACCOUNT && !ACCOUNT_ID.test(accountId)) {
    throw new InvalidSourceKeyError(`invalid account id "${accountId}": expected 12 digits or "-"`);
  }
  if (address.length === 0 || address.includes(SEPARATOR) || /\s/.test(address)) {
    throw new InvalidSourceKeyError(`invalid source address "${address}"`);
  }
  if (vpcId === undefined || vpcId === '' || vpcId === UNKNOWN_ACCOUNT) {
    return accountId + SEPARATOR + address;
  }
  if (!VPC_ID.test(vpcId)) throw new InvalidSourceKeyError(`invalid VPC id "${vpcId}": expected vpc-<hex>`);
  return accountId + SEPARATOR + vpcId + SEPARATOR + address;
}

/** The parts of a key; throws InvalidSourceKeyError for anything sourceKey would not build. */
export function parseSourceKey(key: string): SourceIdentity {
  const parts = key.split(SEPARATOR);
  if (parts.length !== 2 && parts.length !== 3) {
    throw new InvalidSourceKeyError(
      `invalid source key "${key}": expected <accountId>|<address> or <accountId>|<vpcId>|<address>`,
    );
  }
  const accountText = parts[0] as string;
  const address = parts[parts.length - 1] as string;
  const vpcId = parts.length === 3 ? (parts[1] as string) : undefined;
  if (accountText !== UNKNOWN_ACCOUNT && !ACCOUNT_ID.test(accountText)) {
    throw new InvalidSourceKeyError(
      `invalid source key "${key}": the account "${accountText}" is not 12 digits or "-"`,
    );
  }
  if (vpcId !== undefined && !VPC_ID.test(vpcId)) {
    throw new InvalidSourceKeyError(`invalid source key "${key}": the VPC "${vpcId}" is not vpc-<hex>`);
  }
  if (address.length === 0 || /\s/.test(address)) {
    throw new InvalidSourceKeyError(`invalid source key "${key}": no address`);
  }
  const accountId = accountText === UNKNOWN_ACCOUNT ? undefined : accountText;
  return vpcId === undefined ? { accountId, address } : { accountId, vpcId, address };
}

/** True for a string parseSourceKey accepts (a bare address, the format before accounts, is not one). */
export function isSourceKey(key: string): boolean {
  try {
    parseSourceKey(key);
    return true;
  } catch {
    return false;
  }
}

/**
 * The parts of a key for showing and publishing: parseSourceKey's, or, for a string that is not a
 * source key (a bare address, the key before accounts, as in an old outbox item), that string as
 * the address of an unknown account.
 */
export function identityOfKey(key: string): SourceIdentity {
  try {
    return parseSourceKey(key);
  } catch {
    return { accountId: undefined, address: key };
  }
}

/** The address of a key, without building the whole identity (hot paths). */
export function addressOfKey(key: string): string {
  return key.slice(key.lastIndexOf(SEPARATOR) + 1);
}

/**
 * The account of a key (undefined where unknown), without building the whole identity. A bare
 * address (a key from before accounts) has none, as identityOfKey reads it.
 */
export function accountOfKey(key: string): string | undefined {
  const end = key.indexOf(SEPARATOR);
  if (end <= 0) return undefined;
  const account = key.slice(0, end);
  return account === UNKNOWN_ACCOUNT ? undefined : account;
}

/**
 * For people (logs, reports), as alerts write it: `10.0.0.10 in 111111111111`, `10.0.0.10 in
 * payments-prod (111111111111)`, `10.0.0.10 in 111111111111 vpc-0a1b`, `10.0.0.10`.
 */
export function sourceLabel(key: string, accountName?: string): string {
  const { accountId, vpcId, address } = parseSourceKey(key);
  if (accountId === undefined) return vpcId === undefined ? address : `${address} in ${vpcId}`;
  const account = accountName === undefined ? accountId : `${accountName} (${accountId})`;
  return `${address} in ${account}${vpcId === undefined ? '' : ` ${vpcId}`}`;
}
