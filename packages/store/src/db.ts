import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT_CODES, KpflError } from '@kpfl/common';
import pg from 'pg';
import { grantAggregatorRole, isRoleName } from './roles.js';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface DbOptions {
  databaseUrl?: string;
  /** Postgres schema holding this deployment's tables; tests use one schema each. */
  schema?: string;
  max?: number;
  /** Connection attempts before giving up while Postgres is restarting. */
  connectRetries?: number;
  /**
   * Create the schema and apply pending migrations first (see `migrate`): only the schema's owner
   * can, so only `kpfl migrate`, the demo and tests ask for it. Default false: a schema that is
   * missing or behind is refused (NOT_MIGRATED) and nothing is created.
   */
  migrate?: boolean;
}

export type StoreErrorCode =
  | 'BAD_SCHEMA'
  | 'UNAVAILABLE'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'NOT_MIGRATED'
  | 'MIGRATION_FAILED'
  | 'BAD_ROLE';

/** What the store refuses or cannot do. UNAVAILABLE (Postgres does not answer) exits 3; the others 2. */
export class StoreError extends KpflError<StoreErrorCode> {
  override readonly name = 'StoreError';
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, {
      cause: options?.cause,
      exitCode: code === 'UNAVAILABLE' ? EXIT_CODES.unavailable : EXIT_CODES.usage,
    });
  }
}

/** Anything that runs a query: the pool wrapper or a client inside a transaction. */
export interface Queryable {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
}

export interface Db extends Queryable {
  pool: pg.Pool;
  schema: string;
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * Runs `fn` on one consistent snapshot (REPEATABLE READ, READ ONLY): reads that must agree with each
 * other (a round's state and the digest recorded for it) cannot straddle another transaction's commit.
 */
export function inSnapshot<T>(db: Db, fn: (q: pg.PoolClient) => Promise<T>): Promise<T> {
  return db.tx(async (client) => {
    await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    return fn(client);
  });
}

export function assertSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new StoreError(
      'BAD_SCHEMA',
      `schema name "${schema}" must match ${SCHEMA_NAME} (lower-case letters, digits, _)`,
    );
  }
  return schema;
}

/**
 * Opens a pool whose sessions use `schema`. The schema must be migrated already (`kpfl migrate`),
 * unless `migrate: true` asks to do it first as the owner.
 */
export async function openDb(opts: DbOptions = {}): Promise<Db> {
  const schema = assertSchemaName(opts.schema ?? 'kpfl');
  const pool = new pg.Pool({
    connectionString: opts.databaseUrl ?? DEFAULT_DATABASE_URL,
    max: opts.max ?? 10,
    // Lets an operator (or a fault test) find this deployment's sessions in pg_stat_activity.
    application_name: `kpfl:${schema}`,
    options: `-c search_path=${schema}`,
  });
  // An idle client dropped by a Postgres restart must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  try {
    await waitForPostgres(pool, opts.connectRetries ?? 30);
    if (opts.migrate) await migrate(pool, schema);
    else await assertMigrated(pool, schema);
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  const db: Db = {
    pool,
    schema,
    query: (text, values) => pool.query(text, values as unknown[]),
    async tx(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
  return db;
}

async function waitForPostgres(pool: pg.Pool, retries: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await pool.query('SELECT 1');
      return;
    } catch (err) {
      if (attempt >= retries) {
        throw new StoreError(
          'UNAVAILABLE',
          `Postgres is not reachable after ${attempt} attempts: ${(err as Error).message}`,
          { cause: err },
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(2000, 100 * attempt)));
    }
  }
}

const migrationFiles = () =>
  readdirSync(MIGRATIONS_DIR)
    .filter((f) => f.endsWith('.sql'))
    .sort();

/** Refuses a schema that is missing, behind this kpfl's migrations, or not readable by this role. */
async function assertMigrated(pool: pg.Pool, schema: string): Promise<void> {
  const how = `run \`kpfl migrate --schema ${schema}\` as the database owner`;
  let done: Set<string>;
  try {
    const { rows } = await pool.query<{ version: string }>(`SELECT version FROM ${schema}.schema_migrations`);
    done = new Set(rows.map((r) => r.version));
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === '3F000' || code === '42P01')
      throw new StoreError(
        'NOT_MIGRATED',
        `schema ${schema} does not exist or holds no kpfl tables (check --schema; the database owner creates a deployment's schema with \`kpfl migrate --schema ${schema}\`)`,
      );
    if (code === '42501') {
      throw new StoreError(
        'NOT_MIGRATED',
        `this database role may not read schema ${schema}: ${how} with --grant <this role>`,
      );
    }
    throw err;
  }
  const missing = migrationFiles().filter((f) => !done.has(f));
  if (missing.length > 0) {
    throw new StoreError(
      'NOT_MIGRATED',
      `schema ${schema} lacks migration${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: ${how}`,
    );
  }
}

export interface MigrateResult {
  /** Migration files applied now (empty when the schema was current). */
  applied: string[];
  /** Whether the aggregator role (AGGREGATOR_ROLE) got its privileges: it needs creating by a role with CREATEROLE once. */
  role: 'granted' | 'missing';
  /** LOGIN roles made members of the aggregator role. */
  granted: string[];
}

/**
 * Creates the schema if needed, applies migrations/NNN_*.sql in order (once each, each in its own
 * transaction, under an advisory lock so concurrent starts are safe), then gives the aggregator
 * role exactly its privileges (roles.ts) and makes `grantTo` members of it. Run as the owner.
 */
export async function migrate(
  pool: pg.Pool,
  schema: string,
  opts: { grantTo?: readonly string[] } = {},
): Promise<MigrateResult> {
  const grantTo = opts.grantTo ?? [];
  for (const g of grantTo) {
    if (!isRoleName(g))
      throw new StoreError('BAD_ROLE', `"${g}" is not a role name (lower-case letters, digits, _)`);
  }
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    // A mistyped login role changes nothing: checked before the schema is touched.
    for (const g of grantTo) {
      const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [g]);
      if (exists.rowCount === 0) {
        throw new StoreError(
          'BAD_ROLE',
          `role ${g} does not exist: create the aggregator's login role first, e.g. CREATE ROLE ${g} LOGIN PASSWORD '…'`,
        );
      }
    }
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`kpfl-migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = new Set(
      (await client.query<{ version: string }>(`SELECT version FROM ${schema}.schema_migrations`)).rows.map(
        (r) => r.version,
      ),
    );
    for (const file of migrationFiles()) {
      if (done.has(file)) continue;
      const sql = readFileSync(`${MIGRATIONS_DIR}/${file}`, 'utf8').replaceAll(':schema', schema);
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path = ${schema}`);
        await client.query(sql);
        await client.query(`INSERT INTO ${schema}.schema_migrations (version) VALUES ($1)`, [file]);
        await client.query('COMMIT');
        applied.push(file);
      } catch (err) {
        await client.query('ROLLBACK');
        throw new StoreError('MIGRATION_FAILED', `migration ${file} failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
    }
    await client.query('BEGIN');
    try {
      await grantAggregatorRole(client, schema, grantTo);
      await client.query('COMMIT');
      return { applied, role: 'granted', granted: [...grantTo] };
    } catch (err) {
      await client.query('ROLLBACK');
      // Without CREATEROLE the role cannot be made here; grants then wait for a DBA to create it.
      if ((err as { code?: string }).code !== '42501' || grantTo.length > 0) {
        throw new StoreError(
          'BAD_ROLE',
          `cannot give ${schema}'s privileges to the aggregator role: ${(err as Error).message}`,
          { cause: err },
        );
      }
      return { applied, role: 'missing', granted: [] };
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`kpfl-migrate:${schema}`]).catch(() => {});
    client.release();
  }
}

/** `migrate` on its own short-lived connection: what `kpfl migrate`, the demo and tests run as the owner. */
export async function migrateSchema(
  databaseUrl: string,
  schema: string,
  opts: { grantTo?: readonly string[]; connectRetries?: number } = {},
): Promise<MigrateResult> {
  assertSchemaName(schema);
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 1,
    application_name: `kpfl-migrate:${schema}`,
  });
  pool.on('error', () => {});
  try {
    await waitForPostgres(pool, opts.connectRetries ?? 3);
    return await migrate(pool, schema, opts);
  } finally {
    await pool.end().catch(() => {});
  }
}

/** Fails fast with an actionable message when Postgres does not answer (commands, not services). */
export async function checkPostgres(databaseUrl = DEFAULT_DATABASE_URL): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new StoreError(
      'UNAVAILABLE',
      `cannot reach Postgres at ${redact(databaseUrl)} (${(err as Error).message || (err as { code?: string }).code}); start it or set DATABASE_URL`,
      { cause: err },
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/** A connection URL without its password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/** Drops a schema and everything in it (tests and `kpfl demo` cleanup). */
export async function dropSchema(databaseUrl: string | undefined, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl ?? DEFAULT_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${assertSchemaName(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}
