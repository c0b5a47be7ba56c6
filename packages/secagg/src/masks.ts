import { SecAggError } from './errors.js';
import { addInto, checkLength, checkModulus, checkValues, subInto } from './modular.js';
import { checkSeed, expandMask } from './prg.js';

export interface MaskInput {
  me: string;
  /** This round's self-mask seed (double masking): revealed only if `me` survives. */
  selfSeed: Uint8Array;
  /** One pairwise seed per neighbour (pairwiseSeed with that neighbour). */
  peers: { id: string; seed: Uint8Array }[];
}

export interface CorrectionInput {
  /** The self-mask seeds of every survivor, rebuilt from their shares. */
  selfSeeds: Uint8Array[];
  /** For each (survivor, dropout) neighbour pair: the pairwise seed, rebuilt from the dropout's mask key. */
  droppedPairs: { survivor: string; dropout: string; seed: Uint8Array }[];
}

/**
 * Which side of a pair adds the pairwise mask (+1) and which subtracts it (-1): the member whose id is
 * smaller in plain JS string order (UTF-16 code units, `<`, no locale) adds. Both sides compute the
 * same answer from the ids alone, so the two masks cancel in the sum.
 */
export function pairSign(me: string, peer: string): 1 | -1 {
  if (me === peer) throw new SecAggError('PEERS_INVALID', `a member is not its own peer (${me})`);
  return me < peer ? 1 : -1;
}

/**
 * values + selfMask + sum over peers of pairSign(me, peer) * pairMask, all mod t. The input is not
 * modified. Pairwise masks cancel in the sum over all members; the self masks are removed by
 * maskCorrection once the survivors are known.
 */
export function maskUpdate(values: Float64Array, modulus: number, m: MaskInput): Float64Array {
  checkModulus(modulus);
  checkValues(values, modulus);
  if (typeof m?.me !== 'string' || m.me.length === 0)
    throw new SecAggError('PEERS_INVALID', 'maskUpdate needs the member id `me`');
  checkSeed(m.selfSeed, 'the self-mask seed');
  if (!Array.isArray(m.peers)) throw new SecAggError('PEERS_INVALID', 'peers must be an array');
  const seen = new Set<string>();
  for (const p of m.peers) {
    if (typeof p?.id !== 'string' || p.id.length === 0)
      throw new SecAggError('PEERS_INVALID', 'every peer needs a non-empty id');
    if (seen.has(p.id)) throw new SecAggError('PEERS_INVALID', `peer ${p.id} is listed twice`);
    seen.add(p.id);
    pairSign(m.me, p.id);
    checkSeed(p.seed, `the pairwise seed with ${p.id}`);
  }
  const out = Float64Array.from(values);
  addInto(out, expandMask(m.selfSeed, values.length, modulus), modulus);
  for (const p of m.peers) {
    const mask = expandMask(p.seed, values.length, modulus);
    if (pairSign(m.me, p.id) === 1) addInto(out, mask, modulus);
    else subInto(out, mask, modulus);
  }
  return out;
}

/**
 * What the aggregator subtracts from the sum of the survivors' masked updates: the survivors' self
 * masks, plus each (survivor, dropout) pairwise mask with the survivor's sign (the dropout's opposite
 * mask never arrived). After subtraction the sum is exactly the survivors' unmasked sum mod t.
 */
export function maskCorrection(length: number, modulus: number, c: CorrectionInput): Float64Array {
  checkLength(length);
  checkModulus(modulus);
  if (!Array.isArray(c?.selfSeeds) || !Array.isArray(c.droppedPairs))
    throw new SecAggError('PEERS_INVALID', 'maskCorrection needs selfSeeds and droppedPairs arrays');
  for (const [i, s] of c.selfSeeds.entries()) checkSeed(s, `selfSeeds[${i}]`);
  const pairs = new Set<string>();
  for (const d of c.droppedPairs) {
    if (typeof d?.survivor !== 'string' || typeof d.dropout !== 'string' || !d.survivor || !d.dropout)
      throw new SecAggError('PEERS_INVALID', 'every dropped pair needs a survivor and a dropout id');
    pairSign(d.survivor, d.dropout);
    const key = JSON.stringify([d.survivor, d.dropout]);
    // Subtracting one pair's mask twice would corrupt the sum silently.
    if (pairs.has(key))
      throw new SecAggError('PEERS_INVALID', `the pair ${d.survivor}/${d.dropout} is listed twice`);
    pairs.add(key);
    checkSeed(d.seed, `the pairwise seed of ${d.survivor}/${d.dropout}`);
  }
  const out = new Float64Array(length);
  for (const s of c.selfSeeds) addInto(out, expandMask(s, length, modulus), modulus);
  for (const d of c.droppedPairs) {
    const mask = expandMask(d.seed, length, modulus);
    if (pairSign(d.survivor, d.dropout) === 1) addInto(out, mask, modulus);
    else subInto(out, mask, modulus);
  }
  return out;
}
