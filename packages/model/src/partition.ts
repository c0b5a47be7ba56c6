import { ModelConfigError } from './errors.js';
import { Rng } from './rng.js';

export type PartitionSpec =
  | { kind: 'iid' }
  | { kind: 'shards'; shardsPerClient: number }
  | { kind: 'dirichlet'; alpha: number };

const VALID_FORMS =
  "'iid', 'shards:N' (N >= 1 integer shards per client, e.g. 'shards:2'), 'dirichlet:ALPHA' (ALPHA > 0, e.g. 'dirichlet:0.5')";

/** Parse 'iid' | 'shards:N' | 'dirichlet:ALPHA'. */
export function parsePartitionSpec(s: string): PartitionSpec {
  const t = String(s).trim().toLowerCase();
  if (t === 'iid') return { kind: 'iid' };
  const m = /^(shards|dirichlet):([^:]+)$/.exec(t);
  if (m) {
    const v = Number(m[2]);
    if (m[1] === 'shards' && /^\d+$/.test(m[2]) && Number.isSafeInteger(v) && v >= 1) {
      return { kind: 'shards', shardsPerClient: v };
    }
    if (m[1] === 'dirichlet' && m[2].trim() !== '' && Number.isFinite(v) && v > 0) {
      return { kind: 'dirichlet', alpha: v };
    }
  }
  throw new ModelConfigError('BAD_PARTITION', `invalid partition '${s}'; valid forms: ${VALID_FORMS}`);
}

export function formatPartitionSpec(spec: PartitionSpec): string {
  switch (spec.kind) {
    case 'iid':
      return 'iid';
    case 'shards':
      return `shards:${spec.shardsPerClient}`;
    case 'dirichlet':
      return `dirichlet:${spec.alpha}`;
  }
}

/**
 * Split example indices 0..labels.length-1 among `clients`, reproducibly from `seed`.
 * Every example goes to exactly one client; each client's indices are returned sorted.
 *
 * - iid: a seeded shuffle cut into near-equal parts (sizes differ by at most 1).
 * - shards:N: McMahan et al.'s pathological non-IID split generalised: sort by label (ties in a
 *   seeded random order), cut into clients*N equal shards, deal N random shards to each client.
 *   With N = 2 most clients see at most two labels.
 * - dirichlet:ALPHA: label skew (Hsu et al. 2019): for each class draw client proportions from
 *   Dir(ALPHA) and split that class accordingly. Small ALPHA = strong skew. Draws are repeated
 *   (seeded) until every client has at least min(10, n/clients/2) examples, then any shortfall
 *   is topped up from the largest clients.
 */
export function partition(
  labels: Uint8Array,
  clients: number,
  spec: PartitionSpec,
  seed: number,
): number[][] {
  const n = labels.length;
  if (!Number.isSafeInteger(clients) || clients < 1)
    throw new ModelConfigError('BAD_CLIENTS', `clients must be a positive integer, got ${clients}`);
  if (n < clients)
    throw new ModelConfigError('BAD_CLIENTS', `cannot partition ${n} examples among ${clients} clients`);
  let parts: number[][];
  switch (spec.kind) {
    case 'iid':
      parts = iid(n, clients, new Rng(seed, 0x11d));
      break;
    case 'shards':
      parts = shards(labels, clients, spec.shardsPerClient, new Rng(seed, 0x5ad));
      break;
    case 'dirichlet':
      parts = dirichlet(labels, clients, spec.alpha, new Rng(seed, 0xd1c));
      break;
    default:
      throw new ModelConfigError(
        'BAD_PARTITION',
        `unknown partition kind ${(spec as { kind: string }).kind}; valid forms: ${VALID_FORMS}`,
      );
  }
  for (const p of parts) p.sort((a, b) => a - b);
  return parts;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function iid(n: number, clients: number, rng: Rng): number[][] {
  const idx = rng.shuffle(range(n));
  const out: number[][] = [];
  for (let c = 0; c < clients; c++) {
    out.push(idx.slice(Math.floor((c * n) / clients), Math.floor(((c + 1) * n) / clients)));
  }
  return out;
}

function shards(labels: Uint8Array, clients: number, perClient: number, rng: Rng): number[][] {
  if (!Number.isSafeInteger(perClient) || perClient < 1) {
    throw new ModelConfigError(
      'BAD_PARTITION',
      `shardsPerClient must be a positive integer, got ${perClient}`,
    );
  }
  const n = labels.length;
  const total = clients * perClient;
  if (total > n)
    throw new ModelConfigError(
      'BAD_PARTITION',
      `shards:${perClient} needs ${total} shards but there are only ${n} examples`,
    );
  // Shuffle first so that the order within a label (and so a shard's content) depends on the seed.
  const idx = rng.shuffle(range(n));
  const rank = new Int32Array(n);
  idx.forEach((v, i) => {
    rank[v] = i;
  });
  idx.sort((a, b) => labels[a] - labels[b] || rank[a] - rank[b]);
  const shardIds = rng.shuffle(range(total));
  const out: number[][] = Array.from({ length: clients }, () => []);
  for (let k = 0; k < total; k++) {
    const s = shardIds[k];
    const client = Math.floor(k / perClient);
    const from = Math.floor((s * n) / total);
    const to = Math.floor(((s + 1) * n) / total);
    for (let i = from; i < to; i++) out[client].push(idx[i]);
  }
  return out;
}

function dirichlet(labels: Uint8Array, clients: number, alpha: number, rng: Rng): number[][] {
  if (!(Number.isFinite(alpha) && alpha > 0))
    throw new ModelConfigError('BAD_PARTITION', `dirichlet alpha must be > 0, got ${alpha}`);
  const n = labels.length;
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    let list = byClass.get(l);
    if (!list) {
      list = [];
      byClass.set(l, list);
    }
    list.push(i);
  }
  const classes = [...byClass.keys()].sort((a, b) => a - b);
  const minSize = Math.max(1, Math.min(10, Math.floor(n / clients / 2)));
  let out: number[][] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    out = Array.from({ length: clients }, () => []);
    for (const c of classes) {
      const members = rng.shuffle([...byClass.get(c)!]);
      const p = rng.dirichlet(alpha, clients);
      let cum = 0;
      let from = 0;
      for (let k = 0; k < clients; k++) {
        cum += p[k];
        const to =
          k === clients - 1 ? members.length : Math.min(members.length, Math.round(cum * members.length));
        for (let i = from; i < to; i++) out[k].push(members[i]);
        from = Math.max(from, to);
      }
    }
    if (out.every((o) => o.length >= minSize)) return out;
  }
  // Still too small after many draws (tiny alpha, many clients): top up from the largest clients.
  for (const small of out) {
    while (small.length < minSize) {
      let largest = out[0];
      for (const o of out) if (o.length > largest.length) largest = o;
      small.push(largest.splice(rng.int(largest.length), 1)[0]);
    }
  }
  return out;
}
