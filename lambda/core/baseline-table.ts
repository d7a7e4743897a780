/**
 * Baselines of many sources in a few flat arrays, by index: what the Lambda holds for a window of
 * a million sources. A `Baseline` object with its rhythm profile is some 450 bytes of JavaScript
 * heap (an object, boxed doubles, a 144-character string, the withinHour object, a Map entry);
 * here it is 97 bytes of numbers and flags and 144 bytes each for the profile and the slot spread
 * (encoded as the profile is), outside the heap, and a `Baseline` is made only for the moment a
 * source is decided or written. Values round-trip exactly: every number is kept as the double it
 * was.
 *
 * A table of the baselines after a window can keep its profiles and slot spreads as the slots
 * that differ from another table's (`profilesBesides`: the baselines before it): a fold changes
 * one slot of each (a lazy zero-fill a few more of the profile), so 16 bytes a source for each
 * instead of 144 (at a million sources, 256 MB less resident memory).
 */
import type { Baseline } from './baseline';
import { PROFILE_LENGTH, PROFILE_SLOTS, UNSET_PROFILE, type RecurringJob } from './rhythm';

/** Doubles per source: mean, variance, dataPoints, lastWindow, clockAtLastFold, lastAlertWindow, lastAlertCount, withinHour's variance, index, count, tailScore, lastElevatedWindow. */
const FIELDS = 12;
const PRESENT = 1;
const HAS_PROFILE = 2;
const HAS_ALERT_WINDOW = 4;
const HAS_ALERT_COUNT = 8;
const HAS_WITHIN = 16;
const HAS_TAIL_SCORE = 32;
const HAS_SLOT_SPREAD = 64;
const HAS_ELEVATED_WINDOW = 128;
/** Characters of one profile slot. */
const SLOT_CHARS = PROFILE_LENGTH / PROFILE_SLOTS;
/** Slots a profile (or slot spread) kept beside another's may differ in before it is kept whole (on the heap). */
const PATCH_SLOTS = 4;
const UNSET_PROFILE_BYTES = Buffer.from(UNSET_PROFILE, 'latin1');

export class BaselineTable {
  readonly size: number;
  private readonly numbers: Float64Array;
  private readonly flags: Uint8Array;
  /** Profiles: whole, or beside `besides`' profiles. */
  private readonly profiles: SlotTexts;
  /** Slot spreads, kept as the profiles are: whole, or beside `besides`' slot spreads. */
  private readonly slotSpreads: SlotTexts;
  /** Recurring jobs are rare (a few sources in a hundred): kept aside, by index. */
  private readonly jobs = new Map<number, RecurringJob[]>();

  /**
   * `profilesBesides`: keep each profile (and each slot spread) as the slots where it differs
   * from the one at the same index there (or from the unset profile where there is none). That
   * table must be as large and must not change while this one is used.
   */
  constructor(size: number, options: { profilesBesides?: BaselineTable } = {}) {
    if (!Number.isInteger(size) || size < 0)
      throw new RangeError(`table size must be a whole number, got ${size}`);
    this.size = size;
    this.numbers = new Float64Array(size * FIELDS);
    this.flags = new Uint8Array(size);
    const besides = options.profilesBesides;
    if (besides !== undefined) {
      if (besides.size !== size)
        throw new RangeError(`profiles are kept beside a table of ${besides.size} entries, not ${size}`);
      if (!besides.profiles.isWhole)
        throw new RangeError('profiles are kept beside a table that keeps its own whole');
    }
    this.profiles = new SlotTexts(size, 'profile', HAS_PROFILE, besides?.profiles, besides?.flags);
    this.slotSpreads = new SlotTexts(
      size,
      'slotSpread',
      HAS_SLOT_SPREAD,
      besides?.slotSpreads,
      besides?.flags,
    );
  }

  /** Stores `baseline` at `index` (undefined: none). */
  set(index: number, baseline: Baseline | undefined): void {
    this.check(index);
    this.jobs.delete(index);
    this.profiles.forget(index);
    this.slotSpreads.forget(index);
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
    if (baseline.lastElevatedWindow !== undefined) {
      n[at + 11] = baseline.lastElevatedWindow;
      flags |= HAS_ELEVATED_WINDOW;
    }
    const profile = baseline.profile;
    const slotSpread = baseline.slotSpread;
    // Both checked before either is kept: a refused slot spread leaves no profile kept whole.
    if (profile !== undefined) this.profiles.checkText(index, profile);
    if (slotSpread !== undefined) this.slotSpreads.checkText(index, slotSpread);
    if (profile !== undefined) {
      this.profiles.set(index, profile);
      flags |= HAS_PROFILE;
    }
    if (slotSpread !== undefined) {
      this.slotSpreads.set(index, slotSpread);
      flags |= HAS_SLOT_SPREAD;
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
    if ((flags & HAS_ELEVATED_WINDOW) !== 0) baseline.lastElevatedWindow = n[at + 11]!;
    if ((flags & HAS_PROFILE) !== 0) baseline.profile = this.profiles.get(index);
    if ((flags & HAS_WITHIN) !== 0)
      baseline.withinHour = { variance: n[at + 7]!, index: n[at + 8]!, count: n[at + 9]! };
    const jobs = this.jobs.get(index);
    if (jobs !== undefined) baseline.jobs = jobs;
    if ((flags & HAS_TAIL_SCORE) !== 0) baseline.tailScore = n[at + 10]!;
    if ((flags & HAS_SLOT_SPREAD) !== 0) baseline.slotSpread = this.slotSpreads.get(index);
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

  /**
   * Bytes held (outside the JavaScript heap, jobs and the profiles and slot spreads kept whole
   * beside another table's aside).
   */
  get bytes(): number {
    return this.numbers.byteLength + this.flags.byteLength + this.profiles.bytes + this.slotSpreads.bytes;
  }

  /**
   * Entries whose profile is kept whole (a string) rather than as a patch of the table beside:
   * more than PATCH_SLOTS slots changed in the window. A fold changes its own slot and those of
   * the windows the source missed, so most entries are patches; the memory figures
   * (docs/performance.md) rest on that, and the tests on this count.
   */
  get profilesKeptWhole(): number {
    return this.profiles.keptWhole.size;
  }

  /** Entries whose slot spread is kept whole rather than as a patch (as profilesKeptWhole). */
  get slotSpreadsKeptWhole(): number {
    return this.slotSpreads.keptWhole.size;
  }

  private check(index: number): void {
    if (!(index >= 0 && index < this.size && Number.isInteger(index)))
      throw new RangeError(`index ${index} is outside the table (size ${this.size})`);
  }
}

/**
 * One text of PROFILE_LENGTH characters a source on the profile's slot grid (the profile, the
 * slot spread), outside the heap: whole, or as the slots where it differs from the same texts of
 * another table.
 */
class SlotTexts {
  /** Whole texts (absent when they are kept beside `base`'). */
  private readonly whole: Buffer | undefined;
  /** Beside `base`: per index, up to PATCH_SLOTS slot numbers + 1 (0: none) and their characters. */
  private readonly patchSlots: Uint8Array | undefined;
  private readonly patchChars: Buffer | undefined;
  /** Beside `base`: texts that differ in more than PATCH_SLOTS slots, whole (rare). */
  readonly keptWhole = new Map<number, string>();

  constructor(
    size: number,
    /** The field's name, for errors. */
    private readonly field: 'profile' | 'slotSpread',
    /** The flag that says an entry holds this text. */
    private readonly flag: number,
    /** The texts these are kept beside, and the flags of their table. */
    private readonly base?: SlotTexts,
    private readonly baseFlags?: Uint8Array,
  ) {
    if (base === undefined) {
      this.whole = Buffer.alloc(size * PROFILE_LENGTH);
    } else {
      this.patchSlots = new Uint8Array(size * PATCH_SLOTS);
      this.patchChars = Buffer.alloc(size * PATCH_SLOTS * SLOT_CHARS);
    }
  }

  get isWhole(): boolean {
    return this.whole !== undefined;
  }

  get bytes(): number {
    return (
      (this.whole?.byteLength ?? 0) + (this.patchSlots?.byteLength ?? 0) + (this.patchChars?.byteLength ?? 0)
    );
  }

  /** Refuses a text that is not PROFILE_LENGTH ASCII characters. */
  checkText(index: number, text: string): void {
    // Profiles and slot spreads are base64url text (rhythm.ts): ASCII, one byte a character (a
    // UTF-8 length equal to the character count says so without a loop).
    if (text.length !== PROFILE_LENGTH || Buffer.byteLength(text, 'utf8') !== PROFILE_LENGTH)
      throw new RangeError(`${this.field} of entry ${index} is not ${PROFILE_LENGTH} ASCII characters`);
  }

  /** Keeps `text` (checked) at `index`. */
  set(index: number, text: string): void {
    if (this.whole !== undefined) this.whole.write(text, index * PROFILE_LENGTH, 'latin1');
    else this.setPatch(index, text);
  }

  get(index: number): string {
    return this.whole !== undefined
      ? this.whole.toString('latin1', index * PROFILE_LENGTH, (index + 1) * PROFILE_LENGTH)
      : this.patched(index);
  }

  /** Drops what `index` held kept whole (its patch is overwritten by the next set). */
  forget(index: number): void {
    this.keptWhole.delete(index);
  }

  /** The bytes `base` has at `index`: its own text, or the unset profile's. */
  private baseText(index: number): { bytes: Buffer; at: number } {
    return (this.baseFlags![index]! & (PRESENT | this.flag)) === (PRESENT | this.flag)
      ? { bytes: this.base!.whole!, at: index * PROFILE_LENGTH }
      : { bytes: UNSET_PROFILE_BYTES, at: 0 };
  }

  /** Keeps `text` (PROFILE_LENGTH ASCII characters) as its slots that differ from the base text. */
  private setPatch(index: number, text: string): void {
    const slots = this.patchSlots!;
    const chars = this.patchChars!;
    const { bytes, at } = this.baseText(index);
    slots.fill(0, index * PATCH_SLOTS, (index + 1) * PATCH_SLOTS);
    let patched = 0;
    for (let slot = 0; slot < PROFILE_SLOTS; slot += 1) {
      const c = slot * SLOT_CHARS;
      if (
        text.charCodeAt(c) === bytes[at + c] &&
        text.charCodeAt(c + 1) === bytes[at + c + 1] &&
        text.charCodeAt(c + 2) === bytes[at + c + 2]
      )
        continue;
      if (patched === PATCH_SLOTS) {
        slots.fill(0, index * PATCH_SLOTS, (index + 1) * PATCH_SLOTS);
        this.keptWhole.set(index, text);
        return;
      }
      const p = index * PATCH_SLOTS + patched;
      slots[p] = slot + 1;
      chars.write(text.slice(c, c + SLOT_CHARS), p * SLOT_CHARS, 'latin1');
      patched += 1;
    }
  }

  private patched(index: number): string {
    const whole = this.keptWhole.get(index);
    if (whole !== undefined) return whole;
    const { bytes, at } = this.baseText(index);
    bytes.copy(scratch, 0, at, at + PROFILE_LENGTH);
    for (let p = index * PATCH_SLOTS; p < (index + 1) * PATCH_SLOTS; p += 1) {
      const slot = this.patchSlots![p]!;
      if (slot === 0) break;
      this.patchChars!.copy(scratch, (slot - 1) * SLOT_CHARS, p * SLOT_CHARS, (p + 1) * SLOT_CHARS);
    }
    return scratch.toString('latin1', 0, PROFILE_LENGTH);
  }
}

/** Where a text kept beside another is put back together (one at a time: get is synchronous). */
const scratch = Buffer.alloc(PROFILE_LENGTH);
