import { createHash } from 'node:crypto';
import { neighbourGraph } from './graph.js';
import { secaggParameters } from './parameters.js';

export interface RoundGraph {
  degree: number;
  threshold: number;
  /** Each member's neighbours, sorted. */
  neighbours: Map<string, string[]>;
}

/**
 * A secure round's neighbour graph, the same for every participant and the aggregator: over the
 * members that advertised round keys, seeded by SHA-256 of (federation, plan, round, those members),
 * so the seed is fixed by the round and the set and nobody can pick a graph.
 */
export function roundGraph(r: {
  federation: string;
  planId: string;
  round: number;
  members: readonly string[];
  /** The degree the round recorded (default: secaggParameters of the set's size). */
  degree?: number;
}): RoundGraph {
  const members = [...new Set(r.members)].sort();
  const params = secaggParameters(members.length);
  const degree = r.degree ?? params.degree;
  const seed = createHash('sha256')
    .update(JSON.stringify(['kpfl-secagg-round-graph-v1', r.federation, r.planId, r.round, members]))
    .digest();
  return { degree, threshold: params.threshold, neighbours: neighbourGraph(members, degree, seed) };
}

/** Raw keys and shares travel as base64url strings inside JWS/JWE claims. */
export const toBase64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
export const fromBase64url = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64url'));
