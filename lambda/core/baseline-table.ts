/**
 * Baselines of many sources in a few flat arrays, by index: what the Lambda holds for a window of
 * a million sources. A `Baseline` object with its rhythm profile is some 450 bytes of JavaScript
 * heap (an object, boxed doubles, a 144-character string, the withinHour object, a Map entry);
 * here it is 89 bytes of numbers and flags and the profile's 144 bytes, outside the heap, and a
 * `Baseline` is made only for the moment a source is decided or written. Values round-trip
 * exactly: every number is kept as the double it was.
 *
 * A table of the baselines after a window can keep its profiles as the slots that differ from
 * another table's (`profilesBesides`: the baselines before it): a fold changes one slot of a
 * profile (a lazy zero-fill a few more), so 16 bytes a source instead of 144 (at a million
 * sources, 128 MB less resident memory).
 */
import type { Baseline } from './baseline';
import { PROFILE_LENGTH, PROFILE_SLOTS, UNSET_PROFILE, type RecurringJob } from './rhythm';

/** Doubles per source: mean, variance, dataPoints, lastWindow, clockAtLastFold, lastAlertWindow, lastAlertCount, withinHour's variance, index, count, tailScore. */
const FIELDS = 11;
const PRESENT = 1;
const HAS_PROFILE = 2;
const HAS_ALERT_WINDOW = 4;
const HAS_ALERT_COUNT = 8;
const HAS_WITHIN = 16;
const HAS_TAIL_SCORE = 32;
/** Characters of one profile slot. */
const SLOT_CHARS = PROFILE_LENGTH / PROFILE_SLOTS;
/** Slots a profile kept beside another's may differ in before it is kept whole (on the heap). */
const PATCH_SLOTS = 4;
const UNSET_PROFILE_BYTES = Buffer.from(UNSET_PROFILE, 'latin1');

export class BaselineTable {
  readonly size: number;
  private readonly numbers: Float64Array;
  private readonly flags: Uint8Array;
  /** Whole profiles (absent when they are kept beside `besides`'). */
  private readonly profiles: Buffer | undefined;
  /** Recurring jobs are rare (a few sources in a hundred): kept aside, by index. */
  private readonly jobs = new Map<number, RecurringJob[]>();
  /** The table whose profiles this one's are kept beside (options.profilesBesides). */
  private readonly besides: BaselineTable | undefined;
  /** Beside `besides`: per index, up to PATCH_SLOTS slot numbers + 1 (0: none) and their characters. */
  private readonly patchSlots: Uint8Array | undefined;
  private readonly patchChars: Buffer | undefined;
  /** Beside `besides`: profiles that differ in more than PATCH_SLOTS slots, whole (rare). */
  private readonly wholeProfiles = new Map<number, string>();

  /**
   * `profilesBesides`: keep each profile as the slots where it differs from the profile at the
   * same index there (or from the unset profile where there is none). That table must be as
   * large and must not change while this one is used.
   */
  constructor(size: number, options: { profilesBesides?: BaselineTable } = {}) {
    if (!Number.isInteger(size) || size < 0)
      throw new RangeError(`table size must be a whole number, got ${size}`);
    this.size = size;
    this.numbers = new Float64Array(size * FIELDS);
    this.flags = new Uint8Array(size);
    const besides = options.profilesBesides;
    if (besides === undefined) {
      this.profiles = Buffer.alloc(size * PROFILE_LENGTH);
    } else {
      if (besides.size !== size)
        throw new RangeError(`profiles are kept beside a table of ${besides.size} entries, not ${size}`);
      if (besides.profiles === undefined)
        throw new RangeError('profiles are kept beside a table that keeps its own whole');
      this.besides = besides;
      this.patchSlots = new Uint8Array(size * PATCH_SLOTS);
      this.patchChars = Buffer.alloc(size * PATCH_SLOTS * SLOT_CHARS);
    }
  }

  /** Stores `baseline` at `index` (undefined: none). */
  set(index: number, baseline: Baseline | undefined): void {
    this.check(index);
    this.jobs.delete(index);
    this.wholeProfiles.delete(index);
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
    if (baseline.tailScore !== undefined) {
      n[at + 10] = baseline.tailScore;
      flags |= HAS_TAIL_SCORE;
    }
    const profile = baseline.profile;
    if (profile !== undefined) {
      // Profiles are base64url text (rhythm.ts): ASCII, one byte a character (a UTF-8 length equal
      // to the character count says so without a loop).
      if (profile.length !== PROFILE_LENGTH || Buffer.byteLength(profile, 'utf8') !== PROFILE_LENGTH)
        throw new RangeError(`profile of entry ${index} is not ${PROFILE_LENGTH} ASCII characters`);
      if (this.profiles !== undefined) this.profiles.write(profile, index * PROFILE_LENGTH, 'latin1');
      else this.setPatch(index, profile);
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
      baseline.profile =
        this.profiles !== undefined
          ? this.profiles.toString('latin1', index * PROFILE_LENGTH, (index + 1) * PROFILE_LENGTH)
          : this.patchedProfile(index);
    if ((flags & HAS_WITHIN) !== 0)
      baseline.withinHour = { variance: n[at + 7]!, index: n[at + 8]!, count: n[at + 9]! };
    const jobs = this.jobs.get(index);
    if (jobs !== undefined) baseline.jobs = jobs;
    if ((flags & HAS_TAIL_SCORE) !== 0) baseline.tailScore = n[at + 10]!;
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

  /** Bytes held (outside the JavaScript heap, jobs and profiles kept whole beside another table's aside). */
  get bytes(): number {
    return (
      this.numbers.byteLength +
      this.flags.byteLength +
      (this.profiles?.byteLength ?? 0) +
      (this.patchSlots?.byteLength ?? 0) +
      (this.patchChars?.byteLength ?? 0)
    );
  }

  /**
   * Entries whose profile is kept whole (a string) rather than as a patch of the table beside:
   * more than PATCH_SLOTS slots changed in the window. A fold changes its own slot and those of
   * the windows the source missed, so most entries are patches; the memory figures
   * (docs/performance.md) rest on that, and the tests on this count.
   */
  get profilesKeptWhole(): number {
    return this.wholeProfiles.size;
  }

  /** The profile bytes `besides` has at `index`: its own, or the unset profile's. */
  private baseProfile(index: number): { bytes: Buffer; at: number } {
    const besides = this.besides!;
    return (besides.flags[index]! & (PRESENT | HAS_PROFILE)) === (PRESENT | HAS_PROFILE)
      ? { bytes: besides.profiles!, at: index * PROFILE_LENGTH }
      : { bytes: UNSET_PROFILE_BYTES, at: 0 };
  }

  /** Keeps `profile` (144 ASCII characters) as its slots that differ from the base profile. */
  private setPatch(index: number, profile: string): void {
    const slots = this.patchSlots!;
    const chars = this.patchChars!;
    const { bytes, at } = this.baseProfile(index);
    slots.fill(0, index * PATCH_SLOTS, (index + 1) * PATCH_SLOTS);
    let patched = 0;
    for (let slot = 0; slot < PROFILE_SLOTS; slot += 1) {
      const c = slot * SLOT_CHARS;
      if (
        profile.charCodeAt(c) === bytes[at + c] &&
        profile.charCodeAt(c + 1) === bytes[at + c + 1] &&
        profile.charCodeAt(c + 2) === bytes[at + c + 2]
      )
        continue;
      if (patched === PATCH_SLOTS) {
        slots.fill(0, index * PATCH_SLOTS, (index + 1) * PATCH_SLOTS);
        this.wholeProfiles.set(index, profile);
        return;
      }
      const p = index * PATCH_SLOTS + patched;
      slots[p] = slot + 1;
      chars.write(profile.slice(c, c + SLOT_CHARS), p * SLOT_CHARS, 'latin1');
      patched += 1;
    }
  }

  private patchedProfile(index: number): string {
    const whole = this.wholeProfiles.get(index);
    if (whole !== undefined) return whole;
    const { bytes, at } = this.baseProfile(index);
    bytes.copy(scratch, 0, at, at + PROFILE_LENGTH);
    for (let p = index * PATCH_SLOTS; p < (index + 1) * PATCH_SLOTS; p += 1) {
      const slot = this.patchSlots![p]!;
      if (slot === 0) break;
      this.patchChars!.copy(scratch, (slot - 1) * SLOT_CHARS, p * SLOT_CHARS, (p + 1) * SLOT_CHARS);
    }
    return scratch.toString('latin1', 0, PROFILE_LENGTH);
  }

  private check(index: number): void {
    if (!(index >= 0 && index < this.size && Number.isInteger(index)))
      throw new RangeError(`index ${index} is outside the table (size ${this.size})`);
  }
}

/** Where a profile kept beside another is put back together (one at a time: get is synchronous). */
const scratch = Buffer.alloc(PROFILE_LENGTH);
