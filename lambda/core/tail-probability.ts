/**
 * P(X >= x) for this window's count under the baseline's model: negative binomial with the
 * baseline's mean and variance, or Poisson when the variance does not exceed the mean (or exceeds
 * it by so little that the two are the same, see MAX_NEGATIVE_BINOMIAL_SIZE).
 *
 * Upper tails come straight from the regularised incomplete beta and gamma functions (stdlib),
 * not from 1 - CDF, so tiny probabilities keep their precision.
 */
import betainc from '@stdlib/math-base-special-betainc';
import gammainc from '@stdlib/math-base-special-gammainc';
import gammaln from '@stdlib/math-base-special-gammaln';

export function upperTailProbability(x: number, mean: number, variance: number, meanFloor: number): number {
  if (!(x > 0)) return 1;
  const m = Math.max(mean, meanFloor);
  const k = Math.ceil(x);
  const r = negativeBinomialSize(m, variance);
  if (r === undefined) {
    // Poisson(m): P(X >= k) = P(k, m), the regularised lower incomplete gamma.
    return clamp(gammainc(m, k, true, false));
  }
  // Negative binomial with success probability p = m / v and size r = m^2 / (v - m):
  // P(X >= k) = 1 - I_p(r, k), the upper regularised incomplete beta.
  return clamp(betainc(m / variance, r, k, true, true));
}

/**
 * A negative binomial's size is at most this; above it the model is taken as Poisson. A variance
 * a hair above the mean (v - m < m^2 / 1e8) gives a size so large that the incomplete beta and the
 * log-gamma difference lose their digits (at r = 1e16 the point probability came out 1e39 times
 * too large, which made a larger count look less unusual than a smaller one), while the
 * distribution is Poisson's to within about 1e-3 of its tail at the counts that decide a spike.
 */
const MAX_NEGATIVE_BINOMIAL_SIZE = 1e8;

/** The size r = m^2 / (v - m) of the negative binomial with mean m and variance v; undefined for Poisson. */
function negativeBinomialSize(m: number, variance: number): number | undefined {
  if (!(variance > m)) return undefined;
  const r = (m * m) / (variance - m);
  return r <= MAX_NEGATIVE_BINOMIAL_SIZE ? r : undefined;
}

/**
 * P(X = ceil(x)) under the same model as upperTailProbability: a lower bound on that tail
 * (P(X >= k) >= P(X = k)) for a tenth of its cost (log-gammas instead of an incomplete beta).
 * A count whose point probability alone is far above the spike threshold cannot be a spike, so
 * its tail need not be computed (most counts above their mean are of that kind).
 */
export function pointProbability(x: number, mean: number, variance: number, meanFloor: number): number {
  const m = Math.max(mean, meanFloor);
  const k = Math.max(0, Math.ceil(x));
  const r = negativeBinomialSize(m, variance);
  if (r === undefined) return clamp(Math.exp(k * Math.log(m) - m - logFactorial(k)));
  // Negative binomial (size r, success probability p, as above): C(k + r - 1, k) p^r (1 - p)^k.
  const p = m / variance;
  return clamp(
    Math.exp(gammaln(k + r) - gammaln(r) - logFactorial(k) + r * Math.log(p) + k * Math.log1p(-p)),
  );
}

/**
 * Whether P(X > x) + weight x P(X = x) under the same model as upperTailProbability is certainly
 * at least `level`, from its first few terms: P(X = x) and then P(X = j + 1) = P(X = j) times
 * (j + r) (1 - p) / (j + 1) (Poisson: m / (j + 1)). A lower bound, so `true` is certain (a
 * margin of 1e-6 covers the rounding of either path); `false` means "not shown", and the caller
 * computes the tail. Most counts a little past their mean show it within a few terms, at the
 * cost of one point probability instead of an incomplete beta.
 */
export function tailReaches(
  x: number,
  weight: number,
  mean: number,
  variance: number,
  meanFloor: number,
  level: number,
): boolean {
  const goal = level * (1 + 1e-6);
  const m = Math.max(mean, meanFloor);
  const k = Math.max(0, Math.ceil(x));
  const r = negativeBinomialSize(m, variance);
  let term = pointProbability(x, mean, variance, meanFloor);
  let sum = weight * term;
  for (let j = k; j < k + TAIL_TERMS && sum < goal && term > 0; j += 1) {
    term *= r === undefined ? m / (j + 1) : ((j + r) * (1 - m / variance)) / (j + 1);
    sum += term;
  }
  return sum >= goal;
}

/** Terms tailReaches adds before it gives up: enough for a count within a few deviations of its mean. */
const TAIL_TERMS = 24;

/** log(k!) for the small counts most windows have, kept once computed (NaN: not yet). */
const LOG_FACTORIALS = new Float64Array(4096).fill(Number.NaN);

/**
 * gammaln(k + 1) for a whole k >= 0: the replay asks for the same few hundred counts tens of
 * thousands of times, so they are remembered (the same values: gammaln is deterministic).
 */
export function logFactorial(k: number): number {
  if (k < LOG_FACTORIALS.length) {
    const known = LOG_FACTORIALS[k] as number;
    if (!Number.isNaN(known)) return known;
    return (LOG_FACTORIALS[k] = gammaln(k + 1));
  }
  return gammaln(k + 1);
}

/**
 * The tail probability corrected for the baseline being an estimate from `effectiveSamples`
 * windows rather than the true model.
 *
 * Plugging estimated moments into the model understates far tails: where the variance happens
 * to be underestimated, P(X >= x) is too small by a factor that grows with the distance into the
 * tail, and averaged over sources these errors do not cancel (the tail is convex in the spread).
 * Across a fleet of 10,000 over-dispersed sources that is about twice the false alerts the
 * budget allows. The textbook remedy is the predictive distribution: with the mean and variance
 * estimated from n points, a new point's standardised distance follows Student's t, not the
 * normal. Here the plug-in tail `p` is mapped to its normal deviate z, widened by
 * sqrt((n + 1) / (n - 1)) for the error in the mean (and the n - 1 of a sample variance), and
 * read off Student's t with Satterthwaite's degrees of freedom
 *   nu = 2 / Var(s^2 / sigma^2) = 2 / (2 / (n - 1) + kurtosis / n),
 * using the model's own excess kurtosis, because an over-dispersed count's variance estimate is
 * much noisier than a normal sample's. The result is never below `p` (for p < 0.5), tends to it
 * as n grows, and keeps the model's discreteness and skew.
 */
export function estimationAdjustedTail(
  p: number,
  mean: number,
  variance: number,
  meanFloor: number,
  effectiveSamples: number,
): number {
  if (!(p > 0) || !(p < 0.5)) return p;
  const n = Math.max(2, effectiveSamples);
  const m = Math.max(mean, meanFloor);
  const v = Math.max(variance, m);
  // Excess kurtosis of NB(mean m, variance v): 6 (v - m) / m^2 + 1 / v (Poisson: 1 / m).
  const kurtosis = (6 * (v - m)) / (m * m) + 1 / v;
  const nu = Math.max(1, 2 / (2 / (n - 1) + kurtosis / n));
  const z = normalUpperQuantile(p);
  if (!Number.isFinite(z)) return p;
  const t = z * Math.sqrt((n - 1) / (n + 1));
  // Student's t upper tail: P(T >= t) = I_{nu / (nu + t^2)}(nu / 2, 1 / 2) / 2.
  const adjusted = 0.5 * betainc(nu / (nu + t * t), nu / 2, 0.5, true, false);
  return Number.isFinite(adjusted) ? clamp(Math.max(adjusted, p)) : p;
}

/** Standard normal upper tail, P(Z >= z) for z >= 0, from the regularised upper gamma Q(1/2, z^2/2). */
export function normalUpperTail(z: number): number {
  return 0.5 * gammainc((z * z) / 2, 0.5, true, true);
}

/**
 * z with P(Z >= z) = p, for 0 < p < 0.5: Abramowitz-Stegun 26.2.23 (error < 4.5e-4) refined by
 * Newton steps on log P(Z >= z), which stay accurate deep into the tail.
 */
export function normalUpperQuantile(p: number): number {
  const s = Math.sqrt(-2 * Math.log(p));
  let z =
    s -
    (2.515517 + 0.802853 * s + 0.010328 * s * s) /
      (1 + 1.432788 * s + 0.189269 * s * s + 0.001308 * s * s * s);
  for (let i = 0; i < 3; i += 1) {
    const tail = normalUpperTail(z);
    const density = Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
    if (!(tail > 0) || !(density > 0)) break;
    z += ((Math.log(tail) - Math.log(p)) * tail) / density;
  }
  return z;
}

/**
 * 24-point Gauss-Hermite rule (physicists': weight e^(-z^2)), nodes and weights; a test checks
 * that it integrates the normal's moments. Enough to reach six standard deviations, which is
 * where a mean's estimation error stops mattering for a tail of about 1e-4.
 */
const HERMITE_NODES = [
  0.22441454747251557, 0.6741711070372123, 1.1267608176112451, 1.5842500109616942, 2.049003573661699,
  2.523881017011427, 3.0125461375655647, 3.5200068130345246, 4.053664402448149, 4.625662756423788,
  5.259382927668044, 6.01592556142574,
];
const HERMITE_WEIGHTS = [
  0.42693116386869934, 0.2861795353464429, 0.12773962178455917, 0.037445470503230736, 0.007048355810072673,
  0.0008236924826884169, 5.688691636404392e-5, 2.1582457049023414e-6, 4.018971174941438e-8,
  3.0462542699875555e-10, 6.584620243078167e-13, 1.6643684964891008e-16,
];

/** E[f(Z)] for a standard normal Z, by the rule above (symmetric: each node used with both signs). */
export function expectOverNormal(f: (z: number) => number): number {
  let sum = 0;
  for (let i = 0; i < HERMITE_NODES.length; i += 1) {
    const z = (HERMITE_NODES[i] as number) * Math.SQRT2;
    sum += (HERMITE_WEIGHTS[i] as number) * (f(z) + f(-z));
  }
  return sum / Math.sqrt(Math.PI);
}

/**
 * P(X >= x) when the expected count is itself an estimate with relative variance `relativeVariance`
 * (the hour's mean of a rhythm-aware baseline rests on a dozen or two windows, some 10% of
 * error for a noisy source). The mean is `mean` G with G log-normal (E[G] = 1, Var[G] =
 * relativeVariance) and, given G, the count is negative binomial with variance a mu + phi mu^2.
 * Plugging in the estimate instead understates far tails exactly where the estimate happens to
 * be low, and those are where false alerts come from; the average over G does not (a heavier
 * tail than a negative binomial with the same two moments, as a scale mixture should be).
 */
export function meanUncertainTail(
  x: number,
  mean: number,
  a: number,
  phi: number,
  relativeVariance: number,
  meanFloor: number,
): number {
  const tailAt = (m: number): number => upperTailProbability(x, m, a * m + phi * m * m, meanFloor);
  if (!(relativeVariance > 0)) return tailAt(mean);
  const s2 = Math.log1p(relativeVariance);
  const s = Math.sqrt(s2);
  return clamp(expectOverNormal((z) => tailAt(mean * Math.exp(s * z - s2 / 2))));
}

const clamp = (p: number): number => (Number.isNaN(p) ? 1 : Math.min(1, Math.max(0, p)));
