import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EXIT_CODES, KpflError } from '@kpfl/common';
import pg from 'pg';

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
}

export type StoreErrorCode = 'BAD_SCHEMA' | 'UNAVAILABLE' | 'NOT_FOUND' | 'CONFLICT';

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

export function assertSchemaName(schema: string): string {
  if (!SCHEMA_NAME.test(schema)) {
    throw new StoreError(
      'BAD_SCHEMA',
      `schema name "${schema}" must match ${SCHEMA_NAME} (lower-case letters, digits, _)`,
    );
  }
  return schema;
}

/** Opens a pool whose sessions use `schema`, creating it and applying migrations. */
export async function openDb(opts: DbOptions = {}): Promise<Db> {
  const schema = assertSchemaName(opts.schema ?? 'kpfl');
  const pool = new pg.Pool({
    connectionString: opts.databaseUrl ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    max: opts.max ?? 10,
    // Lets an operator (or a fault test) find this deployment's sessions in pg_stat_activity.
    application_name: `kpfl:${schema}`,
    options: `-c search_path=${schema}`,
  });
  // An idle client dropped by a Postgres restart must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  await waitForPostgres(pool, opts.connectRetries ?? 30);
  await migrate(pool, schema);
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

/** Applies migrations/NNN_*.sql in order, once each, under an advisory lock so concurrent starts are safe. */
export async function migrate(pool: pg.Pool, schema: string): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
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
    for (const file of readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith('.sql'))
      .sort()) {
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
        throw new Error(`migration ${file} failed: ${(err as Error).message}`);
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`kpfl-migrate:${schema}`]).catch(() => {});
    client.release();
  }
  return applied;
}

/** Fails fast with an actionable message when Postgres does not answer (commands, not services). */
export async function checkPostgres(
  databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
): Promise<void> {
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
  const client = new pg.Client({
    connectionString: databaseUrl ?? process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
  });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${assertSchemaName(schema)} CASCADE`);
  } finally {
    await client.end();
  }
}
