import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DEFAULT_DATABASE_URL, dropSchema, openDb, StoreError, schemaExists } from '../src/index.js';

describe('schemaExists', () => {
  it('tells an existing schema from an absent one, and creates nothing', async () => {
    const schema = `store_probe_${randomBytes(4).toString('hex')}`;
    assert.equal(await schemaExists(DEFAULT_DATABASE_URL, schema), false);
    assert.equal(await schemaExists(DEFAULT_DATABASE_URL, schema), false, 'asking did not create it');
    const db = await openDb({ migrate: true, schema, max: 1 });
    try {
      assert.equal(await schemaExists(DEFAULT_DATABASE_URL, schema), true);
    } finally {
      await db.close();
      await dropSchema(undefined, schema);
    }
  });

  it('refuses a malformed schema name and names an unreachable Postgres', async () => {
    await assert.rejects(
      schemaExists(DEFAULT_DATABASE_URL, 'No-Such; DROP'),
      (e: unknown) => e instanceof StoreError && e.code === 'BAD_SCHEMA' && /must match/.test(e.message),
    );
    await assert.rejects(
      schemaExists('postgres://postgres@127.0.0.1:1/test', 'kpfl'),
      (e: unknown) =>
        e instanceof StoreError && e.code === 'UNAVAILABLE' && /^cannot reach Postgres: /.test(e.message),
    );
  });
});
