/**
 * Baselines of many sources in a few flat arrays, by index: what the Lambda holds for a window of
 * a million sources. A `Baseline` object with its rhythm profile is some 450 bytes of JavaScript
 * heap (an object, boxed doubles, a 144-character string, the withinHour object, a Map entry);
 * here it is 81 bytes of numbers and flags and the profile's 144 bytes, outside the heap, and a
 * `Baseline` is made only for the moment a source is decided or written. Values round-trip
 * exactly: every number is kept as the double it was.
 */
import type { Baseline } from './baseline';
import { PROFILE_LENGTH, type RecurringJob } from './rhythm';

/** Doubles per source: mean, variance, dataPoints, lastWindow, clockAtLastFold, lastAlertWindow, lastAlertCount, withinHour's variance, index, count. */
const FIELDS = 10;
const PRESENT = 1;
const HAS_PROFILE = 2;
const HAS_ALERT_WINDOW = 4;
const HAS_ALERT_COUNT = 8;
const HAS_WITHIN = 16;

export class BaselineTable {
  readonly size: number;
  private readonly numbers: Float64Array;
  private readonly flags: Uint8Array;
  private readonly profiles: Buffer;
  /** Recurring jobs are rare (a few sources in a hundred): kept aside, by index. */
  private readonly jobs = new Map<number, RecurringJob[]>();

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 0)
      throw new RangeError(`table size must be a whole number, got ${size}`);
    this.size = size;
    this.numbers = new Float64Array(size * FIELDS);
    this.flags = new Uint8Array(size);
    this.profiles = Buffer.alloc(size * PROFILE_LENGTH);
  }

  /** Stores `baseline` at `index` (undefined: none). */
  set(index: number, baseline: Baseline | undefined): void {
    this.check(index);
    this.jobs.delete(index);
    // Absent until every field is in: a refused baseline leaves no half-written entry.
    this.flags[index] = 0;
    if (baseline === undefined) return;
    const at = index * FIELDS;
    const n = this.numbers;
    n[at] = baseline.mean;
    n[at + 1] = baseline.variance;
    n[at + 2] = baseline.dataPoints;
    n[at + 3] = baseline.lastWindow;
    n[at + 4] = baseline.clockAtLastFold;
    let flags = PRESENT;
    if (baseline.lastAlertWindow !== undefined) {
      n[at + 5] = baseline.lastAlertWindow;
      flags |= HAS_ALERT_WINDOW;
    }
    if (baseline.lastAlertCount !== undefined) {
      n[at + 6] = baseline.lastAlertCount;
      flags |= HAS_ALERT_COUNT;
    }
    const within = baseline.withinHour;
    if (within !== undefined) {
      n[at + 7] = within.variance;
      n[at + 8] = within.index;
      n[at + 9] = within.count;
      flags |= HAS_WITHIN;
    }
    const profile = baseline.profile;
    if (profile !== undefined) {
      // Profiles are base64url text (rhythm.ts): ASCII, one byte a character (a UTF-8 length equal
      // to the character count says so without a loop).
      if (profile.length !== PROFILE_LENGTH || Buffer.byteLength(profile, 'utf8') !== PROFILE_LENGTH)
        throw new RangeError(`profile of entry ${index} is not ${PROFILE_LENGTH} ASCII characters`);
      this.profiles.write(profile, index * PROFILE_LENGTH, 'latin1');
      flags |= HAS_PROFILE;
    }
    if (baseline.jobs !== undefined) this.jobs.set(index, baseline.jobs);
    this.flags[index] = flags;
  }

  has(index: number): boolean {
    this.check(index);
    return (this.flags[index]! & PRESENT) !== 0;
  }

  /** The baseline at `index` (a new object each time), or undefined. */
  get(index: number): Baseline | undefined {
    this.check(index);
    const flags = this.flags[index]!;
    if ((flags & PRESENT) === 0) return undefined;
    const at = index * FIELDS;
    const n = this.numbers;
    const baseline: Baseline = {
      mean: n[at]!,
      variance: n[at + 1]!,
      dataPoints: n[at + 2]!,
      lastWindow: n[at + 3]!,
      clockAtLastFold: n[at + 4]!,
    };
    if ((flags & HAS_ALERT_WINDOW) !== 0) baseline.lastAlertWindow = n[at + 5]!;
    if ((flags & HAS_ALERT_COUNT) !== 0) baseline.lastAlertCount = n[at + 6]!;
    if ((flags & HAS_PROFILE) !== 0)
      baseline.profile = this.profiles.toString(
        'latin1',
        index * PROFILE_LENGTH,
        (index + 1) * PROFILE_LENGTH,
      );
    if ((flags & HAS_WITHIN) !== 0)
      baseline.withinHour = { variance: n[at + 7]!, index: n[at + 8]!, count: n[at + 9]! };
    const jobs = this.jobs.get(index);
    if (jobs !== undefined) baseline.jobs = jobs;
    return baseline;
  }

  /** What isMatureSource reads, without making a Baseline (undefined when absent). */
  maturity(index: number): Pick<Baseline, 'dataPoints' | 'lastWindow' | 'clockAtLastFold'> | undefined {
    this.check(index);
    if ((this.flags[index]! & PRESENT) === 0) return undefined;
    const at = index * FIELDS;
    return {
      dataPoints: this.numbers[at + 2]!,
      lastWindow: this.numbers[at + 3]!,
      clockAtLastFold: this.numbers[at + 4]!,
    };
  }

  /** Bytes held (outside the JavaScript heap, jobs aside). */
  get bytes(): number {
    return this.numbers.byteLength + this.flags.byteLength + this.profiles.byteLength;
  }

  private check(index: number): void {
    if (!(index >= 0 && index < this.size && Number.isInteger(index)))
      throw new RangeError(`index ${index} is outside the table (size ${this.size})`);
  }
}
