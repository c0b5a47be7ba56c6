import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  countAudit,
  createPlan,
  type Db,
  decideAgreement,
  dropSchema,
  finishPlan,
  getModelDigest,
  getPlan,
  getRound,
  majorityOf,
  type NewPlan,
  nextJobs,
  openDb,
  openRound,
  type PlanRow,
  queryAudit,
  ROUND_STATES,
  ROUND_TRANSITIONS,
  type RoundChange,
  type RoundRow,
  type RoundState,
  RoundStateError,
  recordVerdict,
  registerProvisionedEpoch,
  transitionRound,
  upsertFederation,
  type Vote,
} from '../src/index.js';
import { newPlan } from './fixtures.js';

const FED = 'fed-machine';
const INITIAL = `sha256:${'a'.repeat(64)}`;

const later = () => new Date(Date.now() + 60_000);
const CHANGE: Record<Exclude<RoundState, 'advertising'>, RoundChange> = {
  sharing: {
    to: 'sharing',
    why: 'complete',
    advertised: ['alice'],
    degree: 1,
    threshold: 2,
    phaseDeadlineAt: later(),
  },
  open: { to: 'open', why: 'complete', shared: ['alice'], deadlineAt: later() },
  collecting: { to: 'collecting', firstMember: 'alice' },
  unmasking: {
    to: 'unmasking',
    why: 'quorum',
    survivors: ['alice'],
    dropouts: [],
    announcement: 'jws',
    announcementDigest: `sha256:${'c'.repeat(64)}`,
    phaseDeadlineAt: later(),
    contributions: 1,
  },
  aggregating: { to: 'aggregating', why: 'quorum', contributions: 1 },
  failed: { to: 'failed', reason: 'test', contributions: 0 },
  published: { to: 'published', aggregateDigest: `sha256:${'b'.repeat(64)}`, contributions: 1 },
};

/**
 * The legal path from nothing to each state: a plain round opens in `open`, a secure one in
 * `advertising` (secure: true) and runs through its key-exchange phases.
 */
const PATH: Record<RoundState, { secure?: true; moves: Exclude<RoundState, 'advertising'>[] }> = {
  advertising: { secure: true, moves: [] },
  sharing: { secure: true, moves: ['sharing'] },
  open: { moves: [] },
  collecting: { moves: ['collecting'] },
  unmasking: { secure: true, moves: ['sharing', 'open', 'collecting', 'unmasking'] },
  aggregating: { moves: ['collecting', 'aggregating'] },
  published: { moves: ['collecting', 'aggregating', 'published'] },
  failed: { moves: ['failed'] },
};

describe('the round state machine', () => {
  let db: Db;
  let plans = 0;
  const schema = `test_machine_${randomBytes(4).toString('hex')}`;

  before(async () => {
    db = await openDb({ migrate: true, schema });
    await upsertFederation(db, FED, { keys: [] });
    // Secure rounds open under a ready key epoch.
    await registerProvisionedEpoch(db, {
      federation: FED,
      heParams: 'exact',
      keyId: 'e'.repeat(32),
      actor: 'test',
    });
  });
  after(async () => {
    await db.close();
    await dropSchema(undefined, schema);
  });

  async function plan(over: Partial<NewPlan> = {}): Promise<PlanRow> {
    const { plan } = await createPlan(
      db,
      newPlan(`plan-${++plans}`, FED, { initial_model_digest: INITIAL, ...over }),
      'operator:test',
    );
    return plan;
  }

  function open(planId: string, round: number, secure = false) {
    return db.tx((tx) =>
      openRound(
        tx,
        {
          planId,
          round,
          sampled: ['alice'],
          quorum: 1,
          minParticipants: 1,
          samplingSeed: 's',
          deadlineAt: new Date(Date.now() + 60_000),
          ...(secure ? { keyEpoch: 1, phaseDeadlineAt: later() } : {}),
        },
        'coordinator',
      ),
    );
  }

  const move = (planId: string, round: number, change: RoundChange) =>
    db.tx((tx) => transitionRound(tx, planId, round, change, 'coordinator'));

  async function roundIn(state: RoundState, over: Partial<NewPlan> = {}): Promise<PlanRow> {
    const { secure, moves } = PATH[state];
    const p = await plan(secure ? { mode: 'secure', he_params: 'exact', ...over } : over);
    await open(p.id, 1, secure);
    for (const to of moves) await move(p.id, 1, CHANGE[to]);
    return p;
  }

  const events = async (planId: string) =>
    (await queryAudit(db, { planId, limit: 1000 })).rows.map(
      (r) => `${r.event}${r.round ? `@${r.round}` : ''}`,
    );

  it('refuses every move the table does not list, changing nothing and auditing nothing', async () => {
    let refused = 0;
    for (const from of ROUND_STATES) {
      for (const to of ROUND_STATES) {
        if (to === 'advertising' || ROUND_TRANSITIONS.some((t) => t.from === from && t.to === to)) continue;
        const p = await roundIn(from);
        const before = await getRound(db, p.id, 1);
        const auditRows = await countAudit(db);
        await assert.rejects(move(p.id, 1, CHANGE[to]), (err: unknown) => {
          assert.ok(err instanceof RoundStateError, `${from} -> ${to}: ${String(err)}`);
          assert.equal(err.code, 'ILLEGAL_TRANSITION');
          assert.match(err.message, new RegExp(`round 1 of plan ${p.id} cannot go from ${from} to ${to}`));
          return true;
        });
        assert.deepEqual(await getRound(db, p.id, 1), before, `${from} -> ${to} left the row as it was`);
        assert.equal(await countAudit(db), auditRows, `${from} -> ${to} appended no audit row`);
        refused++;
      }
    }
    // 8 states x 7 targets (advertising is only a creation), minus the 13 legal moves between
    // existing rounds.
    assert.equal(refused, 43);
  });

  it('appends each legal move’s audit event in the same transaction as the move', async () => {
    const p = await roundIn('published');
    assert.deepEqual(await events(p.id), [
      'plan.scheduled',
      'round.opened@1',
      'round.collecting@1',
      'round.closed@1',
      'round.published@1',
    ]);
    const q = await roundIn('open');
    const auditRows = await countAudit(db);
    // A transaction that fails after the move rolls back the move and its audit row together.
    await assert.rejects(
      db.tx(async (tx) => {
        await transitionRound(tx, q.id, 1, CHANGE.failed, 'coordinator');
        throw new Error('crash after the move, before commit');
      }),
      /crash after the move/,
    );
    assert.equal((await getRound(db, q.id, 1))?.state, 'open');
    assert.equal(await countAudit(db), auditRows);
  });

  it('a failed round carries the global model over; the last round finishes its plan', async () => {
    const p = await roundIn('failed');
    assert.equal(
      await getModelDigest(db, p.id, 1),
      INITIAL,
      'the model after a failed round is the one before it',
    );
    assert.equal((await getPlan(db, p.id))?.state, 'running');

    const last = await roundIn('aggregating', { total_rounds: 1 });
    const t = await move(last.id, 1, CHANGE.published);
    assert.equal(t.planFinished, 'done');
    assert.equal((await getPlan(db, last.id))?.state, 'done');
    assert.deepEqual((await events(last.id)).slice(-2), ['round.published@1', 'plan.done']);

    const stop = await roundIn('open', { on_round_failure: 'stop' });
    assert.equal((await move(stop.id, 1, CHANGE.failed)).planFinished, 'failed');
    assert.equal((await getPlan(db, stop.id))?.state, 'failed');
  });

  it('opens a round only in a running plan, within its rounds, after the previous one ended; once', async () => {
    const p = await plan({ total_rounds: 2 });
    const first = await open(p.id, 1);
    assert.equal(first.created, true);
    const again = await open(p.id, 1);
    assert.equal(again.created, false, 'a retried open job opens nothing');
    assert.deepEqual(again.round, first.round);
    await assert.rejects(open(p.id, 2), /round 2 of plan .* cannot open: round 1 is open/);
    for (const to of PATH.published.moves) await move(p.id, 1, CHANGE[to]);
    await open(p.id, 2);
    await assert.rejects(open(p.id, 3), /cannot open: the plan has rounds 1\.\.2/);

    const cancelled = await plan();
    await db.tx((tx) => finishPlan(tx, cancelled.id, 'cancelled', 'operator:test'));
    await assert.rejects(open(cancelled.id, 1), (err: unknown) => {
      assert.ok(err instanceof RoundStateError);
      assert.match(err.message, /cannot open: the plan is cancelled/);
      return true;
    });
    assert.equal(await getRound(db, cancelled.id, 1), undefined);
    assert.equal((await events(p.id)).filter((e) => e === 'round.opened@1').length, 1);
  });

  it('a plan finishes once and is scheduled once', async () => {
    const p = await plan();
    await db.tx((tx) => finishPlan(tx, p.id, 'cancelled', 'operator:test'));
    await assert.rejects(
      db.tx((tx) => finishPlan(tx, p.id, 'done', 'coordinator')),
      /plan plan-\d+ is already cancelled/,
    );
    const again = await createPlan(
      db,
      newPlan(p.id, FED, { initial_model_digest: INITIAL }),
      'operator:test',
    );
    assert.equal(again.created, false);
    assert.equal(again.plan.state, 'cancelled', 'scheduling an existing id returns it unchanged');
    assert.deepEqual(await events(p.id), ['plan.scheduled', 'plan.cancelled']);
  });

  it('nextJobs: what a plan needs after each state', () => {
    const p = { id: 'p', state: 'running', on_round_failure: 'continue', start_at: new Date(0) } as PlanRow;
    const r = (state: RoundState, quorum = 3): RoundRow =>
      ({ plan_id: 'p', round: 2, state, quorum, deadline_at: new Date(1000) }) as RoundRow;
    const kinds = (plan: PlanRow, round: RoundRow | undefined, accepted = 0) =>
      nextJobs(plan, round, accepted).map((j) => `${j.kind}-${j.round}`);
    assert.deepEqual(kinds(p, undefined), ['open-1']);
    assert.deepEqual(kinds(p, r('open')), ['deadline-2']);
    assert.deepEqual(kinds(p, r('collecting'), 2), ['deadline-2']);
    assert.deepEqual(kinds(p, r('collecting'), 3), ['deadline-2', 'close-2']);
    assert.deepEqual(
      kinds(p, r('open', 0), 0),
      ['deadline-2'],
      'a round nobody was sampled for waits for its deadline',
    );
    assert.deepEqual(kinds(p, r('aggregating')), ['close-2']);
    assert.deepEqual(kinds(p, r('published')), ['open-3']);
    assert.deepEqual(kinds(p, r('failed')), ['open-3']);
    assert.deepEqual(kinds({ ...p, state: 'cancelled' }, r('collecting'), 3), []);
  });
});

/** The only files whose text may write plans or rounds, and why. */
const ALLOWED: Record<string, string> = {
  'packages/store/src/round-machine.ts': 'the state machine itself',
  'packages/store/test/round-machine.test.ts': "this test's own pattern",
  'packages/store/test/roles.test.ts': 'tries such writes as the aggregator role, to show they are refused',
  'test/secure-aggregation.test.ts': 'plays a malicious aggregator that replaces its unmask announcement',
};

describe('nothing else writes plans or rounds', () => {
  it('every INSERT, UPDATE or DELETE of plans, rounds and model digests is in round-machine.ts', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const WRITE =
      /\b(?:UPDATE|INSERT\s+INTO|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+(?:\w+\.)?(?:rounds|plans|model_digests)\b/gi;
    const offenders: string[] = [];
    let scanned = 0;
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name.startsWith('.')) continue;
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (/\.(ts|js|mjs|sql|sh)$/.test(name)) {
          scanned++;
          const rel = relative(root, path);
          if (rel in ALLOWED) continue;
          for (const m of readFileSync(path, 'utf8').matchAll(WRITE)) offenders.push(`${rel}: ${m[0]}`);
        }
      }
    };
    for (const dir of ['packages', 'scripts', 'test', 'docker', 'bin']) walk(join(root, dir));
    assert.ok(scanned > 100, `scanned ${scanned} files`);
    assert.deepEqual(offenders, [], 'writes to plans/rounds/model_digests outside the state machine');
    // Positive control: the machine itself matches the pattern.
    const machine = readFileSync(join(root, 'packages/store/src/round-machine.ts'), 'utf8');
    assert.ok([...machine.matchAll(WRITE)].length >= 4, 'the pattern finds the machine’s own writes');
  });
});

describe('the contributors agree on the global model (ADR 0007)', () => {
  let db: Db;
  let plans = 0;
  const schema = `test_agree_${randomBytes(4).toString('hex')}`;
  const D = (c: string) => `sha256:${c.repeat(64)}`;
  const vote = (member: string, digest: string): Vote => ({ member, verdict: { modelDigest: digest } });
  const reject = (member: string, why: string): Vote => ({ member, verdict: { rejected: why } });

  before(async () => {
    db = await openDb({ migrate: true, schema });
    await upsertFederation(db, FED, { keys: [] });
  });
  after(async () => {
    await db.close();
    await dropSchema(undefined, schema);
  });

  /** A plan whose round 1 is published with three contributors and whose round 2 is open already. */
  async function published(over: Partial<NewPlan> = {}) {
    const { plan } = await createPlan(
      db,
      newPlan(`agree-${++plans}`, FED, { initial_model_digest: INITIAL, ...over }),
      'operator:test',
    );
    const open = (round: number) =>
      db.tx((tx) =>
        openRound(
          tx,
          {
            planId: plan.id,
            round,
            sampled: ['alice', 'bob', 'carol'],
            quorum: 3,
            minParticipants: 1,
            samplingSeed: 's',
            deadlineAt: new Date(Date.now() + 60_000),
          },
          'coordinator',
        ),
      );
    await open(1);
    await db.tx(async (tx) => {
      await transitionRound(tx, plan.id, 1, { to: 'collecting', firstMember: 'alice' }, 'coordinator');
      await transitionRound(
        tx,
        plan.id,
        1,
        { to: 'aggregating', why: 'quorum', contributions: 3 },
        'coordinator',
      );
      await transitionRound(
        tx,
        plan.id,
        1,
        { to: 'published', aggregateDigest: D('b'), contributions: 3 },
        'coordinator',
      );
    });
    await open(2);
    const votes: Vote[] = [];
    const sign = (v: Vote) => {
      votes.push(v);
      return db.tx((tx) =>
        recordVerdict(
          tx,
          { planId: plan.id, round: 1, contributors: ['alice', 'bob', 'carol'], votes, voter: v.member },
          v.member,
        ),
      );
    };
    return { plan, sign };
  }

  const audit = async (planId: string, event: string) =>
    (await queryAudit(db, { planId, limit: 1000 })).rows.filter((r) => r.event === event);

  it('the rule: a majority of the contributors, one vote each; others never count', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map(majorityOf), [1, 2, 2, 3, 3]);
    const c = ['alice', 'bob', 'carol'];
    assert.equal(decideAgreement(c, [vote('alice', D('1'))]).kind, 'pending');
    assert.equal(decideAgreement(c, [vote('alice', D('1')), vote('mallory', D('1'))]).kind, 'pending');
    assert.equal(decideAgreement(c, [vote('alice', D('1')), vote('alice', D('1'))]).kind, 'pending');
    assert.deepEqual(
      decideAgreement(c, [vote('alice', D('1')), vote('bob', D('2')), vote('carol', D('1'))]),
      {
        kind: 'agreed',
        digest: D('1'),
        signers: ['alice', 'carol'],
        majority: 2,
      },
    );
    assert.deepEqual(decideAgreement(c, [reject('bob', 'x'), vote('alice', D('1')), reject('carol', 'y')]), {
      kind: 'rejected',
      reason: 'x',
      signers: ['bob', 'carol'],
      majority: 2,
    });
    assert.equal(decideAgreement(['a', 'b'], [vote('a', D('1')), vote('b', D('2'))]).kind, 'pending');
  });

  it('a majority digest becomes the model after the round and the open next round’s base; the minority is named', async () => {
    const { plan, sign } = await published();
    assert.equal((await sign(vote('mallory', D('6')))).kind, 'pending', 'a non-contributor decides nothing');
    assert.equal((await sign(vote('bob', D('6')))).kind, 'pending');
    assert.equal(await getModelDigest(db, plan.id, 1), undefined);
    assert.equal((await getRound(db, plan.id, 2))?.base_model_digest, null);
    const agreed = await sign(vote('alice', D('1')));
    assert.equal(agreed.kind, 'pending', 'one each: still no majority');
    assert.deepEqual(await sign(vote('carol', D('1'))), {
      kind: 'agreed',
      digest: D('1'),
      signers: ['alice', 'carol'],
      majority: 2,
    });
    assert.equal(await getModelDigest(db, plan.id, 1), D('1'));
    assert.equal((await getRound(db, plan.id, 2))?.base_model_digest, D('1'));
    const [row] = await audit(plan.id, 'model.agreed');
    assert.deepEqual(row?.data, {
      digest: D('1'),
      signers: ['alice', 'carol'],
      contributors: 3,
      majority: 2,
    });
    const disputed = await audit(plan.id, 'model.disputed');
    assert.deepEqual(
      disputed.map((r) => [r.member, r.data.signedDigest, r.data.agreedDigest]),
      [['bob', D('6'), D('1')]],
    );
  });

  it('a majority rejection fails the published round: nothing applied, the model before it carried over', async () => {
    const { plan, sign } = await published();
    await sign(reject('alice', 'the mean update is too long'));
    const out = await sign(reject('bob', 'the mean update is too long'));
    assert.equal(out.kind, 'rejected');
    const round = await getRound(db, plan.id, 1);
    assert.equal(round?.state, 'failed');
    assert.equal(round?.failure_reason, 'rejected by 2 of 3 contributors: the mean update is too long');
    assert.equal(await getModelDigest(db, plan.id, 1), INITIAL);
    assert.equal((await getRound(db, plan.id, 2))?.base_model_digest, INITIAL, 'round 2 starts from round 0');
    assert.equal((await getPlan(db, plan.id))?.state, 'running', 'the plan goes on');
    const [rejected] = await audit(plan.id, 'round.rejected');
    assert.equal(rejected?.data.reason, round?.failure_reason);
    assert.deepEqual(rejected?.data.rejectedBy, ['alice', 'bob']);
    // Carol signs a digest afterwards: she is named, and nothing changes.
    assert.equal((await sign(vote('carol', D('1')))).kind, 'rejected');
    const [d] = await audit(plan.id, 'model.disputed');
    assert.equal(d?.member, 'carol');
    assert.equal(await getModelDigest(db, plan.id, 1), INITIAL);
  });

  it('under on_round_failure = stop, a rejection ends the plan and fails the round already open', async () => {
    const { plan, sign } = await published({ on_round_failure: 'stop' });
    await sign(reject('alice', 'no'));
    await sign(reject('carol', 'no'));
    assert.equal((await getPlan(db, plan.id))?.state, 'failed');
    const next = await getRound(db, plan.id, 2);
    assert.equal(next?.state, 'failed');
    assert.equal(next?.failure_reason, 'the plan stopped: round 1 failed');
  });
});
