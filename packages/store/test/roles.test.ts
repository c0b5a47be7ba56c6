import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import {
  AGGREGATOR_PRIVILEGES,
  AGGREGATOR_ROLE,
  DEFAULT_DATABASE_URL,
  dropSchema,
  migrateSchema,
  openDb,
  StoreError,
  schemaExists,
} from '../src/index.js';

/** A login role of these tests only, made a member of the aggregator role by migrateSchema. */
const LOGIN = 'kpfl_test_roles_login';
const asLogin = `postgres://${LOGIN}@127.0.0.1:5432/test`;

async function superuser<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: DEFAULT_DATABASE_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('kpfl migrate: the owner migrates, the aggregator role gets exactly its privileges', () => {
  const schema = `store_roles_${randomBytes(4).toString('hex')}`;
  before(async () => {
    await superuser((c) => c.query(`CREATE ROLE ${LOGIN} LOGIN`).catch(() => {}));
  });
  after(() => dropSchema(undefined, schema));

  it('a schema that does not exist is refused, and nothing is created', async () => {
    await assert.rejects(openDb({ schema, connectRetries: 1 }), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.code, 'NOT_MIGRATED');
      assert.match(
        err.message,
        new RegExp(`schema ${schema} does not exist .*kpfl migrate --schema ${schema}`),
      );
      return true;
    });
    assert.equal(await schemaExists(DEFAULT_DATABASE_URL, schema), false);
  });

  it('a login role that does not exist is named, and nothing is granted', async () => {
    await assert.rejects(
      migrateSchema(DEFAULT_DATABASE_URL, schema, { grantTo: ['kpfl_no_such_login'] }),
      (err: unknown) =>
        err instanceof StoreError &&
        err.code === 'BAD_ROLE' &&
        /role kpfl_no_such_login does not exist: create the aggregator's login role first/.test(err.message),
    );
    await assert.rejects(
      migrateSchema(DEFAULT_DATABASE_URL, schema, { grantTo: ['Robert; DROP TABLE x'] }),
      (err: unknown) =>
        err instanceof StoreError && err.code === 'BAD_ROLE' && /is not a role name/.test(err.message),
    );
    assert.equal(
      await schemaExists(DEFAULT_DATABASE_URL, schema),
      false,
      'a refused migrate creates nothing',
    );
  });

  it('migrates once, grants the login role, and the next run changes nothing', async () => {
    const first = await migrateSchema(DEFAULT_DATABASE_URL, schema, { grantTo: [LOGIN] });
    assert.ok(first.applied.length >= 3, `applied ${first.applied.join(', ')}`);
    assert.equal(first.role, 'granted');
    assert.deepEqual(first.granted, [LOGIN]);
    const again = await migrateSchema(DEFAULT_DATABASE_URL, schema, { grantTo: [LOGIN] });
    assert.deepEqual(again.applied, []);
    const db = await openDb({ schema, databaseUrl: asLogin, max: 1 });
    await db.close();
  });

  it('every table of the schema is in AGGREGATOR_PRIVILEGES, and the role holds exactly those', async () => {
    const rows = await superuser(
      async (c) =>
        (
          await c.query<{ table_name: string; privilege_type: string }>(
            `SELECT t.table_name, p.privilege_type
           FROM information_schema.tables t
           LEFT JOIN information_schema.role_table_grants p
             ON p.table_schema = t.table_schema AND p.table_name = t.table_name AND p.grantee = $2
           WHERE t.table_schema = $1`,
            [schema, AGGREGATOR_ROLE],
          )
        ).rows,
    );
    const held: Record<string, string[]> = {};
    for (const r of rows) {
      held[r.table_name] ??= [];
      if (r.privilege_type) held[r.table_name]!.push(r.privilege_type);
    }
    for (const t of Object.keys(held))
      assert.ok(
        t in AGGREGATOR_PRIVILEGES,
        `table ${t} has no entry in AGGREGATOR_PRIVILEGES: decide what the aggregator may do with it`,
      );
    for (const [t, want] of Object.entries(AGGREGATOR_PRIVILEGES))
      assert.deepEqual([...(held[t] ?? [])].sort(), [...want].sort(), `privileges on ${t}`);
  });

  it('as the aggregator it cannot change evidence, drop, truncate or create anything', async () => {
    const db = await openDb({ schema, databaseUrl: asLogin, max: 1 });
    try {
      for (const sql of [
        `UPDATE contributions SET example_count = 1`,
        `DELETE FROM contributions`,
        `DELETE FROM plans`,
        `DELETE FROM rounds`,
        `DELETE FROM members`,
        `UPDATE audit_log SET actor = 'mallory'`,
        `DELETE FROM audit_checkpoints`,
        `TRUNCATE rounds`,
        `DROP TABLE evaluations`,
        `ALTER TABLE rounds ADD COLUMN x int`,
        `CREATE TABLE ${schema}.extra (x int)`,
        `INSERT INTO schema_migrations (version) VALUES ('999_forged.sql')`,
      ]) {
        await assert.rejects(db.query(sql), (err: { code?: string; message?: string }) => {
          assert.ok(
            err.code === '42501' || /must be owner/.test(String(err.message)),
            `${sql}: expected a privilege error, got ${err.code}: ${err.message}`,
          );
          return true;
        });
      }
    } finally {
      await db.close();
    }
  });
});
