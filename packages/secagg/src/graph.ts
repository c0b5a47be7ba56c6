import { hkdfSync } from 'node:crypto';
import { SecAggError } from './errors.js';
import { Keystream, SEED_BYTES } from './prg.js';

const GRAPH_INFO = Buffer.from('kpfl-secagg-neighbour-graph-v1');

/**
 * The SecAgg+ neighbour graph (Bell et al., CCS 2020): a Harary graph H(k, n) laid on a pseudo-random
 * permutation of the members. Position i is joined to positions i ± 1 … i ± k/2 (mod n), so every
 * member has exactly k neighbours and the relation is symmetric; k = n - 1 is the complete graph.
 *
 * The permutation is a Fisher–Yates shuffle of the sorted member ids, driven by AES-256-CTR keyed by
 * HKDF(seed): deterministic, independent of the input order, and not chosen by whoever supplies the
 * seed as long as the seed is fixed before the members are (the caller derives it from the round and
 * the advertised members). Returns each member's neighbours, sorted.
 */
export function neighbourGraph(members: string[], degree: number, seed: Uint8Array): Map<string, string[]> {
  if (!Array.isArray(members) || members.some((m) => typeof m !== 'string' || m.length === 0))
    throw new SecAggError('MEMBERS_INVALID', 'members must be an array of non-empty ids');
  const sorted = [...members].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i - 1] === sorted[i])
      throw new SecAggError('MEMBERS_INVALID', `member ${sorted[i]} is listed twice`);
  const n = sorted.length;
  if (n < 2) throw new SecAggError('TOO_FEW_MEMBERS', `a neighbour graph needs at least 2 members, got ${n}`);
  if (!Number.isSafeInteger(degree) || degree < 1 || degree > n - 1)
    throw new SecAggError(
      'DEGREE_INVALID',
      `the degree must be an integer in [1, ${n - 1}] for ${n} members, got ${degree}`,
    );
  if (degree !== n - 1 && degree % 2 !== 0)
    throw new SecAggError(
      'DEGREE_INVALID',
      `a degree below n - 1 must be even (k/2 neighbours on each side), got ${degree} for ${n} members`,
    );
  if (!(seed instanceof Uint8Array) || seed.length < 16)
    throw new SecAggError('SEED_INVALID', 'the graph seed must be at least 16 bytes (a Uint8Array)');

  // The public seed is not used as an AES key directly: HKDF with its own label keeps this stream
  // apart from any mask stream, even if a caller passed a mask seed by mistake.
  const key = new Uint8Array(hkdfSync('sha256', seed, Buffer.alloc(0), GRAPH_INFO, SEED_BYTES));
  const ks = new Keystream(key);
  const order = sorted;
  for (let i = n - 1; i > 0; i--) {
    const j = ks.uniform(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }

  const graph = new Map<string, string[]>();
  const half = degree === n - 1 ? -1 : degree / 2;
  for (let i = 0; i < n; i++) {
    let ns: string[];
    if (half < 0) ns = order.filter((_, j) => j !== i);
    else {
      ns = [];
      for (let d = 1; d <= half; d++) ns.push(order[(i + d) % n]!, order[(i - d + n) % n]!);
    }
    graph.set(
      order[i]!,
      ns.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  }
  return new Map([...graph.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
