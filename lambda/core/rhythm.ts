/**
 * Rhythm-aware baselines (recommended preset): a source's expected count for a window follows
 * its own hour of the day, on weekdays and on weekend days, and bursts that recur at the same
 * time of day or week are learned as jobs.
 *
 * Profile. Each source keeps 48 slot means, one per (local hour, weekday or weekend day), each an
 * exponentially weighted mean of the windows that fell in that slot (zeros included, fed values
 * capped like the flat baseline's). They are stored quantised on a log scale (1/4096 of a
 * doubling, three characters a slot: 144 characters a source), and quantised at every fold, so
 * the Lambda (which stores them) and the replay (which keeps them in memory) compute the same
 * numbers.
 *
 * Expectation. A slot mean estimated from a handful of windows is noisy, and a flat source's 48
 * slot means differ by noise alone. So the slot means are shrunk toward the source's weighted
 * mean by empirical Bayes: the spread between slots (B) is compared with what sampling noise
 * alone would give (the within-slot variance over each slot's effective sample size); only the
 * excess (tau^2) is rhythm, and only when it is well beyond noise. A source with no rhythm is
 * compared with its flat baseline exactly as before; a strong rhythm is used almost as measured.
 * The expectation for a window is the shrunk slot mean; its variance a mu + phi mu^2, fitted to
 * how the source's windows vary around their hour's mean (foldWithinHour), plus the posterior
 * variance of the slot mean (the estimate's own error). A daily job's hour (five times both
 * neighbouring hours) is left out of that fit and of the other hours' expectation: it is judged
 * by its slot's own spread, and a source whose only rhythm is such a job is flat at its other
 * hours.
 *
 * Recurring jobs. A spike at a time of day or week where a similar-sized spike happened one to
 * three days (daily) or a whole number of weeks (weekly) before is an occurrence of a job; from
 * the `jobOccurrencesToLearn`-th occurrence on, occurrences are quiet (unless they reach
 * `jobGrowthFactor` x the job's usual size) and feed the baselines the hour's expectation instead
 * of the job's count, so a job neither alerts nor inflates the variance.
 */
import { DAY_NAMES, type DetectorConfig } from './config';

export const PROFILE_SLOTS = 48;
const CHARS_PER_SLOT = 3;
export const PROFILE_LENGTH = PROFILE_SLOTS * CHARS_PER_SLOT;
/** base64url: safe in JSON and in DynamoDB strings. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const CODE_OF = new Int16Array(128).fill(-1);
const ALPHABET_CODES = new Uint8Array(64);
for (let i = 0; i < ALPHABET.length; i += 1) {
  CODE_OF[ALPHABET.charCodeAt(i)] = i;
  ALPHABET_CODES[i] = ALPHABET.charCodeAt(i);
}
/** Quantisation: 4096 steps per doubling (0.017%), so rounding never drifts a slot mean. */
const STEPS_PER_DOUBLING = 4096;
/** Codes 0 (never observed) and 1 (zero); 2 + k is 2^(k / STEPS - MIN_LOG2). */
const UNSET_CODE = 0;
const ZERO_CODE = 1;
const MIN_LOG2 = 20;
const MAX_CODE = 64 ** CHARS_PER_SLOT - 1;
const SMALLEST = Math.pow(2, -MIN_LOG2);

/** A slot mean on the stored grid (the same double from any path). */
export function quantizeSlotMean(value: number): number {
  return valueOfCode(codeOf(value));
}

function codeOf(value: number): number {
  if (!(value >= SMALLEST / Math.SQRT2)) return ZERO_CODE;
  const code = 2 + Math.round((Math.log2(value) + MIN_LOG2) * STEPS_PER_DOUBLING);
  // Held at the smallest step from below too: a value between SMALLEST / sqrt 2 and SMALLEST
  // (a slot mean decayed by a long absence) would otherwise give a negative code, which the
  // three characters wrap to one that reads back as about 1e13.
  return Math.max(ZERO_CODE + 1, Math.min(MAX_CODE, code));
}

/** 2^(i / STEPS) for the fraction of a code, and 2^(k - MIN_LOG2) for its whole doublings. */
const FRACTIONS = Float64Array.from({ length: STEPS_PER_DOUBLING }, (_, i) =>
  Math.pow(2, i / STEPS_PER_DOUBLING),
);
const DOUBLINGS = Float64Array.from({ length: 64 }, (_, k) => Math.pow(2, k - MIN_LOG2));

function valueOfCode(code: number): number {
  if (code === UNSET_CODE) return Number.NaN;
  if (code === ZERO_CODE) return 0;
  const k = code - 2;
  // Table look-ups rather than Math.pow: decoded for every slot of every source evaluated.
  return (DOUBLINGS[k >> 12] as number) * (FRACTIONS[k & (STEPS_PER_DOUBLING - 1)] as number);
}

/** One value (>= 0) as three base64url characters on the profile's grid (exact for quantised values). */
export function encodeValue(value: number): string {
  return codeText(codeOf(value));
}

/** The value of three characters written by encodeValue; throws on anything else. */
export function decodeValue(text: string): number {
  if (text.length !== CHARS_PER_SLOT)
    throw new RangeError(`a value has ${CHARS_PER_SLOT} characters, got ${text.length}`);
  const value = valueOfCode(slotCode(text, 0));
  if (Number.isNaN(value)) throw new RangeError('a value cannot be the unset code');
  return value;
}

/** Refuses a profile of the wrong length: its slots would be read at the wrong places. */
function checkProfileLength(profile: string): void {
  if (profile.length !== PROFILE_LENGTH)
    throw new RangeError(`a profile has ${PROFILE_LENGTH} characters, got ${profile.length}`);
}

/** Slot means (NaN: never observed) from a stored profile; undefined: all unset. */
export function decodeProfile(
  profile: string | undefined,
  into = new Float64Array(PROFILE_SLOTS),
): Float64Array {
  if (profile === undefined) return into.fill(Number.NaN);
  checkProfileLength(profile);
  for (let s = 0; s < PROFILE_SLOTS; s += 1) into[s] = valueOfCode(slotCode(profile, s));
  return into;
}

/** Character codes of a profile being built: one flat string per fold (no cons strings to flatten later). */
const profileChars: number[] = new Array<number>(PROFILE_LENGTH).fill(65);

function putCode(slot: number, code: number): void {
  const i = slot * CHARS_PER_SLOT;
  profileChars[i] = ALPHABET_CODES[(code >> 12) & 63] as number;
  profileChars[i + 1] = ALPHABET_CODES[(code >> 6) & 63] as number;
  profileChars[i + 2] = ALPHABET_CODES[code & 63] as number;
}

const builtProfile = (): string => String.fromCharCode.apply(null, profileChars);

export function encodeProfile(values: ArrayLike<number>): string {
  for (let s = 0; s < PROFILE_SLOTS; s += 1) {
    const v = values[s] as number;
    putCode(s, Number.isNaN(v) ? UNSET_CODE : codeOf(v));
  }
  return builtProfile();
}

/** True when `profile` is a well-formed stored profile. */
export function isProfileText(profile: unknown): profile is string {
  if (typeof profile !== 'string' || profile.length !== PROFILE_LENGTH) return false;
  for (let i = 0; i < profile.length; i += 1) {
    const c = profile.charCodeAt(i);
    if (c >= 128 || (CODE_OF[c] as number) < 0) return false;
  }
  return true;
}

function slotCode(profile: string, slot: number): number {
  const i = slot * CHARS_PER_SLOT;
  const a = CODE_OF[profile.charCodeAt(i)] as number;
  const b = CODE_OF[profile.charCodeAt(i + 1)] as number;
  const c = CODE_OF[profile.charCodeAt(i + 2)] as number;
  // Not `< 0`: a character past ASCII reads as undefined, which no comparison holds for.
  if (!(a >= 0 && b >= 0 && c >= 0))
    throw new RangeError(`profile has a character outside base64url at slot ${slot}`);
  return (a << 12) | (b << 6) | c;
}

function codeText(code: number): string {
  return ALPHABET[(code >> 12) & 63]! + ALPHABET[(code >> 6) & 63]! + ALPHABET[code & 63]!;
}

// ---------------------------------------------------------------------------------------------
// Calendar

type CalendarConfig = Pick<DetectorConfig, 'timezone' | 'weekendDays' | 'windowMinutes'>;

/** Where a window falls in the local day and week. */
export interface WindowPlace {
  /** 0-47: local hour, + 24 on weekend days. */
  slot: number;
  /** Window of the local week: day (0 = Sunday) x windows a day + window of the day. */
  weekPhase: number;
  /** e.g. `Sun 03:00` (local time of the window's start). */
  label: string;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Milliseconds since the UTC day's start, before 1970 too (where `%` alone is negative). */
const timeOfDay = (time: number): number => ((time % DAY_MS) + DAY_MS) % DAY_MS;
const WEEK_MS = 7 * DAY_MS;

/**
 * Local hours and days of window starts in the configured time zone (daylight saving included),
 * remembered per window start: every source of a window asks for the same one.
 */
export class RhythmCalendar {
  readonly windowsPerDay: number;
  /** Share of a week's windows in each slot (0 for weekend slots when there is no weekend). */
  readonly shares = new Float64Array(PROFILE_SLOTS);
  private readonly windowMs: number;
  private readonly weekend = new Set<number>();
  private readonly format: Intl.DateTimeFormat | undefined;
  private readonly places = new Map<number, WindowPlace>();

  constructor(private readonly config: CalendarConfig) {
    this.windowMs = config.windowMinutes * 60_000;
    this.windowsPerDay = 1440 / config.windowMinutes;
    for (const day of config.weekendDays) this.weekend.add(DAY_NAMES.indexOf(day));
    const weekendDays = this.weekend.size;
    for (let h = 0; h < 24; h += 1) {
      this.shares[h] = (7 - weekendDays) / (7 * 24);
      this.shares[24 + h] = weekendDays / (7 * 24);
    }
    this.format =
      config.timezone === 'UTC'
        ? undefined
        : new Intl.DateTimeFormat('en-US', {
            timeZone: config.timezone,
            weekday: 'short',
            hour: '2-digit',
            minute: '2-digit',
            hourCycle: 'h23',
          });
  }

  place(windowStart: number): WindowPlace {
    const known = this.places.get(windowStart);
    if (known !== undefined) return known;
    let day: number;
    let minuteOfDay: number;
    if (this.format === undefined) {
      day = utcDayOf(windowStart);
      minuteOfDay = Math.floor(timeOfDay(windowStart) / 60_000);
    } else {
      let weekday = '';
      let hour = 0;
      let minute = 0;
      for (const part of this.format.formatToParts(windowStart)) {
        if (part.type === 'weekday') weekday = part.value;
        else if (part.type === 'hour') hour = Number(part.value) % 24;
        else if (part.type === 'minute') minute = Number(part.value);
      }
      day = DAY_NAMES.indexOf(weekday as (typeof DAY_NAMES)[number]);
      minuteOfDay = hour * 60 + minute;
    }
    const hour = Math.floor(minuteOfDay / 60);
    const place: WindowPlace = {
      slot: hour + (this.weekend.has(day) ? 24 : 0),
      weekPhase: day * this.windowsPerDay + Math.floor(minuteOfDay / this.config.windowMinutes),
      label: `${DAY_NAMES[day]} ${String(hour).padStart(2, '0')}:${String(minuteOfDay % 60).padStart(2, '0')}`,
    };
    // Bounded: a long replay or a long-lived Lambda container sees new windows forever.
    if (this.places.size >= 20_000) this.places.clear();
    this.places.set(windowStart, place);
    return place;
  }

  /** Windows in each slot among `count` consecutive windows from `firstWindow`. */
  slotCounts(firstWindow: number, count: number, into = new Float64Array(PROFILE_SLOTS)): Float64Array {
    into.fill(0);
    const perWeek = 7 * this.windowsPerDay;
    const weeks = Math.floor(count / perWeek);
    // Whole weeks put a week's share into every slot (to within a daylight-saving hour).
    if (weeks > 0)
      for (let s = 0; s < PROFILE_SLOTS; s += 1) into[s] = weeks * perWeek * (this.shares[s] as number);
    for (let i = weeks * perWeek; i < count; i += 1) {
      const slot = this.slotOf(firstWindow + i * this.windowMs);
      into[slot] = (into[slot] as number) + 1;
    }
    return into;
  }

  /** place(windowStart).slot; in UTC by arithmetic (a zero-fill asks for up to a week of windows). */
  private slotOf(windowStart: number): number {
    if (this.format !== undefined) return this.place(windowStart).slot;
    const day = utcDayOf(windowStart);
    return Math.floor(timeOfDay(windowStart) / HOUR_MS) + (this.weekend.has(day) ? 24 : 0);
  }
}

/** The UTC weekday (0 Sunday) of a time, by arithmetic: 1 January 1970 was a Thursday (day 4). */
function utcDayOf(time: number): number {
  return (((Math.floor(time / DAY_MS) + 4) % 7) + 7) % 7;
}

const calendars = new Map<string, RhythmCalendar>();
const calendarOfConfig = new WeakMap<CalendarConfig, RhythmCalendar>();

/** The last configuration asked for and its calendar: asked for several times a source, the same one each time. */
let lastAsked: { config: CalendarConfig; calendar: RhythmCalendar } | undefined;

/** The calendar of a configuration (shared by every evaluation with the same settings). */
export function calendarOf(config: CalendarConfig): RhythmCalendar {
  if (lastAsked?.config === config) return lastAsked.calendar;
  const calendar = calendarFor(config);
  lastAsked = { config, calendar };
  return calendar;
}

function calendarFor(config: CalendarConfig): RhythmCalendar {
  const known = calendarOfConfig.get(config);
  if (known !== undefined) return known;
  const key = `${config.timezone}|${config.weekendDays.join(',')}|${config.windowMinutes}`;
  let calendar = calendars.get(key);
  if (calendar === undefined) {
    calendar = new RhythmCalendar(config);
    calendars.set(key, calendar);
  }
  calendarOfConfig.set(config, calendar);
  return calendar;
}

// ---------------------------------------------------------------------------------------------
// Learning the profile

type ProfileConfig = CalendarConfig & Pick<DetectorConfig, 'baselineWindow' | 'meanFloor'>;

/**
 * A slot's memory: the baseline window's share of windows in that slot (about 21 weekday and 9
 * weekend windows of a 720-window baseline), so every slot remembers about as long a time as
 * the flat baseline.
 */
function slotWindow(share: number, config: ProfileConfig): number {
  return Math.max(2, Math.round(config.baselineWindow * share));
}

/** Windows a slot has seen when the source has seen `dataPoints` (every slot in its share). */
function slotObservations(dataPoints: number, share: number): number {
  return Math.round(dataPoints * share);
}

/**
 * The profile after folding `fed` for the window at `windowStart` into its slot, given the
 * source's data points before this window: an exact mean of the slot's windows while it has
 * fewer than its slot window, then exponentially weighted.
 */
export function foldProfile(
  profile: string | undefined,
  windowStart: number,
  fed: number,
  dataPointsBefore: number,
  config: ProfileConfig,
): string {
  const calendar = calendarOf(config);
  const slot = calendar.place(windowStart).slot;
  const share = calendar.shares[slot] as number;
  const text = profile ?? UNSET_PROFILE;
  const old = valueOfCode(slotCode(text, slot));
  const seen = Math.max(1, slotObservations(dataPointsBefore, share));
  const next = Number.isNaN(old) ? fed : old + (fed - old) / Math.min(seen + 1, slotWindow(share, config));
  return withSlotCode(text, slot, codeOf(next));
}

/**
 * `profile` with one slot's code replaced. Spliced rather than rebuilt character by character
 * (this runs for every source of every window; a rebuild cost three times as much), then
 * flattened by reading it, so the result does not keep the old profile's text alive.
 */
function withSlotCode(profile: string, slot: number, code: number): string {
  const i = slot * CHARS_PER_SLOT;
  const spliced = profile.slice(0, i) + codeText(code) + profile.slice(i + CHARS_PER_SLOT);
  spliced.charCodeAt(0);
  return spliced;
}

/** The profile of a source whose slots were never observed (what a first fold starts from). */
export const UNSET_PROFILE = codeText(UNSET_CODE).repeat(PROFILE_SLOTS);
const zeroCounts = new Float64Array(PROFILE_SLOTS);

/**
 * The profile after `missed` zero windows following `lastWindow` (the recommended preset's lazy
 * zero-fill: the windows a source was absent from, assumed to be the ones right after its last
 * fold), in closed form per slot like foldZeros.
 */
export function profileWithZeros(
  profile: string | undefined,
  lastWindow: number,
  missed: number,
  dataPointsBefore: number,
  config: ProfileConfig,
): string | undefined {
  if (profile === undefined || missed <= 0) return profile;
  checkProfileLength(profile);
  const calendar = calendarOf(config);
  const counts = zeroSlotCounts(calendar, lastWindow + config.windowMinutes * 60_000, missed);
  return withZeroedSlots(profile, counts, (s, code, zeros) => {
    const value = valueOfCode(code);
    if (Number.isNaN(value) || value === 0) return ZERO_CODE;
    const share = calendar.shares[s] as number;
    const window = slotWindow(share, config);
    // A slot with a value has seen at least one window, whatever the rounding of its share says.
    const seen = Math.max(1, slotObservations(dataPointsBefore, share));
    let mean = value;
    const pooled = Math.min(zeros, Math.max(0, window - seen));
    if (pooled > 0) mean = (mean * seen) / (seen + pooled);
    const decaying = zeros - pooled;
    if (decaying > 0) mean *= Math.pow(1 - 1 / window, decaying);
    return codeOf(mean);
  });
}

/**
 * `text` (48 slots of codes) with each slot `counts` gives zeros to recoded by `recode` (the
 * slot, its code and its zeros in; its new code out). Only those slots change: a short absence
 * (the usual case) touches one or two, which are spliced in; a long one touches most, and the
 * text is written anew.
 */
function withZeroedSlots(
  text: string,
  counts: Float64Array,
  recode: (slot: number, code: number, zeros: number) => number,
): string {
  let touched = 0;
  for (let s = 0; s < PROFILE_SLOTS; s += 1) if ((counts[s] as number) > 0) touched += 1;
  if (touched === 0) return text;
  const rewrite = touched > SPLICED_SLOTS;
  let out = text;
  for (let s = 0; s < PROFILE_SLOTS; s += 1) {
    const zeros = counts[s] as number;
    const code = slotCode(text, s);
    const next = zeros > 0 ? recode(s, code, zeros) : code;
    if (rewrite) putCode(s, next);
    else if (next !== code) out = withSlotCode(out, s, next);
  }
  return rewrite ? builtProfile() : out;
}

/** Up to this many changed slots are spliced into a profile; more, and it is written anew. */
const SPLICED_SLOTS = 4;

/**
 * calendar.slotCounts for a stretch of missed windows, remembered for the next call: the flat
 * and within-hour zero-fills of one source ask for the same stretch one after the other. The
 * array is shared: read it before the next call.
 */
let lastZeros: { calendar: RhythmCalendar; first: number; count: number } | undefined;
function zeroSlotCounts(calendar: RhythmCalendar, first: number, count: number): Float64Array {
  if (lastZeros?.calendar !== calendar || lastZeros.first !== first || lastZeros.count !== count) {
    // Forgotten first: a count that stopped part-way must not be taken for the last one's.
    lastZeros = undefined;
    calendar.slotCounts(first, count, zeroCounts);
    lastZeros = { calendar, first, count };
  }
  return zeroCounts;
}

/**
 * How a source varies around its usual level for the hour, in two running means (weights as the
 * flat baseline's) over every window: `variance` of d^2 and `index` of d^2 / max(mu_s, 1), where
 * d is the window's distance from its slot's mean before that window and mu_s that mean; each
 * term is times n_s / (n_s + 1), since the slot mean's own noise adds 1 / n_s of the variance to
 * d^2. Together they fit variance = a mu + phi mu^2 per source (see rhythmModel): how the variance
 * divides between quiet and busy hours, which one number cannot tell (a day/night cycle puts it
 * in the busy hours, a nightly job's own spread belongs to its hour alone).
 */
export interface WithinHour {
  variance: number;
  index: number;
  /** Windows measured (they start once a slot has a mean, later than the flat baseline's). */
  count: number;
}

/** The within-hour statistics after folding `fed` for the window at `windowStart`. */
export function foldWithinHour(
  within: WithinHour | undefined,
  profile: string | undefined,
  windowStart: number,
  fed: number,
  dataPointsBefore: number,
  config: ProfileConfig,
): WithinHour | undefined {
  if (profile === undefined) return within;
  const calendar = calendarOf(config);
  const slot = calendar.place(windowStart).slot;
  const slotMean = valueOfCode(slotCode(profile, slot));
  if (Number.isNaN(slotMean)) return within;
  // A daily job's hour varies as the job's runs do (its slot's own spread, foldSlotSpread, is
  // their measure): kept out of the statistics the other hours' variance is fitted to.
  if (isDailyJobSlot(profile, slot, slotMean, config.meanFloor)) return within;
  const seen = Math.max(1, slotObservations(dataPointsBefore, calendar.shares[slot] as number));
  const d = fed - slotMean;
  let term = (d * d * seen) / (seen + 1);
  if (within === undefined) return quantizedWithin(term, term / Math.max(slotMean, 1), 1);
  if (d > 0 && within.count >= WITHIN_HOUR_OUTLIER_AFTER) {
    // The index at least Poisson's, as rhythmModel reads it: a source that has not varied yet
    // (an index of 0) would otherwise learn no rise at all.
    const level = Math.max(usualLevel(profile, slot, slotMean), 1);
    const cap = WITHIN_HOUR_OUTLIER * Math.max(within.index, 1) * level;
    if (term > cap) term = cap;
  }
  const index = term / Math.max(slotMean, 1);
  const weight = 1 / Math.min(within.count + 1, config.baselineWindow);
  return quantizedWithin(
    within.variance + (term - within.variance) * weight,
    within.index + (index - within.index) * weight,
    within.count + 1,
  );
}

/**
 * A window above its hour's usual level teaches the within-hour statistics at most this many times
 * the index's variance at that level (d^2 <= 50 max(I, 1) max(level, 1): about seven of its
 * standard deviations). Such a window is a burst, not how the source varies: a weekly job's first runs,
 * before it is learnt (the first most often in a source's first week, which the flat baseline
 * judges), were taken in full and left every other hour's variance several times too large for
 * weeks, so bursts of 5-10x a quiet hour were missed. A lasting change of spread is still learnt:
 * each window that passes the cap adds up to 50 times the variance it is weighed against. Zeros
 * fall below the mean and are never capped (withinHourWithZeros folds them in closed form).
 * Measured on the held-out review's fleets (9 seeds): hosts with a weekly job beside a nightly
 * one found 109 of 127 bursts at other hours, against 68 before and 124 without the jobs; 100
 * found 108, 25 found 111, but heavy-tailed hosts then paid 0.13 false alerts a day, 50 pays 0.06.
 */
const WITHIN_HOUR_OUTLIER = 50;
/** The cap applies from this many windows measured: before, the index is not yet a measure. */
const WITHIN_HOUR_OUTLIER_AFTER = 24;

/**
 * A slot's level for the outlier cap: its mean, or its busier neighbour's where that is lower. A
 * slot that stands above both neighbours only because a burst's first run raised its mean must
 * not raise its own cap (the second run of a weekly job then passed it by the first's height).
 */
function usualLevel(profile: string, slot: number, slotMean: number): number {
  const base = slot - (slot % 24);
  const earlier = valueOfCode(slotCode(profile, base + ((slot + 23) % 24)));
  const later = valueOfCode(slotCode(profile, base + ((slot + 1) % 24)));
  // A neighbour never seen says nothing; with neither, the slot's own mean.
  const neighbours = Number.isNaN(earlier) ? later : Number.isNaN(later) ? earlier : Math.max(earlier, later);
  return Number.isNaN(neighbours) ? slotMean : Math.min(slotMean, neighbours);
}

/** standsOut for a slot of a stored profile whose mean is `slotMean`: a daily job's hour. */
function isDailyJobSlot(profile: string, slot: number, slotMean: number, meanFloor: number): boolean {
  const base = slot - (slot % 24);
  const earlier = valueOfCode(slotCode(profile, base + ((slot + 23) % 24)));
  const later = valueOfCode(slotCode(profile, base + ((slot + 1) % 24)));
  return standsOut(slotMean, earlier, later, meanFloor);
}

/** On the profile's grid, like the slot means: the Lambda stores them, the replay keeps them, both alike. */
const quantizedWithin = (variance: number, index: number, count: number): WithinHour => ({
  variance: quantizeSlotMean(variance),
  index: quantizeSlotMean(index),
  count,
});

/**
 * The within-hour statistics after `missed` zero windows following `lastWindow` (the lazy
 * zero-fill, like profileWithZeros): each zero's distance is its slot's mean; in closed form with
 * their average, as foldZeros folds its zeros.
 */
export function withinHourWithZeros(
  within: WithinHour | undefined,
  profile: string | undefined,
  lastWindow: number,
  missed: number,
  dataPointsBefore: number,
  config: ProfileConfig,
): WithinHour | undefined {
  // (A source blocked only at its daily job's hour has no statistics but its zeros: they start them.)
  if (profile === undefined || missed <= 0) return within;
  const calendar = calendarOf(config);
  const counts = zeroSlotCounts(calendar, lastWindow + config.windowMinutes * 60_000, missed);
  checkProfileLength(profile);
  let sumVariance = 0;
  let sumIndex = 0;
  let zeros = 0;
  for (let s = 0; s < PROFILE_SLOTS; s += 1) {
    const k = counts[s] as number;
    if (k <= 0) continue;
    const v = valueOfCode(slotCode(profile, s));
    if (Number.isNaN(v) || isDailyJobSlot(profile, s, v, config.meanFloor)) continue;
    const seen = Math.max(1, slotObservations(dataPointsBefore, calendar.shares[s] as number));
    const term = (v * v * seen) / (seen + 1);
    sumVariance += k * term;
    sumIndex += (k * term) / Math.max(v, 1);
    zeros += k;
  }
  if (zeros === 0) return within;
  const window = config.baselineWindow;
  let { variance, index } = within ?? { variance: 0, index: 0 };
  const n = within?.count ?? 0;
  const pooled = Math.min(zeros, Math.max(0, window - n - 1));
  if (pooled > 0) {
    variance = (variance * n + (sumVariance / zeros) * pooled) / (n + pooled);
    index = (index * n + (sumIndex / zeros) * pooled) / (n + pooled);
  }
  const decaying = zeros - pooled;
  if (decaying > 0) {
    const keep = Math.pow(1 - 1 / window, decaying);
    variance = keep * variance + ((1 - keep) * sumVariance) / zeros;
    index = keep * index + ((1 - keep) * sumIndex) / zeros;
  }
  return quantizedWithin(variance, index, n + zeros);
}

// ---------------------------------------------------------------------------------------------
// A slot's own spread

/**
 * How much one slot's windows vary around its own mean, kept as the profile is (Baseline.slotSpread):
 * per slot, the running mean of d^2 n / (n + 1) over its windows, d the window's distance from
 * the slot's mean before it and n the slot's windows seen (the same term as foldWithinHour's).
 * The within-hour fit gives every hour a variance from one curve (a mu + phi mu^2); an hour that
 * varies on its own terms, such as the last, partial hour of a backup whose length varies (none
 * of it one night, all of it the next), does not lie on that curve, and its full nights would
 * look like spikes. rhythmModel takes this spread where it clearly exceeds the curve's.
 *
 * A slot's spread weighs its windows as its mean does: an exact mean while it has fewer than its
 * slot window, then exponentially weighted.
 */
export function foldSlotSpread(
  slotSpread: string | undefined,
  profile: string | undefined,
  windowStart: number,
  fed: number,
  dataPointsBefore: number,
  config: ProfileConfig,
): string | undefined {
  if (profile === undefined) return slotSpread;
  const calendar = calendarOf(config);
  const slot = calendar.place(windowStart).slot;
  const slotMean = valueOfCode(slotCode(profile, slot));
  // A slot with no mean yet has no distance to measure: its first window sets the mean.
  if (Number.isNaN(slotMean)) return slotSpread;
  const share = calendar.shares[slot] as number;
  const seen = Math.max(1, slotObservations(dataPointsBefore, share));
  const d = fed - slotMean;
  const term = (d * d * seen) / (seen + 1);
  const text = slotSpread ?? UNSET_PROFILE;
  const old = valueOfCode(slotCode(text, slot));
  // `seen` windows before this one, the first of which only set the mean: this is the slot's
  // `seen`-th distance.
  const next = Number.isNaN(old) ? term : old + (term - old) / Math.min(seen, slotWindow(share, config));
  return withSlotCode(text, slot, codeOf(next));
}

/**
 * The slots' spreads after `missed` zero windows following `lastWindow` (the lazy zero-fill, like
 * profileWithZeros): each zero's distance is its slot's mean, in closed form per slot (exact
 * pooling while the slot has fewer distances than its slot window, then a factor a window).
 */
export function slotSpreadWithZeros(
  slotSpread: string | undefined,
  profile: string | undefined,
  lastWindow: number,
  missed: number,
  dataPointsBefore: number,
  config: ProfileConfig,
): string | undefined {
  if (slotSpread === undefined || profile === undefined || missed <= 0) return slotSpread;
  checkProfileLength(slotSpread);
  checkProfileLength(profile);
  const calendar = calendarOf(config);
  const counts = zeroSlotCounts(calendar, lastWindow + config.windowMinutes * 60_000, missed);
  return withZeroedSlots(slotSpread, counts, (s, code, zeros) => {
    const slotMean = valueOfCode(slotCode(profile, s));
    if (Number.isNaN(slotMean)) return code;
    const share = calendar.shares[s] as number;
    const window = slotWindow(share, config);
    const seen = Math.max(1, slotObservations(dataPointsBefore, share));
    const term = (slotMean * slotMean * seen) / (seen + 1);
    const old = valueOfCode(code);
    // The distances the slot's spread holds: one fewer than its windows (the first set the mean).
    const held = Number.isNaN(old) ? 0 : seen - 1;
    let spread = Number.isNaN(old) ? term : old;
    const pooled = Math.min(zeros, Math.max(0, window - held));
    if (pooled > 0) spread = (spread * held + term * pooled) / (held + pooled);
    const decaying = zeros - pooled;
    if (decaying > 0) {
      const keep = Math.pow(1 - 1 / window, decaying);
      spread = keep * spread + (1 - keep) * term;
    }
    return codeOf(spread);
  });
}

// ---------------------------------------------------------------------------------------------
// The expectation for a window

export interface RhythmModel {
  /** Expected count for the window. */
  mean: number;
  /** Its variance: the hour's (a mean + phi mean^2) plus the expectation's own estimation error. */
  variance: number;
  /** The hour's variance is a mean + phi mean^2. */
  a: number;
  phi: number;
  /** Relative variance of the expectation as an estimate (its error over mean^2). */
  relativeVariance: number;
  /** Windows the hour's variance rests on: those of the slots at a level like this hour's. */
  samples: number;
  /**
   * The hour's usual count when it stands far above both neighbouring hours (DAILY_JOB_PROMINENCE
   * x): a daily job that the profile has learnt as the hour's level.
   */
  dailyJob?: number;
  /**
   * A daily job moved by an hour (one on UTC time when the clocks change, a rescheduled cron):
   * while the profile moves it over, its level is split between this hour and a neighbouring one,
   * the two together DAILY_JOB_PROMINENCE x the hours on either side of them. Their sum, the
   * job's size; only where this hour alone is no daily job.
   */
  movedDailyJob?: number;
  /**
   * With `dailyJob`: its slot's own spread (Baseline.slotSpread), how much the job's runs vary
   * from night to night (skipped nights included); absent where the source keeps none.
   */
  dailyJobSpread?: number;
  /** With `dailyJobSpread`: the windows it rests on (the slot's effective sample size). */
  dailyJobSamples?: number;
  /**
   * The variance from the hour's curve alone, without the slot's own spread (equal to `variance`
   * where the spread is not taken): what the source's own tail is scored against (detect.ts).
   */
  curveVariance: number;
}

const modelValues = new Float64Array(PROFILE_SLOTS);
/**
 * How far (in standard deviations of its noise) the slot means' spread must exceed what noise
 * alone gives before it counts as a rhythm. Over-dispersed counts make that spread's tail heavier
 * than the normal theory behind the standard deviation, hence a wide margin.
 */
const RHYTHM_EVIDENCE = 4;
/** An hour at this multiple of both neighbouring hours is a daily job's (see RhythmModel.dailyJob). */
const DAILY_JOB_PROMINENCE = 5;

/**
 * Whether a slot mean stands at DAILY_JOB_PROMINENCE x both neighbouring hours of its day type
 * (each at least meanFloor): a daily job's hour (RhythmModel.dailyJob). False where any is unset.
 */
function standsOut(value: number, earlier: number, later: number, meanFloor: number): boolean {
  return (
    value >= DAILY_JOB_PROMINENCE * Math.max(earlier, meanFloor) &&
    value >= DAILY_JOB_PROMINENCE * Math.max(later, meanFloor)
  );
}

/** standsOut for slot `s` of decoded slot means. */
function isDailyJobHour(values: Float64Array, s: number, meanFloor: number): boolean {
  const base = s - (s % 24);
  return standsOut(
    values[s] as number,
    values[base + ((s + 23) % 24)] as number,
    values[base + ((s + 1) % 24)] as number,
    meanFloor,
  );
}
/** Slots within this factor of an hour's level inform its variance (see rhythmModel). */
const SIMILAR_LEVEL = 3;
/** Standard errors above a slot's estimate at which its own sampling error is taken. */
const NOISE_MARGIN = 2;
/**
 * Standard deviations of its own noise (sqrt(2 / n) of a variance over n windows) by which a
 * slot's spread must exceed the hour's curve before it is the hour's variance: below that, a slot
 * that varies more by chance would make its hour quieter than it is.
 */
const SLOT_SPREAD_EVIDENCE = 2;

/** The daily jobs' hours (1; isDailyJobHour) where there is one, else undefined. */
function dailyJobHours(
  values: Float64Array,
  shares: Float64Array,
  meanFloor: number,
): Uint8Array | undefined {
  let jobs: Uint8Array | undefined;
  for (let s = 0; s < PROFILE_SLOTS; s += 1) {
    if (shares[s] === 0 || !isDailyJobHour(values, s, meanFloor)) continue;
    jobs ??= jobHoursScratch.fill(0);
    jobs[s] = 1;
  }
  return jobs;
}
const jobHoursScratch = new Uint8Array(PROFILE_SLOTS);

/**
 * The expected count and variance for the window in `slot`, or undefined when the profile holds
 * no rhythm worth using (too young, a slot never seen, or no spread beyond sampling noise): the
 * flat baseline then decides, exactly as without rhythm.
 *
 * `variance`, `dataPoints`: the flat baseline's (zeros folded); `profile`: its slot means.
 */
export function rhythmModel(
  profile: string | undefined,
  withinHour: WithinHour | undefined,
  variance: number,
  dataPoints: number,
  slot: number,
  config: ProfileConfig & Pick<DetectorConfig, 'rhythmMinDays' | 'meanFloor'>,
  slotSpread?: string,
): RhythmModel | undefined {
  const calendar = calendarOf(config);
  if (profile === undefined || withinHour === undefined) return undefined;
  if (dataPoints < config.rhythmMinDays * calendar.windowsPerDay) return undefined;
  const values = decodeProfile(profile, modelValues);
  const shares = calendar.shares;
  // Another hour than a daily job's is judged without the daily jobs' hours (isDailyJobHour; the
  // job's own rules and its slot's spread judge those): a source whose only rhythm is a nightly
  // job is flat at every other hour, and their level is the mean of all of them, not each hour's
  // own few weeks. Taken for a rhythm, the job would make every other hour's expectation as
  // uncertain as one slot's, and miss bursts of 10x a quiet hour's level there.
  const dailyJob = isDailyJobHour(values, slot, config.meanFloor) ? (values[slot] as number) : undefined;
  const jobHours = dailyJob === undefined ? dailyJobHours(values, shares, config.meanFloor) : undefined;
  const leaveOut = jobHours !== undefined;
  let shareSum = 0;
  let weighted = 0;
  let squares = 0;
  for (let s = 0; s < PROFILE_SLOTS; s += 1) {
    const share = shares[s] as number;
    if (share === 0 || (leaveOut && jobHours[s] === 1)) continue;
    const v = values[s] as number;
    // (A slot never seen is no daily job's hour: standsOut is false beside it too.)
    if (Number.isNaN(v)) return undefined;
    shareSum += share;
    weighted += share * v;
    squares += share * v * v;
  }
  // The other hours' shares as a whole (1 with no hour left out: the calendar's shares sum to 1;
  // never 0, as no two neighbouring hours can each stand at 5x the other).
  const whole = leaveOut ? shareSum : 1;
  weighted /= whole;
  squares /= whole;
  // (Other hours all at zero, beside a daily job, are a level too.)
  if (!(weighted > 0) && !leaveOut) return undefined;
  // B: spread of the slot means; C: the share-weighted 1 / effective sample size of a slot mean
  // (what noise alone adds to B per unit of variance), and D its square, for B's own spread;
  // E: the same for the share-weighted mean of the slot means (its own error per unit of variance).
  const between = Math.max(0, squares - weighted * weighted);
  let noiseWeight = 0;
  let noiseSquares = 0;
  let meanNoise = 0;
  for (let s = 0; s < PROFILE_SLOTS; s += 1) {
    const share = shares[s] as number;
    if (share === 0 || (leaveOut && jobHours[s] === 1)) continue;
    const samples = effectiveSamples(dataPoints, share, config);
    const w = share / whole / samples;
    noiseWeight += w;
    noiseSquares += w * w;
    meanNoise += (share / whole) * w;
  }
  if (!(noiseWeight < 0.8)) return undefined;
  // W, the variance within an hour, measured (foldWithinHour); at most the flat variance.
  const within = Math.max(Math.min(withinHour.variance, variance), weighted);
  // Without a rhythm B is noise: about W C, give or take sqrt(2 D) W. Only a spread well beyond
  // that is a rhythm: a flat source whose slot means differ by chance keeps its flat baseline
  // (used anyway, chance differences would make some hours look quieter than they are). Without
  // its daily jobs' hours a source with no other rhythm is flat: the mean of its other hours.
  const rhythmic = between > within * (noiseWeight + RHYTHM_EVIDENCE * Math.sqrt(2 * noiseSquares));
  if (!rhythmic && !leaveOut) return undefined;
  // B = tau^2 + W C (positive where B is a rhythm: W C is less than the bar above).
  const tau2 = rhythmic ? between - within * noiseWeight : 0;
  // The hour's variance as a mu + phi mu^2, fitted to the measured E[d^2] = W = a m + phi E[mu^2]
  // and E[d^2 / mu] = I = a + phi m: phi = (W - I m) / (E[mu^2] - m^2). Then a >= 1 (at least
  // Poisson), phi >= 0, and a raised if need be so the hours' average is still W. Flat but for
  // its jobs, the hours vary as W says, at a level that does not vary: W = a m.
  const index = Math.max(withinHour.index, 1);
  let phi = 0;
  let a: number;
  if (tau2 > 0) {
    phi = Math.max(0, (within - index * weighted) / Math.max(between, Number.EPSILON));
    a = Math.max(1, index - phi * weighted);
    if (a * weighted + phi * squares < within) a = (within - phi * squares) / weighted;
    if (!(a >= 1)) a = 1;
    if (!Number.isFinite(phi)) phi = 0;
  } else {
    a = Math.max(1, within / Math.max(weighted, config.meanFloor));
  }
  const slotMean = values[slot] as number;
  const share = shares[slot] as number;
  // Sampling variance of this slot's mean, taken at an upper bound of the hour's rate: computed
  // at the estimate itself, an hour estimated too low would also look too certain, exactly where
  // a false alert waits. A slot seen only at zero is not known to be zero either.
  const slotSamples = effectiveSamples(dataPoints, share, config);
  const estimate = Math.max(slotMean, config.meanFloor);
  // The slot's own spread (foldSlotSpread). A daily job's hour is not in the within-hour
  // statistics the curve is fitted to (foldWithinHour), so the curve, a quieter hour's variance
  // carried to the job's level, says nothing of it: there the slot's own spread, how the job's
  // runs vary, is the hour's variance (the curve's at the least), for its slot mean's error too.
  const own = slotSpread === undefined ? Number.NaN : valueOfCode(slotCode(slotSpread, slot));
  const jobPhi =
    dailyJob !== undefined && own > a * estimate + phi * estimate * estimate
      ? (own - a * estimate) / (estimate * estimate)
      : phi;
  const rate =
    estimate + NOISE_MARGIN * Math.sqrt((a * estimate + jobPhi * estimate * estimate) / slotSamples);
  const noise = (a * rate + jobPhi * rate * rate) / slotSamples;
  const weight = tau2 / (tau2 + noise);
  // The slot means themselves, not rescaled to the flat mean: the two have different memories
  // (a slot remembers its own last few weeks, the flat mean every window, capped spikes of the
  // first days included), and tracking a change of level the slot means are as quick. Flat but
  // for its jobs, the mean of the other hours, with that mean's own error.
  const expected = Math.max(0, weighted + weight * (slotMean - weighted));
  const estimateVariance = tau2 > 0 ? weight * noise : within * meanNoise;
  // The windows this hour's variance is learnt from: those at a level like this hour's (within a
  // factor of 3). A busy hour's spread comes from the busy hours, a quiet hour's from the quiet
  // ones, a nightly job's from its own hour alone.
  const level = Math.max(expected, config.meanFloor);
  let similar = 0;
  for (let s = 0; s < PROFILE_SLOTS; s += 1) {
    const share = shares[s] as number;
    const v = Math.max(values[s] as number, config.meanFloor);
    if (share > 0 && v * SIMILAR_LEVEL >= level && v <= level * SIMILAR_LEVEL) similar += share;
  }
  const samples = Math.max(2, Math.min(withinHour.count, config.baselineWindow) * similar);
  const base = slot - (slot % 24);
  let movedDailyJob: number | undefined;
  if (dailyJob === undefined) {
    const at = (offset: number) => values[base + ((slot + 24 + offset) % 24)] as number;
    const floor = (v: number) => Math.max(v, config.meanFloor);
    for (const [neighbour, before, after] of [
      [at(-1), at(-2), at(1)],
      [at(1), at(-1), at(2)],
    ] as const) {
      const pair = slotMean + neighbour;
      if (pair >= DAILY_JOB_PROMINENCE * floor(before) && pair >= DAILY_JOB_PROMINENCE * floor(after))
        movedDailyJob = Math.max(movedDailyJob ?? 0, pair);
    }
  }
  // The slot's own spread, where it is clearly beyond the curve's variance for this hour (by
  // SLOT_SPREAD_EVIDENCE standard deviations of a variance estimated from the slot's windows;
  // at a daily job's hour, which the curve knows nothing of, where it is beyond it at all):
  // then this hour's variance is its own, as phi for this hour (the tail, tail-probability.ts
  // meanUncertainTail, is computed from a and phi). Flat but for its jobs, the other hours are
  // one level, as a flat source's hours are, and none has a spread of its own: over so many
  // hours some slot's spread passes that bar by chance.
  const curveVariance = a * expected + phi * expected * expected;
  const distances = Math.max(1, slotSamples - 1);
  const evidence = dailyJob === undefined ? 1 + SLOT_SPREAD_EVIDENCE * Math.sqrt(2 / distances) : 1;
  const hourPhi =
    tau2 > 0 && expected > 0 && own > curveVariance * evidence
      ? (own - a * expected) / (expected * expected)
      : phi;
  return {
    ...(dailyJob === undefined ? {} : { dailyJob }),
    ...(dailyJob !== undefined && own >= 0 ? { dailyJobSpread: own, dailyJobSamples: slotSamples } : {}),
    ...(movedDailyJob === undefined ? {} : { movedDailyJob }),
    samples,
    mean: expected,
    variance: a * expected + hourPhi * expected * expected + estimateVariance,
    curveVariance: curveVariance + estimateVariance,
    a,
    phi: hourPhi,
    relativeVariance: expected > 0 ? estimateVariance / (expected * expected) : 0,
  };
}

/**
 * Effective sample size of a slot mean: its windows while it is an exact mean, then about
 * 2 N_s - 1 for an exponentially weighted mean with weight 1 / N_s.
 */
function effectiveSamples(dataPoints: number, share: number, config: ProfileConfig): number {
  const window = slotWindow(share, config);
  return Math.max(1, Math.min(slotObservations(dataPoints, share), 2 * window - 1));
}

// ---------------------------------------------------------------------------------------------
// Recurring jobs

export type JobPeriod = 'daily' | 'weekly' | 'monthly';

export interface RecurringJob {
  /** Window of the local week of its first occurrence (see WindowPlace.weekPhase). */
  phase: number;
  /** Known after a second occurrence. */
  period?: JobPeriod;
  /** Usual count of an occurrence (a running mean of the last few). */
  size: number;
  /** Occurrences seen. */
  occurrences: number;
  /** Start of the window of the last occurrence. */
  last: number;
  /**
   * How much its occurrences vary: the running mean of the squared difference between each
   * occurrence and the size expected before it (over the last SPREAD_MEMORY or so), with
   * `spreadRuns` the occurrences it rests on (at most SPREAD_MEMORY). Absent until a second
   * occurrence, and in jobs kept before it was.
   */
  spread?: number;
  spreadRuns?: number;
}

/** Jobs kept per source: few sources run more than a couple of blocked jobs. */
export const MAX_JOBS = 4;
/** A daily job may skip a weekend or a holiday; after this it is forgotten. */
const DAILY_GAP_DAYS = 7;
/** A weekly job may skip a few weeks. */
const WEEKLY_GAP_WEEKS = 5;
/**
 * A monthly job runs again 28-31 days later (the 1st of each month, a report on the 15th) and may
 * skip a month; after that it is forgotten.
 */
const MONTH_MIN_DAYS = 28;
const MONTH_MAX_DAYS = 31;
/** A job on a weekday of each month (the second Tuesday) runs four or five weeks apart. */
const MONTH_MAX_WEEKS = 5;
const MONTHLY_SKIPS = 1;
/**
 * A burst seen once is kept this long for a second occurrence, as long as a weekly job may skip
 * weeks: its first occurrences often fall where a young or noisy baseline cannot tell them from
 * noise, and a shorter wait measurably cost weekly jobs their learning (bench/rhythmic-fleet.ts).
 */
const CANDIDATE_DAYS = 7 * WEEKLY_GAP_WEEKS;
/** Occurrence sizes are averaged over about this many of the latest. */
const SIZE_MEMORY = 4;
/**
 * A job's spread is averaged over about this many of its latest occurrences: more than its size,
 * as a variance needs more runs than a mean, and a job that changes its size moves its size
 * first (a run of the new size is far from the old one, and widens the spread for a while).
 */
export const SPREAD_MEMORY = 8;

export interface JobMatch {
  job: RecurringJob;
  index: number;
  period: JobPeriod;
  /**
   * The job's phase from this occurrence on, where it moved: a job on UTC time whose local
   * window of the week (weekly) or of the day (daily) changed with the clocks.
   */
  phase?: number;
}

/**
 * The job this window is an occurrence of, by time only (size is the caller's test): a known
 * weekly job at the same window of the week within five weeks, a known daily one at the same
 * window of the day within a week, a known monthly one at the same window of the day 28-31 days
 * later (or 56-62, a month skipped) or, on a weekday of the month, at the same window of the week
 * four or five weeks later (eight to ten, a month skipped); a job seen once matches a whole
 * number of weeks later at the same time of week (weekly; four weeks is monthly), one to three
 * days later at the same time of day (daily) or 28-31 days later at the same time of day
 * (monthly: the 1st of each month). A job also matches exactly a whole number of weeks (weekly)
 * or days (daily, monthly) later in UTC, wherever that falls in the local week: a job on UTC time
 * after the clocks change in the zone, which then takes its new phase (JobMatch.phase). The best
 * match wins: an established job before a one-off, the same time of week before the same time of
 * day, so that a stray burst at another day's same hour cannot take a weekly job's place.
 */
export function matchJob(
  jobs: readonly RecurringJob[] | undefined,
  windowStart: number,
  weekPhase: number,
  windowsPerDay: number,
): JobMatch | undefined {
  if (jobs === undefined) return undefined;
  const dayPhase = weekPhase % windowsPerDay;
  let best: JobMatch | undefined;
  let bestRank = 0;
  for (let index = 0; index < jobs.length; index += 1) {
    const job = jobs[index]!;
    const gap = windowStart - job.last;
    if (gap < DAY_MS - HOUR_MS) continue; // a day at the least (23 h over a DST change); not the repeated hour
    let period: JobPeriod | undefined;
    const sameTimeOfDay = job.phase % windowsPerDay === dayPhase || gap % DAY_MS === 0;
    const sameTimeOfWeek = job.phase === weekPhase || gap % WEEK_MS === 0;
    // Weekly: the same window of the local week, or exactly whole weeks later in UTC. A job seen
    // once and run again four weeks later is taken as monthly (below): a monthly job first seen
    // in February, or one every four weeks, is far likelier than a weekly one that skipped three
    // weeks straight after its first run (which then costs one more run to learn).
    const fourWeeksAfterFirst =
      job.period === undefined && Math.abs(gap - MONTH_MIN_DAYS * DAY_MS) <= HOUR_MS;
    if (
      job.period !== 'daily' &&
      job.period !== 'monthly' &&
      !fourWeeksAfterFirst &&
      gap <= WEEKLY_GAP_WEEKS * WEEK_MS + HOUR_MS &&
      sameTimeOfWeek
    ) {
      period = 'weekly';
    } else if (sameTimeOfDay && job.period !== 'weekly' && job.period !== 'monthly') {
      // Daily: the same window of the local day, or exactly whole days later in UTC.
      const limit = job.period === 'daily' ? DAILY_GAP_DAYS : 3;
      if (gap <= limit * DAY_MS + HOUR_MS) period = 'daily';
    }
    // Monthly: the same window of the local day a month later (28-31 days, two months for a
    // known monthly job that skipped one), or exactly whole days later in UTC. A known monthly job
    // on a weekday of the month (the second Tuesday's patches, the first Monday's report) runs
    // four or five weeks later at the same time of week.
    if (period === undefined && sameTimeOfDay && (job.period === undefined || job.period === 'monthly')) {
      const months = job.period === 'monthly' ? 1 + MONTHLY_SKIPS : 1;
      const weekdayOfMonth = job.period === 'monthly' && sameTimeOfWeek;
      for (let k = 1; k <= months; k += 1) {
        const from = k * MONTH_MIN_DAYS * DAY_MS - HOUR_MS;
        const to = weekdayOfMonth ? k * MONTH_MAX_WEEKS * WEEK_MS : k * MONTH_MAX_DAYS * DAY_MS;
        if (gap >= from && gap <= to + HOUR_MS) period = 'monthly';
      }
    }
    if (period === undefined) continue;
    const rank = job.occurrences * 4 + (period === 'weekly' ? 2 : 0) + (job.period !== undefined ? 1 : 0);
    if (rank > bestRank) {
      const moved = period === 'weekly' ? job.phase !== weekPhase : job.phase % windowsPerDay !== dayPhase;
      best = moved ? { job, index, period, phase: weekPhase } : { job, index, period };
      bestRank = rank;
    }
  }
  return best;
}

/** The jobs after an occurrence of `match` of size `x` at `windowStart`. */
export function recordOccurrence(
  jobs: readonly RecurringJob[],
  match: JobMatch,
  x: number,
  windowStart: number,
): RecurringJob[] {
  const next = [...jobs];
  const { job } = match;
  const occurrences = job.occurrences + 1;
  // The size is a mean of about `sized` occurrences: a new one differs from it by its own spread
  // and the mean's error, (1 + 1 / sized) times the spread.
  const sized = Math.min(job.occurrences, SIZE_MEMORY);
  const deviation = x - job.size;
  const squared = (deviation * deviation * sized) / (sized + 1);
  const spreadRuns = Math.min((job.spreadRuns ?? 0) + 1, SPREAD_MEMORY);
  const spread = job.spread === undefined ? squared : job.spread + (squared - job.spread) / spreadRuns;
  next[match.index] = {
    phase: match.phase ?? job.phase,
    period: match.period,
    size: Math.round(job.size + (x - job.size) / Math.min(occurrences, SIZE_MEMORY)),
    occurrences,
    last: windowStart,
    spread: Math.round(spread),
    spreadRuns,
  };
  return next;
}

/**
 * The jobs after a grown occurrence of `match` at `windowStart` (detect.ts, isGrownRun): counted
 * as a run of `factor` x the job's size, its spread kept as it was. A job that has grown for good
 * then stops alerting after a run or two (as a daily job the profile holds does) instead of at
 * every run until it is forgotten, which also ends a stream of alerts on a job first learnt from
 * two runs far below its usual size; a one-off burst moves the size by a third at most (a
 * quarter from the job's fourth run on), which its next runs take back, and leaves how much its
 * runs vary, and so its next growth's bound, as it was.
 */
export function recordGrownOccurrence(
  jobs: readonly RecurringJob[],
  match: JobMatch,
  windowStart: number,
  factor: number,
): RecurringJob[] {
  const next = recordOccurrence(jobs, match, factor * match.job.size, windowStart);
  const { spread: _spread, spreadRuns: _runs, ...counted } = next[match.index]!;
  const { spread, spreadRuns } = match.job;
  next[match.index] = spread === undefined ? counted : { ...counted, spread, spreadRuns };
  return next;
}

/** The jobs with a first occurrence of a burst of `x` at `windowStart` added (a candidate). */
export function addCandidate(
  jobs: readonly RecurringJob[] | undefined,
  x: number,
  windowStart: number,
  weekPhase: number,
): RecurringJob[] {
  const next = [...(jobs ?? [])];
  const candidate: RecurringJob = {
    phase: weekPhase,
    size: Math.round(x),
    occurrences: 1,
    last: windowStart,
  };
  if (next.length < MAX_JOBS) {
    next.push(candidate);
    return next;
  }
  // Full: replace the least established (fewest occurrences, then the longest unseen).
  let weakest = 0;
  for (let i = 1; i < next.length; i += 1) {
    const a = next[i]!;
    const b = next[weakest]!;
    if (a.occurrences < b.occurrences || (a.occurrences === b.occurrences && a.last < b.last)) weakest = i;
  }
  next[weakest] = candidate;
  return next;
}

/** Jobs not seen for longer than they may skip are forgotten; undefined when none is left. */
export function liveJobs(
  jobs: readonly RecurringJob[] | undefined,
  windowStart: number,
): RecurringJob[] | undefined {
  if (jobs === undefined) return undefined;
  const live = jobs.filter((job) => {
    const gap = windowStart - job.last;
    const limit =
      job.occurrences < 2
        ? CANDIDATE_DAYS * DAY_MS
        : job.period === 'daily'
          ? DAILY_GAP_DAYS * DAY_MS
          : job.period === 'monthly'
            ? (1 + MONTHLY_SKIPS) * MONTH_MAX_WEEKS * WEEK_MS
            : WEEKLY_GAP_WEEKS * WEEK_MS;
    return gap <= limit + HOUR_MS;
  });
  if (live.length === jobs.length) return jobs as RecurringJob[];
  return live.length > 0 ? live : undefined;
}
