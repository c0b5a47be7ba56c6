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
  dropSchema,
  finishPlan,
  getModelDigest,
  getPlan,
  getRound,
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
  recordModelDigest,
  transitionRound,
  upsertFederation,
} from '../src/index.js';
import { newPlan } from './fixtures.js';

const FED = 'fed-machine';
const INITIAL = `sha256:${'a'.repeat(64)}`;

const CHANGE: Record<Exclude<RoundState, 'open'>, RoundChange> = {
  collecting: { to: 'collecting', firstMember: 'alice' },
  aggregating: { to: 'aggregating', why: 'quorum', contributions: 1 },
  failed: { to: 'failed', reason: 'test', contributions: 0 },
  published: { to: 'published', aggregateDigest: `sha256:${'b'.repeat(64)}`, contributions: 1 },
};

/** The legal path from nothing to each state. */
const PATH: Record<RoundState, Exclude<RoundState, 'open'>[]> = {
  open: [],
  collecting: ['collecting'],
  aggregating: ['collecting', 'aggregating'],
  published: ['collecting', 'aggregating', 'published'],
  failed: ['failed'],
};

describe('the round state machine', () => {
  let db: Db;
  let plans = 0;
  const schema = `test_machine_${randomBytes(4).toString('hex')}`;

  before(async () => {
    db = await openDb({ migrate: true, schema });
    await upsertFederation(db, FED, { keys: [] });
  });
  after(async () => {
    await db.close();
    await dropSchema(undefined, schema);
  });

  async function plan(over: Partial<NewPlan> = {}): Promise<PlanRow> {
    const { plan } = await createPlan(db, newPlan(`plan-${++plans}`, FED, over), 'operator:test');
    await recordModelDigest(db, plan.id, 0, INITIAL, 'alice');
    return plan;
  }

  function open(planId: string, round: number) {
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
        },
        'coordinator',
      ),
    );
  }

  const move = (planId: string, round: number, change: RoundChange) =>
    db.tx((tx) => transitionRound(tx, planId, round, change, 'coordinator'));

  async function roundIn(state: RoundState, over: Partial<NewPlan> = {}): Promise<PlanRow> {
    const p = await plan(over);
    await open(p.id, 1);
    for (const to of PATH[state]) await move(p.id, 1, CHANGE[to]);
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
        if (to === 'open' || ROUND_TRANSITIONS.some((t) => t.from === from && t.to === to)) continue;
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
    // 5 states x 4 targets, minus the 5 legal moves between existing rounds.
    assert.equal(refused, 15);
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
    for (const to of PATH.published) await move(p.id, 1, CHANGE[to]);
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
    const again = await createPlan(db, newPlan(p.id, FED), 'operator:test');
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
};

describe('nothing else writes plans or rounds', () => {
  it('every INSERT, UPDATE or DELETE of plans and rounds is in round-machine.ts', () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const WRITE =
      /\b(?:UPDATE|INSERT\s+INTO|DELETE\s+FROM|TRUNCATE(?:\s+TABLE)?)\s+(?:\w+\.)?(?:rounds|plans)\b/gi;
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
    assert.deepEqual(offenders, [], 'writes to plans/rounds outside the state machine');
    // Positive control: the machine itself matches the pattern.
    const machine = readFileSync(join(root, 'packages/store/src/round-machine.ts'), 'utf8');
    assert.ok([...machine.matchAll(WRITE)].length >= 4, 'the pattern finds the machine’s own writes');
  });
});
