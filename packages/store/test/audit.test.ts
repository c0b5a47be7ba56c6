import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import {
  AuditError,
  type AuditRow,
  appendAudit,
  auditHead,
  canonicalJson,
  computeAuditHash,
  type Db,
  DEFAULT_DATABASE_URL,
  dropSchema,
  GENESIS_HASH,
  openDb,
  queryAudit,
} from '../src/index.js';

const FED = 'fed-a';

async function allRows(db: Db): Promise<AuditRow[]> {
  const rows: AuditRow[] = [];
  for (let afterSeq = 0; ; ) {
    const page = await queryAudit(db, { afterSeq, limit: 1000 });
    rows.push(...page.rows);
    if (page.nextAfterSeq === undefined) return rows;
    afterSeq = page.nextAfterSeq;
  }
}

/** Every row links to the previous one and hashes to its recorded hash; seq is 1..n. */
function assertChain(rows: AuditRow[]): void {
  let prev = GENESIS_HASH;
  rows.forEach((r, i) => {
    assert.equal(r.seq, i + 1, 'seq is contiguous');
    assert.equal(r.prevHash, prev, `row ${r.seq} links to row ${r.seq - 1}`);
    assert.equal(computeAuditHash(r), r.hash, `row ${r.seq} hashes to its recorded hash`);
    prev = r.hash;
  });
}

async function expectAuditError(fn: () => Promise<unknown>, code: string, message: RegExp) {
  await assert.rejects(fn, (err: unknown) => {
    assert.ok(err instanceof AuditError, `expected AuditError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('canonical JSON', () => {
  it('sorts member names by UTF-16 code units, drops undefined members, keeps no whitespace (RFC 8785)', () => {
    assert.equal(
      canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: undefined, y: 'é\n"' } }),
      '{"a":[true,null,"x"],"b":1,"c":{"y":"é\\n\\""}}',
    );
    assert.equal(
      canonicalJson({ '\u00e9': 1, z: 2, Z: 3, '10': 4, '9': 5 }),
      '{"10":4,"9":5,"Z":3,"z":2,"é":1}',
    );
    assert.equal(canonicalJson([1e21, 0.1, -0, 1.5e-7, 123456789012]), '[1e+21,0.1,0,1.5e-7,123456789012]');
    assert.throws(() => canonicalJson({ x: Number.NaN }), AuditError);
  });
});

describe('audit log in Postgres', () => {
  let db: Db;
  const schema = `audit_test_${randomBytes(5).toString('hex')}`;

  before(async () => {
    db = await openDb({ migrate: true, schema, max: 60 });
  });
  after(async () => {
    await db.close();
    await dropSchema(undefined, schema);
  });

  it('appends a chain whose rows hash and link, with `at` rendered to the microsecond in UTC', async () => {
    const a = await appendAudit(db, {
      federation: FED,
      event: 'member.added',
      member: 'alice',
      actor: 'operator',
    });
    const b = await appendAudit(db, {
      federation: FED,
      event: 'round.opened',
      planId: 'p1',
      round: 1,
      actor: 'coordinator',
      data: { sampled: ['alice', 'bob'], zeta: 1, alpha: { nested: [1.25, 'ü', null] }, dropped: undefined },
    });
    assert.equal(a.seq, 1);
    assert.equal(b.seq, 2);
    const rows = await allRows(db);
    assertChain(rows);
    assert.equal(rows[1].hash, b.hash);
    assert.match(rows[0].at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    assert.deepEqual(rows[1].data, {
      sampled: ['alice', 'bob'],
      zeta: 1,
      alpha: { nested: [1.25, 'ü', null] },
    });
    assert.deepEqual(await auditHead(db), { seq: 2, hash: b.hash, at: rows[1].at, event: 'round.opened' });
  });

  it('hashes data exactly as jsonb gives it back (floats, big and negative numbers, unicode, escapes, key order)', async () => {
    const data = {
      '\u00e9': 'e-acute',
      Z: [0.1 + 0.2, 1e21, -0, 2 ** 53 + 2, -1.5e-9, 123456.789],
      a: 'tab\tquote"backslash\\ emoji 😀 \u2028',
      nested: { b: { c: [{}, [], ''] } },
      bool: false,
    };
    await appendAudit(db, { federation: FED, event: 'token.issued', member: 'bob', data });
    assertChain(await allRows(db));
  });

  it('refuses unknown events and data that is not a JSON object (BAD_ENTRY)', async () => {
    await expectAuditError(
      () => appendAudit(db, { federation: FED, event: 'round.exploded' as never }),
      'BAD_ENTRY',
      /unknown audit event "round.exploded"/,
    );
    await expectAuditError(
      () => appendAudit(db, { federation: FED, event: 'rpc.refused', data: [1] as never }),
      'BAD_ENTRY',
      /JSON object/,
    );
    await expectAuditError(
      () => appendAudit(db, { federation: FED, event: 'rpc.refused', data: { n: Number.POSITIVE_INFINITY } }),
      'BAD_ENTRY',
      /non-finite/,
    );
    await expectAuditError(
      () => appendAudit(db, { federation: FED, event: 'rpc.refused', round: -1 }),
      'BAD_ENTRY',
      /round/,
    );
    await expectAuditError(
      () => appendAudit(db, { federation: '', event: 'rpc.refused' }),
      'BAD_ENTRY',
      /federation/,
    );
  });

  it("commits and rolls back with the caller's transaction, leaving no seq gap", async () => {
    const head = await auditHead(db);
    await assert.rejects(
      db.tx(async (client) => {
        await appendAudit(client, { federation: FED, event: 'contribution.received', member: 'carol' });
        throw new Error('the contribution failed to store');
      }),
      /failed to store/,
    );
    assert.equal((await auditHead(db)).seq, head.seq, 'a rolled-back append leaves nothing');
    const inTx = await db.tx((client) =>
      appendAudit(client, { federation: FED, event: 'contribution.received', member: 'carol' }),
    );
    assert.equal(inTx.seq, head.seq + 1);
    // A client outside any transaction gets one of its own.
    const client = await db.pool.connect();
    try {
      const own = await appendAudit(client, {
        federation: FED,
        event: 'contribution.accepted',
        member: 'carol',
      });
      assert.equal(own.seq, head.seq + 2);
    } finally {
      client.release();
    }
    // So does a bare pool.
    const viaPool = await appendAudit(db.pool, {
      federation: FED,
      event: 'rpc.refused',
      data: { reason: 'unauthenticated' },
    });
    assert.equal(viaPool.seq, head.seq + 3);
    assertChain(await allRows(db));
  });

  it('50 concurrent transactions append to one chain, without forks or gaps', async () => {
    const head = await auditHead(db);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        db.tx(async (client) => {
          await client.query('SELECT pg_sleep(0.002 * random())');
          const r = await appendAudit(client, {
            federation: FED,
            event: 'contribution.accepted',
            planId: 'p1',
            round: 2,
            member: `m${i}`,
            data: { i },
          });
          await client.query('SELECT pg_sleep(0.002 * random())');
          return r;
        }),
      ),
    );
    const seqs = results.map((r) => r.seq).sort((a, b) => a - b);
    assert.deepEqual(
      seqs,
      Array.from({ length: 50 }, (_, i) => head.seq + 1 + i),
    );
    const rows = await allRows(db);
    assertChain(rows);
    assert.equal(new Set(rows.map((r) => r.prevHash)).size, rows.length, 'no two rows extend the same row');
  });

  it('Postgres refuses UPDATE, DELETE and TRUNCATE of audit rows, even for a superuser', async () => {
    await assert.rejects(
      db.query(`UPDATE audit_log SET data = '{"forged":true}' WHERE seq = 1`),
      /audit_log is append-only: UPDATE of seq 1 refused/,
    );
    await assert.rejects(
      db.query('DELETE FROM audit_log WHERE seq = 2'),
      /audit_log is append-only: DELETE of seq 2 refused/,
    );
    await assert.rejects(db.query('TRUNCATE audit_log'), /audit_log is append-only: TRUNCATE refused/);
    await assert.rejects(
      db
        .query(`INSERT INTO audit_checkpoints VALUES (1, '${GENESIS_HASH}', 'x', now())`)
        .then(() => db.query('DELETE FROM audit_checkpoints')),
      /audit_checkpoints is append-only/,
    );
    assertChain(await allRows(db));
  });

  it('a forked or duplicated row is refused by the table itself (unique seq and prev_hash)', async () => {
    const head = await auditHead(db);
    const fork = { seq: head.seq + 1, prevHash: (await allRows(db)).at(-2)!.hash };
    await assert.rejects(
      db.query(
        `INSERT INTO audit_log (seq, at, federation, event, data, prev_hash, hash) VALUES ($1, now(), 'x', 'rpc.refused', '{}', $2, $3)`,
        [fork.seq, fork.prevHash, `sha256:${'1'.repeat(64)}`],
      ),
      /audit_log_prev_hash_key/,
    );
  });

  describe('the kpfl_aggregator role', () => {
    async function asAggregator<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
      return db.tx(async (client) => {
        await client.query('SET LOCAL ROLE kpfl_aggregator');
        return fn(client);
      });
    }

    it('exists as NOLOGIN', async () => {
      const { rows } = await db.query<{ rolcanlogin: boolean }>(
        `SELECT rolcanlogin FROM pg_roles WHERE rolname = 'kpfl_aggregator'`,
      );
      assert.deepEqual(rows, [{ rolcanlogin: false }]);
    });

    it('can append (SELECT + INSERT) and write the registry, but never delete it', async () => {
      const r = await asAggregator((c) =>
        appendAudit(c, { federation: FED, event: 'round.closed', planId: 'p1', round: 2 }),
      );
      assert.ok(r.seq > 0);
      await asAggregator(async (c) => {
        await c.query(`INSERT INTO federations (id) VALUES ('role-check')`);
        await c.query(`UPDATE federations SET jwks = '{"keys":[]}' WHERE id = 'role-check'`);
      });
      await assert.rejects(
        asAggregator((c) => c.query(`DELETE FROM federations WHERE id = 'role-check'`)),
        /permission denied/,
      );
      assertChain(await allRows(db));
    });

    for (const [what, sql] of [
      ['UPDATE', `UPDATE audit_log SET member = 'mallory' WHERE seq = 1`],
      ['DELETE', 'DELETE FROM audit_log WHERE seq = 1'],
      ['TRUNCATE', 'TRUNCATE audit_log'],
      ['UPDATE of a checkpoint', `UPDATE audit_checkpoints SET jws = 'x'`],
    ] as const) {
      it(`cannot ${what} audit rows: permission denied`, async () => {
        await assert.rejects(
          asAggregator((c) => c.query(sql)),
          (err: { code?: string; message?: string }) => {
            assert.equal(
              err.code,
              '42501',
              `expected insufficient_privilege, got ${err.code}: ${err.message}`,
            );
            assert.match(String(err.message), /permission denied/);
            return true;
          },
        );
      });
    }

    it('cannot lift the protection either (disable the trigger, or replica mode)', async () => {
      await assert.rejects(
        asAggregator((c) => c.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete')),
        /must be owner/,
      );
      await assert.rejects(
        asAggregator((c) => c.query('SET LOCAL session_replication_role = replica')),
        /permission denied/,
      );
    });
  });

  describe('queryAudit', () => {
    it('filters by member, round, plan, event and time, and pages by seq (keyset)', async () => {
      const all = await allRows(db);
      const byMember = await queryAudit(db, { member: 'carol', limit: 100 });
      assert.deepEqual(
        byMember.rows.map((r) => r.seq),
        all.filter((r) => r.member === 'carol').map((r) => r.seq),
      );
      const round2 = all.filter((r) => r.round === 2 && r.planId === 'p1');
      const pages: number[] = [];
      let cursor: number | undefined;
      do {
        const page = await queryAudit(db, { round: 2, planId: 'p1', afterSeq: cursor, limit: 7 });
        assert.ok(page.rows.length <= 7);
        pages.push(...page.rows.map((r) => r.seq));
        cursor = page.nextAfterSeq;
      } while (cursor !== undefined);
      assert.deepEqual(
        pages,
        round2.map((r) => r.seq),
      );
      const events = await queryAudit(db, { event: ['round.opened', 'round.closed'], limit: 10 });
      assert.deepEqual(
        events.rows.map((r) => r.event),
        all.filter((r) => r.event === 'round.opened' || r.event === 'round.closed').map((r) => r.event),
      );
      const middle = all[Math.floor(all.length / 2)];
      const later = await queryAudit(db, { from: middle.at, limit: 10_000 });
      assert.ok(later.rows.every((r) => r.at >= middle.at));
      assert.ok(later.rows.some((r) => r.seq === middle.seq));
      const earlier = await queryAudit(db, { to: new Date(Date.parse(all[0].at) - 1000), limit: 10 });
      assert.equal(earlier.rows.length, 0);
    });

    it('refuses a malformed query with BAD_FILTER', async () => {
      await expectAuditError(
        () => queryAudit(db, { limit: 0 }),
        'BAD_FILTER',
        /limit must be an integer in 1\.\.10000/,
      );
      await expectAuditError(() => queryAudit(db, { limit: 10, round: 1.5 }), 'BAD_FILTER', /round/);
      await expectAuditError(
        () => queryAudit(db, { limit: 10, from: 'yesterday' }),
        'BAD_FILTER',
        /from is not a valid time/,
      );
    });
  });
});

describe('migration 002', () => {
  it('runs concurrently in several schemas (the role is cluster-wide) and drops cleanly', async () => {
    const schemas = Array.from({ length: 4 }, () => `audit_mig_${randomBytes(5).toString('hex')}`);
    const dbs = await Promise.all(schemas.map((schema) => openDb({ migrate: true, schema, max: 2 })));
    try {
      for (const d of dbs) {
        const r = await appendAudit(d, { federation: FED, event: 'member.added', member: 'x' });
        assert.equal(r.seq, 1, 'each schema has its own chain');
      }
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
      await Promise.all(schemas.map((s) => dropSchema(undefined, s)));
    }
    const c = new pg.Client({ connectionString: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL });
    await c.connect();
    try {
      const { rows } = await c.query(
        `SELECT 1 FROM pg_default_acl d
         WHERE d.defaclnamespace <> 0 AND NOT EXISTS (SELECT 1 FROM pg_namespace n WHERE n.oid = d.defaclnamespace)`,
      );
      assert.equal(rows.length, 0, 'no default privileges outlive their schema');
    } finally {
      await c.end();
    }
  });
});
