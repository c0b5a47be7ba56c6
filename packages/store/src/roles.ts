import type pg from 'pg';

/**
 * The aggregator's database role: NOLOGIN, cluster-wide. The aggregator and the worker connect as a
 * LOGIN role that is a member of it (`kpfl migrate --grant <login role>`); only `kpfl migrate`
 * connects as the schema's owner.
 */
export const AGGREGATOR_ROLE = 'kpfl_aggregator';

type Privilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

/**
 * Exactly what the aggregator, the worker and the operator commands (`kpfl rounds`, `kpfl members`,
 * `kpfl audit`) need, table by table, and nothing else: never TRUNCATE, never DDL, never UPDATE or
 * DELETE of the audit chain or of an accepted contribution. A table not listed here gets nothing
 * (a test checks every table of the schema is listed, so a new table forces a decision).
 */
export const AGGREGATOR_PRIVILEGES: Readonly<Record<string, readonly Privilege[]>> = {
  schema_migrations: ['SELECT'],
  // Start-up registration and `members add|revoke` write these; their rows are never deleted.
  federations: ['SELECT', 'INSERT', 'UPDATE'],
  members: ['SELECT', 'INSERT', 'UPDATE'],
  // The state machine inserts and moves plans and rounds; it never deletes them.
  plans: ['SELECT', 'INSERT', 'UPDATE'],
  rounds: ['SELECT', 'INSERT', 'UPDATE'],
  model_digests: ['SELECT', 'INSERT'],
  // An accepted contribution is evidence: stored once, never changed; its payload goes after publication.
  contributions: ['SELECT', 'INSERT'],
  contribution_chunks: ['SELECT', 'INSERT', 'DELETE'],
  aggregates: ['SELECT', 'INSERT', 'DELETE'],
  evaluations: ['SELECT', 'INSERT', 'UPDATE'],
  certificates: ['SELECT', 'INSERT', 'UPDATE'],
  // Key epochs move pending -> ready -> retired; envelopes are relayed as stored, never changed.
  key_epochs: ['SELECT', 'INSERT', 'UPDATE'],
  key_envelopes: ['SELECT', 'INSERT'],
  // Secure rounds: what participants relay to each other, stored once as received.
  mask_advertisements: ['SELECT', 'INSERT'],
  share_envelopes: ['SELECT', 'INSERT'],
  unmask_responses: ['SELECT', 'INSERT'],
  // Append-only: the triggers refuse UPDATE/DELETE/TRUNCATE for everyone; the role cannot even ask.
  audit_log: ['SELECT', 'INSERT'],
  audit_checkpoints: ['SELECT', 'INSERT'],
};

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** A Postgres role name as kpfl accepts it (lower case, so it needs no quoting). */
export function isRoleName(name: string): boolean {
  return ROLE_NAME.test(name);
}

/**
 * Gives the aggregator role exactly AGGREGATOR_PRIVILEGES on `schema` (revoking anything else,
 * including what earlier migrations granted), and makes each of `grantees` (LOGIN roles) a member.
 * Idempotent: `kpfl migrate` runs it every time. Creating the role needs CREATEROLE; without it the
 * role must already exist (a DBA creates it once: `CREATE ROLE kpfl_aggregator NOLOGIN`).
 * Run as the schema's owner, inside the caller's transaction.
 */
export async function grantAggregatorRole(
  client: pg.PoolClient | pg.Client,
  schema: string,
  grantees: readonly string[] = [],
): Promise<{ created: boolean }> {
  const exists = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [AGGREGATOR_ROLE]);
  let created = false;
  if (exists.rowCount === 0) {
    // Several schemas (tests, deployments) may migrate at once: one of them creates the role.
    await client.query('SAVEPOINT kpfl_role');
    try {
      await client.query(`CREATE ROLE ${AGGREGATOR_ROLE} NOLOGIN`);
      created = true;
      await client.query('RELEASE SAVEPOINT kpfl_role');
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT kpfl_role');
      const code = (err as { code?: string }).code;
      if (code !== '42710' && code !== '23505') throw err; // duplicate_object / unique_violation: it exists now
    }
  }
  await client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${schema} FROM ${AGGREGATOR_ROLE}`);
  await client.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${AGGREGATOR_ROLE}`);
  // Migration 002 gave the role full DML on future tables by default; tables get only what is listed.
  await client.query(
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} REVOKE ALL ON TABLES FROM ${AGGREGATOR_ROLE}`,
  );
  await client.query(
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} REVOKE ALL ON SEQUENCES FROM ${AGGREGATOR_ROLE}`,
  );
  await client.query(`GRANT USAGE ON SCHEMA ${schema} TO ${AGGREGATOR_ROLE}`);
  for (const [table, privileges] of Object.entries(AGGREGATOR_PRIVILEGES)) {
    await client.query(`GRANT ${privileges.join(', ')} ON ${schema}.${table} TO ${AGGREGATOR_ROLE}`);
  }
  // bigserial ids: nextval needs USAGE on the sequence.
  await client.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${schema} TO ${AGGREGATOR_ROLE}`);
  for (const grantee of grantees) {
    const member = await client.query(
      `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles g ON g.oid = m.member
       WHERE r.rolname = $1 AND g.rolname = $2`,
      [AGGREGATOR_ROLE, grantee],
    );
    if (member.rowCount) continue;
    // Two schemas migrating at once may both grant the same membership: the second finds it done.
    await client.query('SAVEPOINT kpfl_grant');
    try {
      await client.query(`GRANT ${AGGREGATOR_ROLE} TO ${grantee}`);
      await client.query('RELEASE SAVEPOINT kpfl_grant');
    } catch (err) {
      await client.query('ROLLBACK TO SAVEPOINT kpfl_grant');
      if ((err as { code?: string }).code !== '23505') throw err;
    }
  }
  return { created };
}
