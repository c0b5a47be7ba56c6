/**
 * Secure suite (issue 14, "Benchmarks"): mode `secure` (SecAgg+ masks under BFV `exact`) next to `he`
 * (CKKS `compact`) and `plain`, measured side by side in one run, in five parts:
 *
 *   bytes     one update and the published aggregate of the 2NN and the CNN, really encoded with each
 *             mode's encoder under a generated consortium key, over the float32 bytes of the update
 *   rounds    round time of `kpfl demo` (real participant processes, gRPC with mutual TLS, Postgres,
 *             Redis) in secure / he / plain with 3 and 10 participants, the modes interleaved; the mean
 *             of the rounds after the first (round 1 includes process start and key making)
 *   masks     one participant's key exchange at 10 / 100 / 1,000 simulated members, real crypto: round
 *             keys, signed advertisement, k pairwise seeds, the masks added to a model-size vector,
 *             Shamir shares of both secrets to k neighbours + itself, k sealed share envelopes
 *   unmask    the aggregator's unmasking at those sizes with 0% and 30% dropouts: shares combined, the
 *             dropouts' pairwise seeds, maskCorrection, unmaskSum on a real encrypted masked sum, which
 *             is then decrypted and checked to equal the plain sum
 *   accuracy  final accuracy after 5 demo rounds, secure vs plain, same seed
 *
 * The demo runs go through `runDemo`, which the CLI passes in (SecureSuiteEnv): @kpfl/bench does not
 * import @kpfl/cli.
 */
import {
  createAccumulator,
  createEncoder,
  DEFAULT_HE_PARAMS,
  DEFAULT_SECURE_PARAMS,
  generateConsortiumKey,
  mulberry32,
  paramsForMode,
  quantizeUpdate,
  type UpdateEncoder,
  unmaskSum,
} from '@kpfl/he';
import {
  digestOf,
  generateIdentity,
  sealShareEnvelope,
  signMaskAdvertisement,
  signUnmaskResponse,
} from '@kpfl/kpt';
import {
  addMod,
  combineShares,
  generateRoundKeys,
  generateSelfSeed,
  maskCorrection,
  maskUpdate,
  pairwiseSeed,
  type RoundKeys,
  roundGraph,
  splitSecret,
  toBase64url,
  x25519PublicOf,
} from '@kpfl/secagg';
import {
  describeMachine,
  finishMachineInfo,
  fmtBytes,
  fmtSeconds,
  formatTable,
  type MachineInfo,
  machineInfo,
  median,
} from './util.js';

export const SECURE_PARTS = ['bytes', 'rounds', 'masks', 'unmask', 'accuracy'] as const;
export type SecurePart = (typeof SECURE_PARTS)[number];
export type DemoMode = 'secure' | 'he' | 'plain';

/** The figures of the literature the table sets next to kpfl's. */
export const SECURE_ANCHORS = {
  bonawitz2017: {
    expansion: 1.73,
    note: 'Bonawitz et al. (CCS 2017): 1.73x communication expansion at 2^10 users, 2^20-dimensional vectors (masks only, no HE)',
  },
  ckksCompact: {
    expansion: 4.04,
    note: "kpfl mode he, CKKS 'compact': 4.04x float32 per 2NN update (packages/he/README.md)",
  },
  roundGoal: { secureOverHe: 1.25, note: 'issue 14 goal: a secure round <= 1.25x an he round' },
  accuracyGoal: { pp: 0.1, note: 'issue 14 goal: secure within 0.1 pp of plain after 5 rounds' },
} as const;

/** One `kpfl demo` run, as the suite asks for it; everything else is the demo's defaults. */
export interface SecureDemoRequest {
  mode: DemoMode;
  participants: number;
  rounds: number;
  /** Local examples per participant and round; 0 = all. */
  maxExamples: number;
  seed: number;
}

/** What the suite needs back from a demo run (a subset of the CLI's DemoResult). */
export interface SecureDemoOutcome {
  rounds: { round: number; participants: number; accuracy: number; loss: number; seconds: number }[];
  finalAccuracy: number;
  totalSeconds: number;
  bytesPerUpdate: number;
}

export type SecureDemoRunner = (
  request: SecureDemoRequest,
  print: (line: string) => void,
) => Promise<SecureDemoOutcome>;

export interface SecureSuiteEnv {
  /** Runs one demo federation (the CLI passes its runDemo); needed by the rounds and accuracy parts. */
  runDemo?: SecureDemoRunner;
}

export interface SecureSuiteOptions {
  parts?: SecurePart[];
  /** bytes: the models to encode; default the 2NN (199,210) and the CNN (1,663,370). */
  models?: { name: string; parameters: number }[];
  /** rounds: real participants per demo; default [3, 10]. */
  participants?: number[];
  /** rounds: rounds per demo run, the first not counted; default 3. */
  demoRounds?: number;
  /** rounds: local examples per participant and round; default 2000. */
  roundMaxExamples?: number;
  /** rounds: the modes, interleaved in this order for each participant count; default secure, he, plain. */
  modes?: DemoMode[];
  /** masks / unmask: simulated members; default [10, 100, 1000]. */
  simulated?: number[];
  /** masks: the model length the masks cover; default the 2NN's 199,210. */
  maskParameters?: number;
  /** unmask: the model length of the simulated sum; default 7,850 (logistic regression on MNIST). */
  unmaskParameters?: number;
  /** unmask: dropout fractions; default [0, 0.3]. */
  dropoutRates?: number[];
  /** masks / unmask: timed passes, the median reported; default 3. */
  repeats?: number;
  /** accuracy: demo participants and rounds; default 3 and 5. */
  accuracyParticipants?: number;
  accuracyRounds?: number;
  /** accuracy: local examples per participant and round; default 0 (all, like `npm run demo`). */
  accuracyMaxExamples?: number;
  seed?: number;
  /** Encoder worker threads (default: createEncoder's). */
  workers?: number;
  onProgress?: (line: string) => void;
}

export interface SecureBytesMode {
  mode: DemoMode;
  paramsName: string;
  chunks: number;
  updateBytes: number;
  /** Update bytes / float32 bytes of the parameters + 1 (the trailing example count), as benchHe. */
  updateExpansion: number;
  /** The aggregate members download: the sum (he, plain), the unmasked sum (secure). */
  aggregateBytes: number;
  aggregateExpansion: number;
}

export interface SecureBytesRow {
  model: string;
  parameters: number;
  float32Bytes: number;
  modes: SecureBytesMode[];
  /** secure update bytes / he update bytes. */
  secureOverHe: number;
}

export interface SecureRoundRun {
  participants: number;
  mode: DemoMode;
  /** Every round's time, round 1 included. */
  roundSeconds: number[];
  /** Mean of the rounds after the first. */
  meanSeconds: number;
  bytesPerUpdate: number;
  finalAccuracy: number;
  totalSeconds: number;
  error?: string;
}

export interface SecureRoundRatio {
  participants: number;
  secureOverHe: number | null;
  secureOverPlain: number | null;
  heOverPlain: number | null;
  /** secure <= 1.25x he. */
  goalMet: boolean | null;
}

export interface SecureMaskRow {
  n: number;
  degree: number;
  threshold: number;
  /** Share holders of each secret: k neighbours + the member itself. */
  holders: number;
  parameters: number;
  /** Median seconds of each step of one participant's key exchange; total excludes encrypt. */
  seconds: {
    keys: number;
    advertise: number;
    graph: number;
    seeds: number;
    mask: number;
    split: number;
    seal: number;
    total: number;
    /** For comparison: encrypting the masked update (the same work as mode he). */
    encrypt: number;
  };
  bytes: {
    advertisement: number;
    envelopes: number;
    envelopeCount: number;
    /** The unmask response of a round without dropouts (k + 1 self-seed shares, signed). */
    unmaskResponse: number;
    /** advertisement + envelopes + unmask response. */
    keyExchange: number;
    update: number;
    /** (update + key exchange) / float32 bytes. */
    expansion: number;
  };
}

export interface SecureUnmaskRow {
  n: number;
  dropoutRate: number;
  survivors: number;
  dropouts: number;
  degree: number;
  threshold: number;
  parameters: number;
  /** Self masks and (survivor, dropout) pairwise masks the correction expands. */
  selfSeeds: number;
  droppedPairs: number;
  /** Median seconds of each step; total = combine + seeds + correction + unmaskSum. */
  seconds: { combine: number; seeds: number; correction: number; unmaskSum: number; total: number };
  /** The decrypted unmasked sum equals the plain sum of the survivors' updates, value for value. */
  verified: boolean;
  mismatches: number;
  /** Dropout draws until every member kept the threshold of share holders alive. */
  draws: number;
}

export interface SecureAccuracy {
  participants: number;
  rounds: number;
  maxExamples: number;
  secure?: { finalAccuracy: number; perRound: number[]; totalSeconds: number; error?: string };
  plain?: { finalAccuracy: number; perRound: number[]; totalSeconds: number; error?: string };
  /** (secure - plain) in percentage points. */
  differencePp: number | null;
  goalMet: boolean | null;
}

export interface SecureSuiteResult {
  suite: 'secure';
  parts: SecurePart[];
  seed: number;
  bytes?: SecureBytesRow[];
  rounds?: {
    rounds: number;
    maxExamples: number;
    modes: DemoMode[];
    runs: SecureRoundRun[];
    ratios: SecureRoundRatio[];
  };
  masks?: { parameters: number; repeats: number; rows: SecureMaskRow[] };
  unmask?: { parameters: number; repeats: number; rows: SecureUnmaskRow[] };
  accuracy?: SecureAccuracy;
  anchors: typeof SECURE_ANCHORS;
  totalSeconds: number;
  machine: MachineInfo;
}

const DEFAULT_MODELS = [
  { name: '2NN (mlp)', parameters: 199_210 },
  { name: 'CNN', parameters: 1_663_370 },
];
const FEDERATION = 'bench-secure';
const PLAN = 'bench-secure-plan';
const ROUND = 1;

export async function runSecureSuite(
  o: SecureSuiteOptions = {},
  env: SecureSuiteEnv = {},
): Promise<SecureSuiteResult> {
  const started = performance.now();
  const machine = machineInfo();
  const parts = o.parts ?? [...SECURE_PARTS];
  for (const p of parts)
    if (!(SECURE_PARTS as readonly string[]).includes(p))
      throw new Error(`unknown secure part "${p}"; valid: ${SECURE_PARTS.join(', ')}`);
  const needsDemo = parts.includes('rounds') || parts.includes('accuracy');
  if (needsDemo && !env.runDemo)
    throw new Error('the rounds and accuracy parts need a runDemo function (the CLI passes it)');
  const seed = o.seed ?? 1;
  const repeats = Math.max(1, Math.floor(o.repeats ?? 3));
  const progress = o.onProgress ?? (() => {});
  const result: SecureSuiteResult = {
    suite: 'secure',
    parts,
    seed,
    anchors: SECURE_ANCHORS,
    totalSeconds: 0,
    machine,
  };
  const heKey = parts.includes('bytes') ? await generateConsortiumKey(DEFAULT_HE_PARAMS) : undefined;
  const bfvKey =
    parts.includes('bytes') || parts.includes('masks') || parts.includes('unmask')
      ? await generateConsortiumKey(DEFAULT_SECURE_PARAMS)
      : undefined;
  const secure = bfvKey
    ? await createEncoder({ mode: 'secure', key: bfvKey, workers: o.workers })
    : undefined;
  try {
    if (parts.includes('bytes')) {
      const he = await createEncoder({ mode: 'he', key: heKey!, workers: o.workers });
      const plain = await createEncoder({ mode: 'plain' });
      try {
        result.bytes = [];
        for (const m of o.models ?? DEFAULT_MODELS) {
          progress(`secure bytes: ${m.name}, ${m.parameters} parameters`);
          result.bytes.push(await measureBytes(m, { secure: secure!, he, plain }, seed));
        }
      } finally {
        await he.close();
        await plain.close();
      }
    }
    if (parts.includes('rounds')) result.rounds = await measureRounds(o, env.runDemo!, seed, progress);
    if (parts.includes('masks')) {
      const parameters = o.maskParameters ?? 199_210;
      const rows: SecureMaskRow[] = [];
      for (const n of o.simulated ?? [10, 100, 1000]) {
        progress(`secure masks: ${n} simulated members, ${parameters} parameters`);
        rows.push(await measureMasks(n, parameters, repeats, secure!, seed));
      }
      result.masks = { parameters, repeats, rows };
    }
    if (parts.includes('unmask')) {
      const parameters = o.unmaskParameters ?? 7_850;
      const rows: SecureUnmaskRow[] = [];
      for (const n of o.simulated ?? [10, 100, 1000]) {
        rows.push(
          ...(await measureUnmask(
            n,
            parameters,
            o.dropoutRates ?? [0, 0.3],
            repeats,
            secure!,
            seed,
            progress,
          )),
        );
      }
      result.unmask = { parameters, repeats, rows };
    }
    if (parts.includes('accuracy')) result.accuracy = await measureAccuracy(o, env.runDemo!, seed, progress);
  } finally {
    await secure?.close();
  }
  result.totalSeconds = (performance.now() - started) / 1000;
  result.machine = finishMachineInfo(machine);
  return result;
}

// ---------------------------------------------------------------------------------------------- bytes

async function measureBytes(
  m: { name: string; parameters: number },
  enc: { secure: UpdateEncoder; he: UpdateEncoder; plain: UpdateEncoder },
  seed: number,
): Promise<SecureBytesRow> {
  const length = m.parameters + 1;
  const float32Bytes = length * 4;
  // A zero-ish pre-weighted update: small deltas, the example count last. Ciphertext sizes do not
  // depend on the values, but the encoders refuse what they could not encode, so the values are real.
  const rand = mulberry32(seed);
  const update = new Float64Array(length);
  for (let i = 0; i < m.parameters; i++) update[i] = (rand() - 0.5) * 1e-3 * 2000;
  update[m.parameters] = 2000;
  const modes: SecureBytesMode[] = [];
  const bytesOf = (chunks: Uint8Array[]) => chunks.reduce((a, c) => a + c.length, 0);
  for (const mode of ['secure', 'he', 'plain'] as const) {
    const encoder = enc[mode];
    const values = mode === 'secure' ? quantizeUpdate(update, DEFAULT_SECURE_PARAMS, 2) : update;
    const chunks = await encoder.encode(values);
    const acc = await createAccumulator({ mode, paramsName: encoder.paramsName, chunkCount: chunks.length });
    let aggregate: Uint8Array[];
    try {
      await acc.add(chunks);
      await acc.add(await encoder.encode(values));
      aggregate = acc.result();
    } finally {
      acc.dispose();
    }
    if (mode === 'secure') {
      // What members download in mode secure: the sum with the leftover masks removed.
      const correction = new Float64Array(length);
      const t = paramsForMode('secure', DEFAULT_SECURE_PARAMS).plainModulus;
      for (let i = 0; i < length; i++) correction[i] = Math.floor(rand() * 2 ** 32) % t;
      aggregate = await unmaskSum(aggregate, correction, DEFAULT_SECURE_PARAMS);
    }
    const updateBytes = bytesOf(chunks);
    const aggregateBytes = bytesOf(aggregate);
    modes.push({
      mode,
      paramsName: mode === 'plain' ? 'plain' : encoder.paramsName,
      chunks: chunks.length,
      updateBytes,
      updateExpansion: updateBytes / float32Bytes,
      aggregateBytes,
      aggregateExpansion: aggregateBytes / float32Bytes,
    });
  }
  const s = modes.find((x) => x.mode === 'secure')!;
  const h = modes.find((x) => x.mode === 'he')!;
  return {
    model: m.name,
    parameters: m.parameters,
    float32Bytes,
    modes,
    secureOverHe: s.updateBytes / h.updateBytes,
  };
}

// --------------------------------------------------------------------------------------------- rounds

async function measureRounds(
  o: SecureSuiteOptions,
  runDemo: SecureDemoRunner,
  seed: number,
  progress: (line: string) => void,
): Promise<NonNullable<SecureSuiteResult['rounds']>> {
  const rounds = Math.max(2, Math.floor(o.demoRounds ?? 3));
  const maxExamples = o.roundMaxExamples ?? 2000;
  const modes = o.modes ?? (['secure', 'he', 'plain'] as DemoMode[]);
  const runs: SecureRoundRun[] = [];
  for (const participants of o.participants ?? [3, 10]) {
    for (const mode of modes) {
      progress(
        `secure rounds: demo ${mode}, ${participants} participants, ${rounds} rounds, ${maxExamples || 'all'} examples`,
      );
      const t = performance.now();
      try {
        const r = await runDemo({ mode, participants, rounds, maxExamples, seed }, (line) =>
          progress(`  [${mode} x${participants}] ${line}`),
        );
        const roundSeconds = r.rounds.map((x) => x.seconds);
        runs.push({
          participants,
          mode,
          roundSeconds,
          meanSeconds: mean(roundSeconds.slice(1)),
          bytesPerUpdate: r.bytesPerUpdate,
          finalAccuracy: r.finalAccuracy,
          totalSeconds: r.totalSeconds,
        });
      } catch (err) {
        progress(`  [${mode} x${participants}] failed: ${(err as Error).message}`);
        runs.push({
          participants,
          mode,
          roundSeconds: [],
          meanSeconds: Number.NaN,
          bytesPerUpdate: 0,
          finalAccuracy: Number.NaN,
          totalSeconds: (performance.now() - t) / 1000,
          error: (err as Error).message.split('\n')[0],
        });
      }
    }
  }
  const ratios = [...new Set(runs.map((r) => r.participants))].map((participants) => {
    const of = (mode: DemoMode) => {
      const s = runs.find((r) => r.participants === participants && r.mode === mode)?.meanSeconds;
      return s !== undefined && Number.isFinite(s) && s > 0 ? s : undefined;
    };
    const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined ? a / b : null);
    const secureOverHe = ratio(of('secure'), of('he'));
    return {
      participants,
      secureOverHe,
      secureOverPlain: ratio(of('secure'), of('plain')),
      heOverPlain: ratio(of('he'), of('plain')),
      goalMet: secureOverHe === null ? null : secureOverHe <= SECURE_ANCHORS.roundGoal.secureOverHe,
    };
  });
  return { rounds, maxExamples, modes, runs, ratios };
}

// ---------------------------------------------------------------------------------------------- masks

const memberIds = (n: number) =>
  Array.from({ length: n }, (_, i) => `member-${String(i + 1).padStart(String(n).length, '0')}`);

const ctxOf = (a: string, b: string) => ({ federation: FEDERATION, planId: PLAN, round: ROUND, a, b });

/** A quantized, zero-ish update of `parameters` weights and the trailing count, for `parties` members. */
function quantizedUpdate(parameters: number, parties: number, rand: () => number): Float64Array {
  const v = new Float64Array(parameters + 1);
  for (let i = 0; i < parameters; i++) v[i] = (rand() - 0.5) * 0.01;
  v[parameters] = 1 + Math.floor(rand() * 1000);
  return quantizeUpdate(v, DEFAULT_SECURE_PARAMS, parties);
}

export async function measureMasks(
  n: number,
  parameters: number,
  repeats: number,
  secure: UpdateEncoder,
  seed: number,
): Promise<SecureMaskRow> {
  const t = paramsForMode('secure', DEFAULT_SECURE_PARAMS).plainModulus;
  const ids = memberIds(n);
  const me = ids[Math.floor(n / 2)]!;
  // The other members' advertised keys (setup, not timed): each one's own business in a real round.
  const keys = new Map<string, RoundKeys>(
    ids.filter((id) => id !== me).map((id) => [id, generateRoundKeys()]),
  );
  const identity = await generateIdentity();
  const values = quantizedUpdate(parameters, n, mulberry32(seed + n));
  const times: Record<Exclude<keyof SecureMaskRow['seconds'], 'total'>, number[]> = {
    keys: [],
    advertise: [],
    graph: [],
    seeds: [],
    mask: [],
    split: [],
    seal: [],
    encrypt: [],
  };
  const totals: number[] = [];
  let last: { advertisement: string; envelopes: string[]; response: string; update: number } | undefined;
  let graphInfo = { degree: 0, threshold: 0, holders: 0 };
  for (let r = 0; r < repeats; r++) {
    let s = performance.now();
    const lap = (k: keyof typeof times) => {
      const now = performance.now();
      times[k].push((now - s) / 1000);
      s = now;
    };
    const begin = s;
    const mine = generateRoundKeys();
    const selfSeed = generateSelfSeed();
    lap('keys');
    const advertisement = await signMaskAdvertisement(identity, {
      iss: me,
      federation: FEDERATION,
      planId: PLAN,
      round: ROUND,
      maskPublicKey: toBase64url(mine.mask.publicKey),
      sharePublicKey: toBase64url(mine.share.publicKey),
    });
    lap('advertise');
    keys.set(me, mine);
    const graph = roundGraph({ federation: FEDERATION, planId: PLAN, round: ROUND, members: ids });
    const neighbours = graph.neighbours.get(me) ?? [];
    lap('graph');
    const peers = neighbours.map((id) => ({
      id,
      seed: pairwiseSeed(mine.mask.privateKey, keys.get(id)!.mask.publicKey, ctxOf(me, id)),
    }));
    lap('seeds');
    const masked = maskUpdate(values, t, { me, selfSeed, peers });
    lap('mask');
    const holders = [...neighbours, me];
    const maskKeyShares = await splitSecret(mine.mask.privateKey, holders, graph.threshold);
    const selfSeedShares = await splitSecret(selfSeed, holders, graph.threshold);
    lap('split');
    const envelopes: string[] = [];
    for (const recipient of neighbours) {
      envelopes.push(
        await sealShareEnvelope(
          identity,
          {
            sender: me,
            recipient,
            federation: FEDERATION,
            planId: PLAN,
            round: ROUND,
            maskKeyShare: toBase64url(maskKeyShares.get(recipient)!),
            selfSeedShare: toBase64url(selfSeedShares.get(recipient)!),
          },
          toBase64url(keys.get(recipient)!.share.publicKey),
        ),
      );
    }
    lap('seal');
    totals.push((performance.now() - begin) / 1000);
    s = performance.now();
    const chunks = await secure.encode(masked);
    lap('encrypt');
    // A survivor's response in a round without dropouts: the self-seed share of each neighbour and its
    // own (the shares it holds are the same size as the ones it made).
    const response = await signUnmaskResponse(identity, {
      iss: me,
      federation: FEDERATION,
      planId: PLAN,
      round: ROUND,
      announcementDigest: digestOf(advertisement),
      selfSeedShares: holders.map((of) => ({ of, share: toBase64url(selfSeedShares.get(of)!) })),
      maskKeyShares: [],
    });
    last = {
      advertisement,
      envelopes,
      response,
      update: chunks.reduce((a, c) => a + c.length, 0),
    };
    graphInfo = { degree: graph.degree, threshold: graph.threshold, holders: holders.length };
  }
  const l = last!;
  const envelopeBytes = l.envelopes.reduce((a, e) => a + Buffer.byteLength(e), 0);
  const keyExchange = Buffer.byteLength(l.advertisement) + envelopeBytes + Buffer.byteLength(l.response);
  const med = (xs: number[]) => median(xs);
  return {
    n,
    ...graphInfo,
    parameters,
    seconds: {
      keys: med(times.keys),
      advertise: med(times.advertise),
      graph: med(times.graph),
      seeds: med(times.seeds),
      mask: med(times.mask),
      split: med(times.split),
      seal: med(times.seal),
      total: med(totals),
      encrypt: med(times.encrypt),
    },
    bytes: {
      advertisement: Buffer.byteLength(l.advertisement),
      envelopes: envelopeBytes,
      envelopeCount: l.envelopes.length,
      unmaskResponse: Buffer.byteLength(l.response),
      keyExchange,
      update: l.update,
      expansion: (l.update + keyExchange) / ((parameters + 1) * 4),
    },
  };
}

// --------------------------------------------------------------------------------------------- unmask

/** A seeded Fisher-Yates shuffle. */
function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** What one unmask measurement produced, for a caller that checks it (the suite's test). */
export interface UnmaskedSum {
  n: number;
  dropoutRate: number;
  length: number;
  /** The encrypted masked sum of the survivors' updates, before unmasking. */
  maskedSum: Uint8Array[];
  /** The encrypted sum after unmaskSum: what members download. */
  unmaskedSum: Uint8Array[];
  /** The survivors' plain updates summed mod t. */
  plainSum: Float64Array;
}

export async function measureUnmask(
  n: number,
  parameters: number,
  rates: number[],
  repeats: number,
  secure: UpdateEncoder,
  seed: number,
  progress: (line: string) => void = () => {},
  onSum?: (s: UnmaskedSum) => void,
): Promise<SecureUnmaskRow[]> {
  const t = paramsForMode('secure', DEFAULT_SECURE_PARAMS).plainModulus;
  const length = parameters + 1;
  const ids = memberIds(n);
  const rand = mulberry32(seed * 7919 + n);
  progress(
    `secure unmask: ${n} simulated members, ${parameters} parameters: round keys, graph, pairwise seeds`,
  );
  // Setup, not timed: what the members did in the round.
  const keys = new Map(ids.map((id) => [id, generateRoundKeys()]));
  const selfSeeds = new Map(ids.map((id) => [id, generateSelfSeed()]));
  const graph = roundGraph({ federation: FEDERATION, planId: PLAN, round: ROUND, members: ids });
  const holdersOf = (id: string) => [...(graph.neighbours.get(id) ?? []), id];
  const edgeSeeds = new Map<string, Uint8Array>();
  const edge = (a: string, b: string) => (a < b ? `${a}\n${b}` : `${b}\n${a}`);
  for (const a of ids)
    for (const b of graph.neighbours.get(a) ?? [])
      if (a < b)
        edgeSeeds.set(
          edge(a, b),
          pairwiseSeed(keys.get(a)!.mask.privateKey, keys.get(b)!.mask.publicKey, ctxOf(a, b)),
        );
  const updates = new Map(ids.map((id) => [id, quantizedUpdate(parameters, n, rand)]));
  const rows: SecureUnmaskRow[] = [];
  for (const rate of rates) {
    // Dropouts: a seeded random subset, drawn again if some member kept fewer than the threshold of
    // share holders alive (a real round would fail cleanly; that is not what is measured here).
    const count = Math.round(rate * n);
    let dropouts = new Set<string>();
    let draws = 0;
    for (;;) {
      draws++;
      dropouts = new Set(shuffled(ids, rand).slice(0, count));
      const ok = ids.every((id) => holdersOf(id).filter((h) => !dropouts.has(h)).length >= graph.threshold);
      if (ok) break;
      if (draws >= 100) throw new Error(`no dropout set of ${count} of ${n} keeps every member unmaskable`);
    }
    const survivors = ids.filter((id) => !dropouts.has(id));
    progress(
      `secure unmask: ${n} members, ${count} dropouts: masking ${survivors.length} updates of ${length} values and encrypting their sum`,
    );
    // The survivors' masked updates (the participants' own maskUpdate), summed mod t, encrypted: the
    // homomorphic sum a real round ends with (BFV adds exactly mod t, so encrypting the sum is the same).
    const masked = new Float64Array(length);
    const plainSum = new Float64Array(length);
    for (const u of survivors) {
      const peers = (graph.neighbours.get(u) ?? []).map((v) => ({ id: v, seed: edgeSeeds.get(edge(u, v))! }));
      const y = maskUpdate(updates.get(u)!, t, { me: u, selfSeed: selfSeeds.get(u)!, peers });
      const x = updates.get(u)!;
      for (let i = 0; i < length; i++) {
        masked[i] = addMod(masked[i]!, y[i]!, t);
        plainSum[i] = addMod(plainSum[i]!, x[i]!, t);
      }
    }
    const sum = await secure.encode(masked);
    // The responses: every surviving holder reveals its share of each survivor's self seed and of
    // each dropout's mask key.
    const selfShares: Uint8Array[][] = [];
    for (const u of survivors) {
      const shares = await splitSecret(selfSeeds.get(u)!, holdersOf(u), graph.threshold);
      selfShares.push([...shares].filter(([h]) => !dropouts.has(h)).map(([, s]) => s));
    }
    const keyShares: { dropout: string; shares: Uint8Array[] }[] = [];
    for (const d of dropouts) {
      const shares = await splitSecret(keys.get(d)!.mask.privateKey, holdersOf(d), graph.threshold);
      keyShares.push({ dropout: d, shares: [...shares].filter(([h]) => !dropouts.has(h)).map(([, s]) => s) });
    }
    progress(`secure unmask: ${n} members, ${count} dropouts: unmasking (${repeats} passes)`);
    const times = {
      combine: [] as number[],
      seeds: [] as number[],
      correction: [] as number[],
      unmaskSum: [] as number[],
      total: [] as number[],
    };
    let unmasked: Uint8Array[] = [];
    let droppedPairCount = 0;
    for (let r = 0; r < repeats; r++) {
      // The aggregator's work, as packages/aggregator/src/unmasking.ts does it.
      const t0 = performance.now();
      const seeds: Uint8Array[] = [];
      for (const shares of selfShares) seeds.push(await combineShares(shares));
      const maskKeys: { dropout: string; key: Uint8Array }[] = [];
      for (const k of keyShares) {
        const key = await combineShares(k.shares);
        if (
          Buffer.compare(
            Buffer.from(x25519PublicOf(key)),
            Buffer.from(keys.get(k.dropout)!.mask.publicKey),
          ) !== 0
        )
          throw new Error(`the shares of ${k.dropout}'s mask key do not rebuild its key`);
        maskKeys.push({ dropout: k.dropout, key });
      }
      const t1 = performance.now();
      const droppedPairs: { survivor: string; dropout: string; seed: Uint8Array }[] = [];
      for (const { dropout, key } of maskKeys)
        for (const survivor of graph.neighbours.get(dropout) ?? []) {
          if (dropouts.has(survivor)) continue;
          droppedPairs.push({
            survivor,
            dropout,
            seed: pairwiseSeed(key, keys.get(survivor)!.mask.publicKey, ctxOf(dropout, survivor)),
          });
        }
      const t2 = performance.now();
      const correction = maskCorrection(length, t, { selfSeeds: seeds, droppedPairs });
      const t3 = performance.now();
      unmasked = await unmaskSum(sum, correction, DEFAULT_SECURE_PARAMS);
      const t4 = performance.now();
      droppedPairCount = droppedPairs.length;
      times.combine.push((t1 - t0) / 1000);
      times.seeds.push((t2 - t1) / 1000);
      times.correction.push((t3 - t2) / 1000);
      times.unmaskSum.push((t4 - t3) / 1000);
      times.total.push((t4 - t0) / 1000);
    }
    // What members would decrypt: must be exactly the survivors' plain sum.
    onSum?.({ n, dropoutRate: rate, length, maskedSum: sum, unmaskedSum: unmasked, plainSum });
    const decrypted = await secure.decode(unmasked, length);
    let mismatches = 0;
    for (let i = 0; i < length; i++) if (decrypted[i] !== plainSum[i]) mismatches++;
    rows.push({
      n,
      dropoutRate: rate,
      survivors: survivors.length,
      dropouts: dropouts.size,
      degree: graph.degree,
      threshold: graph.threshold,
      parameters,
      selfSeeds: survivors.length,
      droppedPairs: droppedPairCount,
      seconds: {
        combine: median(times.combine),
        seeds: median(times.seeds),
        correction: median(times.correction),
        unmaskSum: median(times.unmaskSum),
        total: median(times.total),
      },
      verified: mismatches === 0,
      mismatches,
      draws,
    });
  }
  return rows;
}

// ------------------------------------------------------------------------------------------- accuracy

async function measureAccuracy(
  o: SecureSuiteOptions,
  runDemo: SecureDemoRunner,
  seed: number,
  progress: (line: string) => void,
): Promise<SecureAccuracy> {
  const participants = o.accuracyParticipants ?? 3;
  const rounds = o.accuracyRounds ?? 5;
  const maxExamples = o.accuracyMaxExamples ?? 0;
  const out: SecureAccuracy = { participants, rounds, maxExamples, differencePp: null, goalMet: null };
  for (const mode of ['secure', 'plain'] as const) {
    progress(
      `secure accuracy: demo ${mode}, ${participants} participants, ${rounds} rounds, ${maxExamples || 'all'} examples`,
    );
    const t = performance.now();
    try {
      const r = await runDemo({ mode, participants, rounds, maxExamples, seed }, (line) =>
        progress(`  [${mode} accuracy] ${line}`),
      );
      out[mode] = {
        finalAccuracy: r.finalAccuracy,
        perRound: r.rounds.map((x) => x.accuracy),
        totalSeconds: r.totalSeconds,
      };
    } catch (err) {
      progress(`  [${mode} accuracy] failed: ${(err as Error).message}`);
      out[mode] = {
        finalAccuracy: Number.NaN,
        perRound: [],
        totalSeconds: (performance.now() - t) / 1000,
        error: (err as Error).message.split('\n')[0],
      };
    }
  }
  const s = out.secure?.finalAccuracy;
  const p = out.plain?.finalAccuracy;
  if (s !== undefined && p !== undefined && Number.isFinite(s) && Number.isFinite(p)) {
    out.differencePp = (s - p) * 100;
    out.goalMet = Math.abs(out.differencePp) <= SECURE_ANCHORS.accuracyGoal.pp;
  }
  return out;
}

// --------------------------------------------------------------------------------------------- format

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
const x2 = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : `${v.toFixed(2)}x`;
const x3 = (v: number) => `${v.toFixed(3)}x`;
const ms = (s: number) => (s < 0.1 ? `${(s * 1000).toFixed(2)} ms` : fmtSeconds(s));
const pct = (v: number) => `${(v * 100).toFixed(2)}%`;

export function formatSecure(r: SecureSuiteResult): string {
  const out: string[] = [
    `secure: mode secure (SecAgg+ masks under BFV '${DEFAULT_SECURE_PARAMS}') vs he (CKKS '${DEFAULT_HE_PARAMS}') vs plain, measured in one run (seed ${r.seed})`,
  ];
  if (r.bytes) {
    out.push(
      '',
      '1. Bytes per update and per published aggregate, over the float32 bytes of the update (parameters + count), really encoded',
      formatTable(
        ['model', 'mode', 'set', 'chunks', 'update', 'update/f32', 'aggregate', 'aggregate/f32', 'anchor'],
        r.bytes.flatMap((b) =>
          b.modes.map((m) => [
            `${b.model} (${b.parameters.toLocaleString('en-US')})`,
            m.mode,
            m.paramsName,
            String(m.chunks),
            fmtBytes(m.updateBytes),
            x3(m.updateExpansion),
            fmtBytes(m.aggregateBytes),
            x3(m.aggregateExpansion),
            m.mode === 'secure'
              ? `Bonawitz 2017: ${SECURE_ANCHORS.bonawitz2017.expansion}x`
              : m.mode === 'he'
                ? `CKKS compact: ${SECURE_ANCHORS.ckksCompact.expansion}x`
                : '',
          ]),
        ),
        3,
      ),
      ...r.bytes.map(
        (b) => `${b.model}: a secure update is ${x3(b.secureOverHe)} the bytes of an he update.`,
      ),
    );
  }
  if (r.rounds) {
    const rr = r.rounds;
    out.push(
      '',
      `2. Round time, kpfl demo (real participant processes, gRPC + mutual TLS, Postgres, Redis), 2NN, ${rr.maxExamples || 'all'} examples per participant, ${rr.rounds} rounds per run, modes interleaved; mean of rounds 2..${rr.rounds}`,
      formatTable(
        [
          'participants',
          'mode',
          'round 1',
          `mean rounds 2-${rr.rounds}`,
          'per round',
          'KiB/update',
          'accuracy',
        ],
        rr.runs.map((x) => [
          String(x.participants),
          x.mode,
          x.error ? 'failed' : fmtSeconds(x.roundSeconds[0] ?? Number.NaN),
          x.error ? x.error.slice(0, 60) : fmtSeconds(x.meanSeconds),
          x.roundSeconds.map((s) => s.toFixed(1)).join(' / '),
          x.bytesPerUpdate ? (x.bytesPerUpdate / 1024).toFixed(0) : '-',
          Number.isFinite(x.finalAccuracy) ? pct(x.finalAccuracy) : '-',
        ]),
        2,
      ),
      formatTable(
        [
          'participants',
          'secure/he',
          'secure/plain',
          'he/plain',
          `goal secure <= ${SECURE_ANCHORS.roundGoal.secureOverHe}x he`,
        ],
        rr.ratios.map((x) => [
          String(x.participants),
          x2(x.secureOverHe),
          x2(x.secureOverPlain),
          x2(x.heOverPlain),
          x.goalMet === null ? '-' : x.goalMet ? 'met' : 'NOT met',
        ]),
      ),
    );
  }
  if (r.masks) {
    const m = r.masks;
    out.push(
      '',
      `3. One participant's mask and share step, ${m.parameters.toLocaleString('en-US')} parameters, simulated members in this process, real crypto (median of ${m.repeats})`,
      formatTable(
        [
          'members',
          'k',
          'threshold',
          'keys+sign',
          'seeds',
          'mask',
          'split',
          'seal',
          'total',
          'encrypt (BFV)',
          'adv+envelopes+response',
          'update+keys/f32',
        ],
        m.rows.map((x) => [
          x.n.toLocaleString('en-US'),
          String(x.degree),
          String(x.threshold),
          ms(x.seconds.keys + x.seconds.advertise),
          ms(x.seconds.seeds),
          ms(x.seconds.mask),
          ms(x.seconds.split),
          ms(x.seconds.seal),
          ms(x.seconds.total),
          ms(x.seconds.encrypt),
          `${fmtBytes(x.bytes.advertisement)} + ${fmtBytes(x.bytes.envelopes)} (${x.bytes.envelopeCount}) + ${fmtBytes(x.bytes.unmaskResponse)} = ${fmtBytes(x.bytes.keyExchange)}`,
          x3(x.bytes.expansion),
        ]),
      ),
      `total = round keys, signed advertisement, neighbour graph, k pairwise seeds, masks, Shamir split of both secrets to k + 1 holders, k share envelopes; encrypt (the masked update under BFV) is not in it. Anchor: Bonawitz 2017 ${SECURE_ANCHORS.bonawitz2017.expansion}x at 2^10 users.`,
    );
  }
  if (r.unmask) {
    const u = r.unmask;
    out.push(
      '',
      `4. The aggregator's unmasking, model length ${u.parameters.toLocaleString('en-US')} (${u.parameters === 7850 ? 'logistic regression on MNIST, kept small so that 1,000 members at 30% dropouts stay bounded; ' : ''}--model-params to change), real encrypted masked sum (median of ${u.repeats})`,
      formatTable(
        [
          'members',
          'dropouts',
          'k',
          'self masks',
          'dropped pairs',
          'combine',
          'seeds',
          'correction',
          'unmaskSum',
          'total',
          'sum exact',
        ],
        u.rows.map((x) => [
          x.n.toLocaleString('en-US'),
          `${x.dropouts} (${(x.dropoutRate * 100).toFixed(0)}%)`,
          String(x.degree),
          String(x.selfSeeds),
          String(x.droppedPairs),
          ms(x.seconds.combine),
          ms(x.seconds.seeds),
          ms(x.seconds.correction),
          ms(x.seconds.unmaskSum),
          ms(x.seconds.total),
          x.verified ? 'yes' : `NO (${x.mismatches} differ)`,
        ]),
      ),
      "combine = Shamir combine of every survivor's self seed and every dropout's mask key (checked against its public key); seeds = pairwise seeds of (survivor, dropout) pairs; correction = maskCorrection (PRG expansion); sum exact = the decrypted unmasked sum equals the plain sum. The correction grows linearly with the model length.",
    );
  }
  if (r.accuracy) {
    const a = r.accuracy;
    const line = (mode: 'secure' | 'plain') => {
      const x = a[mode];
      if (!x) return [mode, '-', '-'];
      return [
        mode,
        x.error ? `failed: ${x.error.slice(0, 60)}` : pct(x.finalAccuracy),
        x.perRound.map(pct).join(' '),
      ];
    };
    out.push(
      '',
      `5. Final accuracy after ${a.rounds} demo rounds, ${a.participants} participants, ${a.maxExamples || 'all'} examples per participant and round, same seed`,
      formatTable(['mode', 'final accuracy', 'per round'], [line('secure'), line('plain')]),
      `secure - plain: ${a.differencePp === null ? '-' : `${a.differencePp >= 0 ? '+' : ''}${a.differencePp.toFixed(3)} pp`} (goal within ${SECURE_ANCHORS.accuracyGoal.pp} pp: ${a.goalMet === null ? '-' : a.goalMet ? 'met' : 'NOT met'})`,
    );
  }
  out.push('', `Machine: ${describeMachine(r.machine)}. Total ${fmtSeconds(r.totalSeconds)}.`);
  return out.join('\n');
}
