/**
 * Statistics for the security tests (here and the lead's collusion test): is a vector uniform mod t,
 * and is it correlated with another. Not used by the protocol itself.
 */

export interface ChiSquareResult {
  statistic: number;
  degreesOfFreedom: number;
  /** P(X >= statistic) for X ~ chi-square(degreesOfFreedom): small means "not uniform". */
  pValue: number;
}

/**
 * Pearson's chi-square test that `values` (integers in [0, modulus)) are uniform: `buckets` equal
 * ranges [ceil(i·t/B), ceil((i+1)·t/B)), each expected to hold n·(its width)/t values.
 */
export function chiSquareUniform(values: ArrayLike<number>, modulus: number, buckets = 64): ChiSquareResult {
  if (!Number.isSafeInteger(modulus) || modulus < buckets || !Number.isSafeInteger(buckets) || buckets < 2)
    throw new RangeError(`need integer modulus >= buckets >= 2, got modulus ${modulus}, buckets ${buckets}`);
  const T = BigInt(modulus);
  const B = BigInt(buckets);
  // Exact bucket bounds (BigInt: i·t overflows 2^53 for t near 2^53).
  const lo: number[] = [];
  for (let i = 0n; i <= B; i++) lo.push(Number((i * T + B - 1n) / B));
  const counts = new Float64Array(buckets);
  const step = modulus / buckets;
  for (let k = 0; k < values.length; k++) {
    const v = values[k]!;
    if (!(v >= 0 && v < modulus)) throw new RangeError(`values[${k}] = ${v} is not in [0, ${modulus})`);
    let i = Math.min(buckets - 1, Math.floor(v / step));
    while (i + 1 < buckets && v >= lo[i + 1]!) i++;
    while (v < lo[i]!) i--;
    counts[i]!++;
  }
  const n = values.length;
  let statistic = 0;
  for (let i = 0; i < buckets; i++) {
    const expected = (n * (lo[i + 1]! - lo[i]!)) / modulus;
    statistic += (counts[i]! - expected) ** 2 / expected;
  }
  const degreesOfFreedom = buckets - 1;
  return { statistic, degreesOfFreedom, pValue: upperRegularizedGamma(degreesOfFreedom / 2, statistic / 2) };
}

/** Pearson's correlation coefficient of two equally long vectors (NaN if either is constant). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length < 2)
    throw new RangeError('pearson needs two vectors of one length >= 2');
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / Math.sqrt(saa * sbb);
}

// ln Γ(x), Lanczos (g = 7, n = 9), relative error below 1e-15 for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let s = LANCZOS[0]!;
  for (let i = 1; i < 9; i++) s += LANCZOS[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/** Q(a, x) = Γ(a, x) / Γ(a): a series below a + 1, a continued fraction above (Numerical Recipes 6.2). */
export function upperRegularizedGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const lnPrefix = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return 1 - sum * Math.exp(lnPrefix);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-16) break;
  }
  return Math.exp(lnPrefix) * h;
}
