/**
 * P(X >= x) for this window's count under the baseline's model: negative binomial with the
 * baseline's mean and variance, or Poisson when the variance does not exceed the mean.
 *
 * Upper tails come straight from the regularised incomplete beta and gamma functions (stdlib),
 * not from 1 - CDF, so tiny probabilities keep their precision.
 */
import betainc from '@stdlib/math-base-special-betainc';
import gammainc from '@stdlib/math-base-special-gammainc';

export function upperTailProbability(x: number, mean: number, variance: number, meanFloor: number): number {
  if (!(x > 0)) return 1;
  const m = Math.max(mean, meanFloor);
  const k = Math.ceil(x);
  if (!(variance > m)) {
    // Poisson(m): P(X >= k) = P(k, m), the regularised lower incomplete gamma.
    return clamp(gammainc(m, k, true, false));
  }
  // Negative binomial with success probability p = m / v and size r = m^2 / (v - m):
  // P(X >= k) = 1 - I_p(r, k), the upper regularised incomplete beta.
  const p = m / variance;
  const r = (m * m) / (variance - m);
  return clamp(betainc(p, r, k, true, true));
}

const clamp = (p: number): number => (Number.isNaN(p) ? 1 : Math.min(1, Math.max(0, p)));
