/**
 * Many sources' baselines in one DynamoDB item (a bucket), so that a window of 100,000 sources
 * costs about 50 batch requests instead of about 5,000: the AWS SDK spends some 2-3 ms of CPU
 * per request whatever its size (bench/cpu-time.ts), and on-demand writes are billed per item
 * (1 KB rounded up), so 100,000 items of 150 bytes cost 100,000 WCU and ~1,000 items of ~20 KB
 * about 20,000.
 *
 * A source's bucket is FNV-1a (32-bit) of its address text, modulo the bucket count. The item:
 * `pk` = `BASELINES#<bucket>`, `sk` = `BUCKET`, `records` (S) = JSON of `{ [srcIp]: entry }`,
 * `sources` (N), `expiresAt` (N, the latest of its entries'). An entry is an array, for the
 * size and the (de)serialisation cost of 100,000 of them:
 *
 *   [mean, variance, dataPoints, lastWindow, clockAtLastFold, expiresAt,
 *    lastAlertWindow | null, lastAlertCount | null, prev | null,
 *    profile | null, [withinHour (6 characters), withinCount] | null, jobs | null, tailScore | null,
 *    slotSpread | null, lastElevatedWindow | null]
 *
 * with `prev` (the baseline it was folded from, for retries) as
 * `[mean, variance, dataPoints, lastWindow, clockAtLastFold, lastAlertWindow | null, lastAlertCount | null,
 *   profile | [slot, code, ...] | null, [withinHour, withinCount] | null, jobs | 0 (the entry's) | null,
 *   tailScore | null, slotSpread | [slot, code, ...] | null, lastElevatedWindow | null]`,
 * trailing nulls left out. The rhythm profile is 144 characters (rhythm.ts); a fold changes one
 * slot of it (a lazy zero-fill a few more), so `prev` keeps only those slots
 * (`[slot, code, ...]`, applied to the entry's profile) and the retry state costs a few bytes,
 * not a second profile. Jobs are `[phase, period (0 unknown, 1 daily, 2 weekly, 3 monthly), size, occurrences, last]`,
 * with `spread, spreadRuns` (the spread of its runs, rhythm.ts RecurringJob) after them once the
 * job has one; jobs written before it read as having none.
 * `tailScore` (the source's own tail, spike-test.ts) came last, so entries written before it
 * read as having none. `slotSpread` (each slot's own spread, encoded as the profile is) came
 * after it for the same reason; a fold changes one slot of it too, so `prev` keeps it as a patch
 * of the entry's slot spread as it does the profile. `lastElevatedWindow` (a cooldown carried on
 * by a window that stayed up, detect.ts) came after both, for the same reason.
 * Numbers go through JSON, which prints the shortest text that reads back to the same double:
 * values round-trip exactly, as they did in `N` attributes.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  decodeValue,
  encodeValue,
  isProfileText,
  PROFILE_SLOTS,
  SPREAD_MEMORY,
  type Baseline,
  type JobPeriod,
  type RecurringJob,
  type WithinHour,
} from '../core';
import { MAX_TAIL_SCORE } from '../core/spike-test';
import { baselineExpiresAt, expiredBefore } from '../baseline-expiry';

/**
 * Default bucket count: room for about 1.4 million sources with rhythm state and a tail score (3.5 million
 * without), about 1.05 million once they keep a slot spread as well (some 575 bytes an entry), see
 * BASELINE_BUCKET_MAX_BYTES and docs/design.md.
 */
export const BASELINE_BUCKETS = 2048;
/** The most buckets a deployment may ask for (baselineBuckets): some 30 million sources. */
export const MAX_BASELINE_BUCKETS = 65_536;
/**
 * A bucket item may not grow past this (DynamoDB's item limit is 400 KB, attribute names
 * included; the rest is headroom). An entry takes 150-210 bytes (IPv4 to long IPv6 keys, with
 * `prev`), so a bucket holds some 1,700-1,900 sources, and 1,024 buckets, with the spread of
 * the hash (the fullest about 5% over the mean), about 1.5 million sources.
 */
export const BASELINE_BUCKET_MAX_BYTES = 350_000;
export const BUCKET_PK_PREFIX = 'BASELINES#';
export const BUCKET_SK = 'BUCKET';

type Item = Record<string, AttributeValue>;
/** One source's entry as stored (see the file comment); kept opaque when passed through unchanged. */
export type BucketEntry = unknown[];
export type BucketRecords = Record<string, BucketEntry>;

/** What one entry holds, decoded. */
export interface StoredBaseline {
  baseline: Baseline;
  prev: Baseline | undefined;
  /** Epoch seconds. */
  expiresAt: number;
}

export class BaselineBucketTooLargeError extends Error {
  constructor(
    readonly bucket: number,
    readonly bytes: number,
    readonly sources: number,
    readonly buckets: number,
  ) {
    super(
      `baseline bucket ${bucket} would be ${bytes.toLocaleString('en-US')} bytes with ${sources.toLocaleString('en-US')} sources, ` +
        `over the ${BASELINE_BUCKET_MAX_BYTES.toLocaleString('en-US')}-byte limit (DynamoDB items take at most 400 KB): ` +
        `the estate needs more than ${buckets} buckets: raise the deployment setting baselineBuckets ` +
        '(cdk.json; each source then moves to another bucket, so the baselines are relearned with a ' +
        'bootstrap with overwrite). Nothing of the window was written.',
    );
    this.name = 'BaselineBucketTooLargeError';
  }
}

export class CorruptItemError extends Error {
  constructor(
    readonly key: string,
    readonly problem: string,
  ) {
    super(`item ${key}: ${problem}`);
    this.name = 'CorruptItemError';
  }
}

/** FNV-1a, 32-bit, of the UTF-16 code units (addresses are ASCII), modulo `buckets`. */
export function bucketOf(srcIp: string, buckets: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < srcIp.length; i += 1) {
    hash ^= srcIp.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % buckets;
}

export const bucketKey = (bucket: number): Item => ({
  pk: { S: `${BUCKET_PK_PREFIX}${bucket}` },
  sk: { S: BUCKET_SK },
});

/** The bucket number of a bucket item, or undefined for any other item. */
export function bucketOfItem(item: Item): number | undefined {
  const pk = item.pk?.S;
  if (pk === undefined || !pk.startsWith(BUCKET_PK_PREFIX) || item.sk?.S !== BUCKET_SK) return undefined;
  const bucket = Number(pk.slice(BUCKET_PK_PREFIX.length));
  return Number.isInteger(bucket) && bucket >= 0 ? bucket : undefined;
}

/** Groups sources by bucket. */
export function groupByBucket(srcIps: Iterable<string>, buckets: number): Map<number, string[]> {
  const grouped = new Map<number, string[]>();
  for (const srcIp of srcIps) {
    const bucket = bucketOf(srcIp, buckets);
    const group = grouped.get(bucket);
    if (group === undefined) grouped.set(bucket, [srcIp]);
    else group.push(srcIp);
  }
  return grouped;
}

export function parseRecords(json: string | undefined, bucket: number): BucketRecords {
  if (json === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new CorruptItemError(`${BUCKET_PK_PREFIX}${bucket}`, 'records is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CorruptItemError(`${BUCKET_PK_PREFIX}${bucket}`, 'records is not an object');
  return value as BucketRecords;
}

/** The entry's expiry (epoch seconds), read without decoding the rest. */
export function entryExpiresAt(entry: BucketEntry, key: string): number {
  const expiresAt = Array.isArray(entry) ? entry[5] : undefined;
  if (typeof expiresAt !== 'number') throw new CorruptItemError(key, 'expiresAt is not a number');
  return expiresAt;
}

export function encodeEntry(baseline: Baseline, prev: Baseline | undefined, expiresAt: number): BucketEntry {
  const entry: unknown[] = [
    baseline.mean,
    baseline.variance,
    baseline.dataPoints,
    baseline.lastWindow,
    baseline.clockAtLastFold,
    expiresAt,
    baseline.lastAlertWindow ?? null,
    baseline.lastAlertCount ?? null,
    prev === undefined ? null : encodeBaseline(prev, baseline),
    baseline.profile ?? null,
    encodeWithin(baseline.withinHour),
    encodeJobs(baseline.jobs),
    baseline.tailScore ?? null,
    baseline.slotSpread ?? null,
    baseline.lastElevatedWindow ?? null,
  ];
  return trimNulls(entry);
}

export function decodeEntry(entry: BucketEntry, key: string): StoredBaseline {
  if (!Array.isArray(entry)) throw new CorruptItemError(key, 'entry is not an array');
  return {
    baseline: decodeCurrent(entry, key),
    prev: decodePrev(entry, key),
    expiresAt: entryExpiresAt(entry, key),
  };
}

function decodeCurrent(entry: unknown[], key: string): Baseline {
  const baseline = decodeBaseline(entry[0], entry[1], entry[2], entry[3], entry[4], entry[6], entry[7], key);
  const rhythm = withRhythm(baseline, entry[9], entry[10], entry[11], key);
  const spread = withSlotSpread(withTailScore(rhythm, entry[12], key), entry[13], key);
  return withElevatedWindow(spread, entry[14], key);
}

/**
 * What a window starting at `before` is to start from, given an entry: the entry's baseline, or
 * `prev` when the entry was already folded in that window, or in `uncommitted` (a window a
 * stopped commit wrote and no commit will: DetectorState.foldingWindow) (undefined: the source
 * was new then), or undefined when the entry expired before `readFor` (ms: the window's start;
 * the replay forgets by the same rule, lambda/baseline-expiry.ts). Decodes only the part it
 * returns: a read of 100,000 sources goes through here.
 */
export function baselineBefore(
  entry: BucketEntry,
  before: number | undefined,
  readFor: number,
  key: string,
  uncommitted?: number,
): Baseline | undefined {
  if (!Array.isArray(entry)) throw new CorruptItemError(key, 'entry is not an array');
  if (expiredBefore(entryExpiresAt(entry, key), readFor)) return undefined;
  if (
    (before !== undefined && entry[3] === before) ||
    (uncommitted !== undefined && entry[3] === uncommitted)
  )
    return decodePrev(entry, key);
  return decodeCurrent(entry, key);
}

/**
 * An entry as it was before `window` was folded into it, for a window that will never be
 * committed (skipped, or passed over by a detector without state): the entry itself when it does
 * not hold that window's fold; else its `prev`, with the expiry the commit that wrote it gave it
 * (its last window's: every entry a commit writes was folded in that commit's window); undefined
 * when the source was new in that window (the entry goes).
 */
export function entryBefore(
  entry: BucketEntry,
  window: number,
  key: string,
  ttlDays: number,
): BucketEntry | undefined {
  if (!Array.isArray(entry)) throw new CorruptItemError(key, 'entry is not an array');
  if (entry[3] !== window) return entry;
  const prev = decodePrev(entry, key);
  if (prev === undefined) return undefined;
  return encodeEntry(prev, undefined, baselineExpiresAt(prev.lastWindow, ttlDays));
}

function decodePrev(entry: unknown[], key: string): Baseline | undefined {
  const prev = entry[8];
  if (prev === undefined || prev === null) return undefined;
  if (!Array.isArray(prev)) throw new CorruptItemError(key, 'prev is not an array');
  const where = `${key} prev`;
  const baseline = decodeBaseline(prev[0], prev[1], prev[2], prev[3], prev[4], prev[5], prev[6], where);
  let profile = prev[7];
  if (Array.isArray(profile)) profile = applySlotPatch(entry[9], profile, 'profile', where);
  let slotSpread = prev[11];
  if (Array.isArray(slotSpread)) slotSpread = applySlotPatch(entry[13], slotSpread, 'slotSpread', where);
  const jobs = prev[9] === SAME_JOBS ? entry[11] : prev[9];
  const rhythm = withRhythm(baseline, profile, prev[8], jobs, where);
  const spread = withSlotSpread(withTailScore(rhythm, prev[10], where), slotSpread, where);
  return withElevatedWindow(spread, prev[12], where);
}

/** Characters per profile slot (rhythm.ts). */
const CODE_CHARS = 3;

/**
 * `prev`'s profile (or slot spread, `field`): the entry's with the changed slots put back
 * (`[slot, code, slot, code, ...]`).
 */
function applySlotPatch(
  current: unknown,
  patch: unknown[],
  field: 'profile' | 'slotSpread',
  key: string,
): string {
  if (!isProfileText(current) || patch.length === 0 || patch.length % 2 !== 0)
    throw new CorruptItemError(key, `${field} patch does not fit the ${field}`);
  let text = current;
  for (let i = 0; i < patch.length; i += 2) {
    const slot = patch[i];
    const code = patch[i + 1];
    if (
      typeof slot !== 'number' ||
      !Number.isInteger(slot) ||
      slot < 0 ||
      slot >= PROFILE_SLOTS ||
      typeof code !== 'string' ||
      code.length !== CODE_CHARS
    )
      throw new CorruptItemError(key, `${field} patch does not fit the ${field}`);
    const at = slot * CODE_CHARS;
    text = text.slice(0, at) + code + text.slice(at + CODE_CHARS);
  }
  if (!isProfileText(text)) throw new CorruptItemError(key, `${field} patch is not base64url`);
  return text;
}

/**
 * `prev`'s profile (or slot spread) as stored: the slots that differ from `current`'s, as a
 * patch, when few do (a fold changes one slot, a lazy zero-fill a few more), else whole.
 */
function slotPatch(prev: string | undefined, current: string | undefined): unknown {
  if (prev === undefined) return null;
  if (current === undefined || current.length !== prev.length) return prev;
  const patch: unknown[] = [];
  for (let slot = 0; slot < PROFILE_SLOTS; slot += 1) {
    const at = slot * CODE_CHARS;
    // Compared by character, not by slices: this runs for every source of every commit.
    if (
      prev.charCodeAt(at) === current.charCodeAt(at) &&
      prev.charCodeAt(at + 1) === current.charCodeAt(at + 1) &&
      prev.charCodeAt(at + 2) === current.charCodeAt(at + 2)
    )
      continue;
    // Each patched slot takes about as many characters as three of a whole profile.
    if (patch.length >= 2 * MAX_PATCHED_SLOTS) return prev;
    patch.push(slot, prev.slice(at, at + CODE_CHARS));
  }
  return patch.length === 0 ? [0, prev.slice(0, CODE_CHARS)] : patch;
}

/** Beyond this many changed slots `prev` keeps its whole profile (or slot spread). */
const MAX_PATCHED_SLOTS = 16;

const PERIOD_CODES: Record<JobPeriod, number> = { daily: 1, weekly: 2, monthly: 3 };

/** `[variance + index, count]`: the pair in six characters on the profile's grid (rhythm.ts quantises them). */
function encodeWithin(within: WithinHour | undefined): unknown {
  return within === undefined
    ? null
    : [encodeValue(within.variance) + encodeValue(within.index), within.count];
}

function encodeJobs(jobs: readonly RecurringJob[] | undefined): unknown {
  if (jobs === undefined || jobs.length === 0) return null;
  return jobs.map((job) => {
    const encoded = [
      job.phase,
      job.period === undefined ? 0 : PERIOD_CODES[job.period],
      job.size,
      job.occurrences,
      job.last,
    ];
    if (job.spread !== undefined) encoded.push(job.spread, job.spreadRuns ?? 1);
    return encoded;
  });
}

/** Adds the rhythm fields (each absent when null) to a decoded baseline, checking their shape. */
function withRhythm(
  baseline: Baseline,
  profile: unknown,
  within: unknown,
  jobs: unknown,
  key: string,
): Baseline {
  if (profile !== undefined && profile !== null) {
    if (!isProfileText(profile))
      throw new CorruptItemError(key, 'profile is not a 144-character base64url profile');
    baseline.profile = profile;
  }
  if (within !== undefined && within !== null) {
    const [pair, count] = Array.isArray(within) ? within : [];
    if (
      typeof pair !== 'string' ||
      pair.length !== 6 ||
      typeof count !== 'number' ||
      !Number.isInteger(count)
    )
      throw new CorruptItemError(key, 'withinHour is not [six characters, count]');
    try {
      baseline.withinHour = {
        variance: decodeValue(pair.slice(0, 3)),
        index: decodeValue(pair.slice(3)),
        count,
      };
    } catch (error) {
      throw new CorruptItemError(key, `withinHour: ${(error as Error).message}`);
    }
  }
  if (jobs !== undefined && jobs !== null) {
    if (!Array.isArray(jobs)) throw new CorruptItemError(key, 'jobs is not an array');
    baseline.jobs = jobs.map((job: unknown) => {
      if (
        !Array.isArray(job) ||
        (job.length !== 5 && job.length !== 7) ||
        job.some((v) => typeof v !== 'number') ||
        ![0, 1, 2, 3].includes(job[1] as number)
      )
        throw new CorruptItemError(
          key,
          'a job is not [phase, period, size, occurrences, last(, spread, spreadRuns)]',
        );
      const [phase, period, size, occurrences, last, spread, spreadRuns] = job as number[];
      const decoded: RecurringJob = { phase: phase!, size: size!, occurrences: occurrences!, last: last! };
      if (spread !== undefined) {
        if (
          !(spread >= 0) ||
          !Number.isInteger(spreadRuns) ||
          !(spreadRuns! >= 1 && spreadRuns! <= SPREAD_MEMORY)
        )
          throw new CorruptItemError(
            key,
            `a job's spread must be at least 0 over 1-${SPREAD_MEMORY} runs (got ${spread} over ${spreadRuns})`,
          );
        decoded.spread = spread;
        decoded.spreadRuns = spreadRuns!;
      }
      if (period === 1) decoded.period = 'daily';
      if (period === 2) decoded.period = 'weekly';
      if (period === 3) decoded.period = 'monthly';
      return decoded;
    });
  }
  return baseline;
}

/** Adds the tail score (absent when null or missing: entries from before it) to a decoded baseline. */
function withTailScore(baseline: Baseline, score: unknown, key: string): Baseline {
  if (score === undefined || score === null) return baseline;
  if (typeof score !== 'number' || !(score >= 0 && score <= MAX_TAIL_SCORE))
    throw new CorruptItemError(key, `tailScore is not a number from 0 to ${MAX_TAIL_SCORE}`);
  baseline.tailScore = score;
  return baseline;
}

/** Adds lastElevatedWindow (absent when null or missing: entries from before it) to a decoded baseline. */
function withElevatedWindow(baseline: Baseline, window: unknown, key: string): Baseline {
  if (window === undefined || window === null) return baseline;
  if (typeof window !== 'number' || !Number.isFinite(window))
    throw new CorruptItemError(key, 'lastElevatedWindow is not a number');
  baseline.lastElevatedWindow = window;
  return baseline;
}

/** Adds the slot spread (absent when null or missing: entries from before it) to a decoded baseline. */
function withSlotSpread(baseline: Baseline, slotSpread: unknown, key: string): Baseline {
  if (slotSpread === undefined || slotSpread === null) return baseline;
  if (!isProfileText(slotSpread))
    throw new CorruptItemError(key, 'slotSpread is not a 144-character base64url slot spread');
  baseline.slotSpread = slotSpread;
  return baseline;
}

/** Every entry of a bucket item, decoded, keyed by source: for tests and benchmarks that look inside the table. */
export function unpackBucketItem(item: Item): Map<string, StoredBaseline> {
  const bucket = bucketOfItem(item);
  if (bucket === undefined) throw new CorruptItemError(String(item.pk?.S), 'not a baseline bucket');
  const records = parseRecords(item.records?.S, bucket);
  const out = new Map<string, StoredBaseline>();
  for (const [srcIp, entry] of Object.entries(records))
    out.set(srcIp, decodeEntry(entry, `${BUCKET_PK_PREFIX}${bucket}/${srcIp}`));
  return out;
}

/**
 * DynamoDB's size of a bucket item: attribute names plus values (strings as UTF-8 bytes,
 * numbers at most 21 bytes).
 */
export function bucketItemBytes(bucket: number, recordsJson: string): number {
  return bucketItemBytesOf(bucket, Buffer.byteLength(recordsJson, 'utf8'));
}

/** bucketItemBytes for a `records` of that many UTF-8 bytes. */
export function bucketItemBytesOf(bucket: number, recordsBytes: number): number {
  const names = 'pk'.length + 'sk'.length + 'records'.length + 'sources'.length + 'expiresAt'.length;
  const key = `${BUCKET_PK_PREFIX}${bucket}`.length + BUCKET_SK.length;
  return names + key + recordsBytes + 2 * 21;
}

/**
 * At least the UTF-8 bytes of `"<key>":<entry>` as a bucket's `records` holds it, for the entry
 * encodeEntry(baseline, prev, expiresAt) makes, without making it: the commit checks every bucket
 * against the item limit before it writes any, and encoding each bucket for that check as well
 * as for the write was a fifth of a million-source window's CPU. Follows encodeEntry's layout:
 * whole numbers by their digits, other numbers at the 25 characters of the longest a double
 * prints as (`-0.0000012345678901234567`), strings at their length, `prev`'s profile and slot
 * spread at a whole one, trailing nulls as if kept: exact for an entry whose every field is there
 * and at its longest.
 * An entry of a million-source window takes 268 bytes, and this says 300-400.
 */
export function memberBytesAtMost(
  key: string,
  baseline: Baseline,
  prev: Baseline | undefined,
  expiresAt: number,
): number {
  // `"key":[` ... `]`, 14 commas between the 15 fields.
  let bytes = keyBytes(key) + 1 + 2 + 14;
  bytes += numberChars(baseline.mean) + numberChars(baseline.variance) + numberChars(baseline.dataPoints);
  bytes += numberChars(baseline.lastWindow) + numberChars(baseline.clockAtLastFold) + numberChars(expiresAt);
  bytes += optionalNumberChars(baseline.lastAlertWindow) + optionalNumberChars(baseline.lastAlertCount);
  if (prev === undefined) bytes += NULL_CHARS;
  else {
    // `[` ... `]`, 12 commas between its 13 fields.
    bytes += 2 + 12;
    bytes += numberChars(prev.mean) + numberChars(prev.variance) + numberChars(prev.dataPoints);
    bytes += numberChars(prev.lastWindow) + numberChars(prev.clockAtLastFold);
    bytes += optionalNumberChars(prev.lastAlertWindow) + optionalNumberChars(prev.lastAlertCount);
    // Whole, or as a patch of at most MAX_PATCHED_SLOTS slots, which is never longer (145 characters).
    bytes += optionalTextChars(prev.profile);
    bytes += withinChars(prev.withinHour);
    bytes += prev.jobs !== undefined && prev.jobs === baseline.jobs ? 1 : jobsChars(prev.jobs);
    bytes += optionalNumberChars(prev.tailScore);
    // As the profile: whole or a patch no longer.
    bytes += optionalTextChars(prev.slotSpread);
    bytes += optionalNumberChars(prev.lastElevatedWindow);
  }
  bytes += optionalTextChars(baseline.profile);
  bytes += withinChars(baseline.withinHour);
  bytes += jobsChars(baseline.jobs);
  bytes += optionalNumberChars(baseline.tailScore);
  bytes += optionalTextChars(baseline.slotSpread);
  bytes += optionalNumberChars(baseline.lastElevatedWindow);
  return bytes;
}

const NULL_CHARS = 4;
/** JSON's longest text of a double: sign, `0.`, five zeros and 17 digits (exponent forms are shorter). */
const LONGEST_NUMBER_CHARS = 25;

/** Characters JSON.stringify gives `value` at most: exact for whole numbers, 25 for the rest. */
function numberChars(value: number): number {
  if (!Number.isFinite(value)) return NULL_CHARS;
  if (!Number.isInteger(value) || Math.abs(value) >= 1e21) return LONGEST_NUMBER_CHARS;
  const magnitude = Math.abs(value);
  let digits = 1;
  for (let power = 10; power <= magnitude; power *= 10) digits += 1;
  return digits + (value < 0 ? 1 : 0);
}

const optionalNumberChars = (value: number | undefined): number =>
  value === undefined ? NULL_CHARS : numberChars(value);

/** `"<text>"` of a profile or slot spread (base64url: no escapes), or null. */
const optionalTextChars = (text: string | undefined): number =>
  text === undefined ? NULL_CHARS : text.length + 2;

/** `["<6 characters>",count]`, or null. */
const withinChars = (within: WithinHour | undefined): number =>
  within === undefined ? NULL_CHARS : 2 + 8 + 1 + numberChars(within.count);

/** `[[phase,period,size,occurrences,last(,spread,spreadRuns)],...]`, or null. */
function jobsChars(jobs: readonly RecurringJob[] | undefined): number {
  if (jobs === undefined || jobs.length === 0) return NULL_CHARS;
  let chars = 2 + jobs.length - 1;
  for (const job of jobs) {
    chars +=
      2 +
      4 +
      1 +
      numberChars(job.phase) +
      numberChars(job.size) +
      numberChars(job.occurrences) +
      numberChars(job.last);
    if (job.spread !== undefined) chars += 2 + numberChars(job.spread) + numberChars(job.spreadRuns ?? 1);
  }
  return chars;
}

/** `"<key>"` in UTF-8: a source key (an account and an address) needs no escapes. */
function keyBytes(key: string): number {
  return PLAIN_KEY.test(key) ? key.length + 2 : Buffer.byteLength(JSON.stringify(key), 'utf8');
}
const PLAIN_KEY = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

function encodeBaseline(b: Baseline, current: Baseline | undefined): unknown[] {
  return trimNulls([
    b.mean,
    b.variance,
    b.dataPoints,
    b.lastWindow,
    b.clockAtLastFold,
    b.lastAlertWindow ?? null,
    b.lastAlertCount ?? null,
    slotPatch(b.profile, current?.profile),
    encodeWithin(b.withinHour),
    b.jobs !== undefined && b.jobs === current?.jobs ? SAME_JOBS : encodeJobs(b.jobs),
    b.tailScore ?? null,
    slotPatch(b.slotSpread, current?.slotSpread),
    b.lastElevatedWindow ?? null,
  ]);
}

/** `prev`'s jobs when they are the entry's own (most folds change none). */
const SAME_JOBS = 0;

function trimNulls(values: unknown[]): unknown[] {
  while (values.length > 0 && values[values.length - 1] === null) values.pop();
  return values;
}

function decodeBaseline(
  mean: unknown,
  variance: unknown,
  dataPoints: unknown,
  lastWindow: unknown,
  clockAtLastFold: unknown,
  lastAlertWindow: unknown,
  lastAlertCount: unknown,
  key: string,
): Baseline {
  if (
    typeof mean !== 'number' ||
    typeof variance !== 'number' ||
    typeof dataPoints !== 'number' ||
    typeof lastWindow !== 'number' ||
    typeof clockAtLastFold !== 'number' ||
    (lastAlertWindow !== undefined && lastAlertWindow !== null && typeof lastAlertWindow !== 'number') ||
    (lastAlertCount !== undefined && lastAlertCount !== null && typeof lastAlertCount !== 'number')
  ) {
    const fields = {
      mean,
      variance,
      dataPoints,
      lastWindow,
      clockAtLastFold,
      lastAlertWindow,
      lastAlertCount,
    };
    const optional = new Set(['lastAlertWindow', 'lastAlertCount']);
    const bad = Object.entries(fields).find(
      ([name, value]) =>
        typeof value !== 'number' && !(optional.has(name) && (value === undefined || value === null)),
    );
    throw new CorruptItemError(key, `${bad?.[0] ?? 'a field'} is not a number`);
  }
  const baseline: Baseline = { mean, variance, dataPoints, lastWindow, clockAtLastFold };
  if (typeof lastAlertWindow === 'number') baseline.lastAlertWindow = lastAlertWindow;
  if (typeof lastAlertCount === 'number') baseline.lastAlertCount = lastAlertCount;
  return baseline;
}
