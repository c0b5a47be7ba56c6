import { SecAggError } from './errors.js';

/** The smallest federation secure aggregation makes sense for: with two, the sum gives away the other. */
export const MIN_SECAGG_MEMBERS = 3;
export interface SecAggParameters {
  /** Neighbours per member (k): pairwise masks and share holders. */
  degree: number;
  /** Shares needed to rebuild a member's mask key or self-mask seed (t of Shamir). */
  threshold: number;
}

/**
 * SecAgg+ parameters for n members (Bell et al., CCS 2020): k = 3·log2(n) rounded up to an even
 * number (a Harary graph of even degree is regular for every n), capped at n - 1 (then the graph is
 * complete, as in the original SecAgg), and threshold floor(k/2) + 1, at least 2. README.md explains
 * the choice.
 */
export function secaggParameters(n: number): SecAggParameters {
  if (!Number.isSafeInteger(n) || n < MIN_SECAGG_MEMBERS)
    throw new SecAggError(
      'TOO_FEW_MEMBERS',
      `secure aggregation needs at least ${MIN_SECAGG_MEMBERS} members (the sum of two gives each the other's update), got ${n}`,
    );
  let k = Math.ceil(3 * Math.log2(n));
  if (k % 2 === 1) k += 1;
  const degree = Math.min(k, n - 1);
  const threshold = Math.max(2, Math.floor(degree / 2) + 1);
  return { degree, threshold };
}
