import pg from 'pg';
import { assertSchemaName, StoreError } from './db.js';

/**
 * Whether `schema` exists, asked on a single short-lived connection that creates nothing (unlike
 * openDb, which creates and migrates the schema). Throws StoreError('UNAVAILABLE') when Postgres
 * cannot be reached, with the driver's reason.
 */
export async function schemaExists(databaseUrl: string, schema: string): Promise<boolean> {
  assertSchemaName(schema);
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const r = await client.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [
      schema,
    ]);
    return r.rowCount === 1;
  } catch (err) {
    throw new StoreError('UNAVAILABLE', `cannot reach Postgres: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
}
