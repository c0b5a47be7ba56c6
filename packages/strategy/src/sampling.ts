import { createHash } from 'node:crypto';

export interface SampleInput {
  /** Members that may be sampled (any order: the sample does not depend on it). */
  eligible: readonly string[];
  fraction: number;
  min: number;
  planSeed: number;
  round: number;
}

export interface Sample {
  /** Sorted member ids. */
  sampled: string[];
  /** Recorded with the round, so anyone can recompute `sampled` from it. */
  samplingSeed: string;
}

/**
 * Samples ceil(fraction * eligible) members (at least `min`, at most all), deterministically
 * from (planSeed, round): anyone can recompute the sample from the recorded seed.
 */
export function sampleBySeed({ eligible, fraction, min, planSeed, round }: SampleInput): Sample {
  const samplingSeed = createHash('sha256').update(`kpfl-sample:${planSeed}:${round}`).digest('hex');
  const count = Math.min(eligible.length, Math.max(min, Math.ceil(fraction * eligible.length)));
  const ranked = [...eligible]
    .sort()
    .map((id) => ({ id, rank: createHash('sha256').update(`${samplingSeed}:${id}`).digest('hex') }))
    .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0));
  return {
    sampled: ranked
      .slice(0, count)
      .map((r) => r.id)
      .sort(),
    samplingSeed,
  };
}
