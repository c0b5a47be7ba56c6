import { createHash } from 'node:crypto';
import pg from 'pg';
import { type AuditEntry, AuditError, appendAudit, canonicalJson } from './audit.js';
import type { Db, Queryable } from './db.js';
import { startKeyEpoch } from './key-epochs.js';
import { getMember, type MemberRow, putMember } from './members.js';
import type { Tx } from './round-machine.js';

/**
 * Operator actions on the membership, each one transaction holding the row change and its audit
 * events: `member.added`, `member.revoked`, `federation.registered`. The rows change first and the
 * events are appended as the transaction's last statements (see appendAudit), so an action is
 * either stored with its events or not at all.
 *
 * Each function takes a Db or a pg.Pool (a transaction is opened) or a client (used inside its open
 * transaction, or given one). Concurrent actions on one federation serialize on its federations row.
 */

/** A member's public identity as the coordinator kit and the members table hold it. */
export interface MemberKey {
  id: string;
  kid: string;
  publicJwk: unknown;
  /** Public X25519 JWK for receiving the consortium HE key; absent in kits made before issue 13. */
  encryptionJwk?: unknown;
  /** 'participant' and/or 'auditor'. */
  roles: string[];
}

/** What happened to the federations row's JWKS. */
export type JwksChange = 'created' | 'changed' | 'unchanged';

/** `'sha256:' + hex(SHA-256(canonical JSON))` of a JWKS: what `federation.registered` records. */
export function jwksDigest(jwks: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(jwks), 'utf8').digest('hex')}`;
}

function isDb(q: Queryable): q is Db {
  return typeof (q as Partial<Db>).tx === 'function';
}

/** Runs fn in a transaction: the caller's when `q` is a client inside one, else a new one. */
async function inTransaction<T>(q: Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  if (isDb(q)) return q.tx(fn);
  if (q instanceof pg.Pool) {
    const client = await q.connect();
    try {
      return await inTransaction(client, fn);
    } finally {
      client.release();
    }
  }
  // A savepoint can only be set inside a transaction block: that tells us whether the caller has one.
  try {
    await q.query('SAVEPOINT kpfl_membership');
  } catch (err) {
    if ((err as { code?: string }).code !== '25P01') throw err;
    await q.query('BEGIN');
    try {
      const result = await fn(q);
      await q.query('COMMIT');
      return result;
    } catch (e) {
      await q.query('ROLLBACK').catch(() => {});
      throw e;
    }
  }
  try {
    const result = await fn(q);
    await q.query('RELEASE SAVEPOINT kpfl_membership');
    return result;
  } catch (e) {
    await q.query('ROLLBACK TO SAVEPOINT kpfl_membership').catch(() => {});
    throw e;
  }
}

function bad(message: string): never {
  throw new AuditError('BAD_ENTRY', message);
}

function checkText(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256)
    bad(`${what} must be a non-empty string of at most 256 characters, got ${JSON.stringify(v)}`);
  return v;
}

function checkMember(m: MemberKey): void {
  checkText(m?.id, 'member id');
  checkText(m.kid, `member ${m.id}: kid`);
  if (m.publicJwk === null || typeof m.publicJwk !== 'object' || Array.isArray(m.publicJwk))
    bad(`member ${m.id}: publicJwk must be a JWK object`);
  const enc = m.encryptionJwk as { crv?: unknown; d?: unknown } | undefined;
  if (enc !== undefined && (enc === null || typeof enc !== 'object' || enc.crv !== 'X25519' || 'd' in enc))
    bad(`member ${m.id}: encryptionJwk must be a public X25519 JWK`);
  if (
    !Array.isArray(m.roles) ||
    m.roles.length === 0 ||
    !m.roles.every((r) => r === 'participant' || r === 'auditor')
  )
    bad(`member ${m.id}: roles must list 'participant' and/or 'auditor', got ${JSON.stringify(m.roles)}`);
}

function checkJwks(jwks: unknown): void {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0)
    bad('the federation JWKS must be an object with a non-empty "keys" array');
}

/** Stores the federation's JWKS (creating the row) and locks the row until the transaction ends. */
async function putFederationJwks(tx: Queryable, federation: string, jwks: unknown): Promise<JwksChange> {
  const { rows } = await tx.query<{ created: boolean }>(
    `INSERT INTO federations (id, jwks) VALUES ($1, $2::jsonb)
     ON CONFLICT (id) DO UPDATE SET jwks = EXCLUDED.jwks WHERE federations.jwks IS DISTINCT FROM EXCLUDED.jwks
     RETURNING (xmax = 0) AS created`,
    [federation, JSON.stringify(jwks)],
  );
  if (rows.length === 0) {
    // Unchanged: ON CONFLICT locked the row all the same; take the lock explicitly to say so.
    await tx.query('SELECT 1 FROM federations WHERE id = $1 FOR NO KEY UPDATE', [federation]);
    return 'unchanged';
  }
  return rows[0]!.created ? 'created' : 'changed';
}

function registeredEvent(federation: string, change: JwksChange, jwks: unknown, actor: string): AuditEntry[] {
  if (change === 'unchanged') return [];
  const keys = (jwks as { keys: unknown[] }).keys.length;
  return [
    {
      federation,
      event: 'federation.registered',
      actor,
      data: { change, jwksDigest: jwksDigest(jwks), keys },
    },
  ];
}

function sameKeys(row: MemberRow, m: MemberKey): boolean {
  const x = (j: unknown) => (j as { x?: unknown } | null | undefined)?.x;
  return row.kid === m.kid && x(row.encryption_jwk) === x(m.encryptionJwk);
}

const addedEvent = (federation: string, m: MemberKey, actor: string): AuditEntry => ({
  federation,
  event: 'member.added',
  member: m.id,
  actor,
  data: { kid: m.kid, roles: m.roles, ...encryptionKid(m) },
});

/** The encryption key's kid for audit data, when the member has one. */
function encryptionKid(m: MemberKey): { encryptionKid?: string } {
  const kid = (m.encryptionJwk as { kid?: unknown } | undefined)?.kid;
  return typeof kid === 'string' ? { encryptionKid: kid } : {};
}

const revokedEvent = (
  federation: string,
  m: { id: string; kid: string; roles: string[] },
  actor: string,
): AuditEntry => ({
  federation,
  event: 'member.revoked',
  member: m.id,
  actor,
  data: { kid: m.kid, roles: m.roles },
});

/** Revokes an active member; returns what was revoked, or undefined when it was not active. */
async function markRevoked(
  tx: Queryable,
  federation: string,
  id: string,
): Promise<{ id: string; kid: string; roles: string[] } | undefined> {
  const { rows } = await tx.query<{ kid: string; roles: string[] }>(
    `UPDATE members SET status = 'revoked', revoked_at = now()
     WHERE federation = $1 AND id = $2 AND status = 'active' RETURNING kid, roles`,
    [federation, id],
  );
  return rows[0] ? { id, ...rows[0] } : undefined;
}

/**
 * A revoked participant holds the current HE key: start a new key epoch in the revocation's
 * transaction (rounds in flight under the old one fail, ADR 0008). Auditors never held it.
 */
async function rotateAfterRevocation(
  tx: Queryable,
  federation: string,
  revoked: { id: string; roles: string[] }[],
  actor: string,
): Promise<void> {
  const who = revoked.filter((r) => r.roles.includes('participant')).map((r) => r.id);
  if (who.length === 0) return;
  await startKeyEpoch(tx as Tx, {
    federation,
    reason: 'revocation',
    actor,
    why: `revoked ${who.join(', ')}`,
  });
}

async function appendAll(tx: Queryable, entries: AuditEntry[]): Promise<void> {
  for (const e of entries) await appendAudit(tx, e);
}

/**
 * `kpfl members add`: stores the JWKS that now includes the member (creating the federation row if
 * needed), adds the member or re-activates it with this key, and appends `federation.registered`
 * (when the JWKS row changed) and `member.added` `{ kid, roles }`, all in one transaction.
 */
export async function addMemberAudited(
  q: Queryable,
  a: { federation: string; member: MemberKey; jwks: unknown; actor: string },
): Promise<{ jwks: JwksChange }> {
  checkText(a.federation, 'federation');
  checkText(a.actor, 'audit actor');
  checkMember(a.member);
  checkJwks(a.jwks);
  return inTransaction(q, async (tx) => {
    const change = await putFederationJwks(tx, a.federation, a.jwks);
    await putMember(tx, { federation: a.federation, ...a.member });
    await appendAll(tx, [
      ...registeredEvent(a.federation, change, a.jwks, a.actor),
      addedEvent(a.federation, a.member, a.actor),
    ]);
    return { jwks: change };
  });
}

/**
 * `kpfl members add --request`: a member that made its own keys (packages/kpt enrollment.ts). Like
 * addMemberAudited, but refuses an id the federation already has (active or revoked: an enrolled id
 * is never re-keyed by a request), and audits `member.enrolled` `{ fingerprint, kid, encryptionKid,
 * role }`. `beforeCommit` runs inside the transaction after the rows and events are written (the CLI
 * writes the coordinator kit there); if it throws, nothing is stored. Returns `{ enrolled: false,
 * status }` without changing anything when the id exists.
 */
export async function enrollMemberAudited(
  q: Queryable,
  a: {
    federation: string;
    member: MemberKey;
    jwks: unknown;
    actor: string;
    fingerprint: string;
    beforeCommit?: () => Promise<void> | void;
  },
): Promise<{ enrolled: true; jwks: JwksChange } | { enrolled: false; status: MemberRow['status'] }> {
  checkText(a.federation, 'federation');
  checkText(a.actor, 'audit actor');
  checkText(a.fingerprint, 'enrollment fingerprint');
  checkMember(a.member);
  checkJwks(a.jwks);
  if (a.member.roles.length !== 1) bad(`member ${a.member.id}: an enrollment names exactly one role`);
  return inTransaction(q, async (tx) => {
    // Lock the federation first, so that two enrollments of one id cannot both pass the check.
    await tx.query('SELECT 1 FROM federations WHERE id = $1 FOR NO KEY UPDATE', [a.federation]);
    const existing = await getMember(tx, a.federation, a.member.id);
    if (existing) return { enrolled: false as const, status: existing.status };
    const change = await putFederationJwks(tx, a.federation, a.jwks);
    await putMember(tx, { federation: a.federation, ...a.member });
    await appendAll(tx, [
      ...registeredEvent(a.federation, change, a.jwks, a.actor),
      {
        federation: a.federation,
        event: 'member.enrolled',
        member: a.member.id,
        actor: a.actor,
        data: {
          fingerprint: a.fingerprint,
          kid: a.member.kid,
          ...encryptionKid(a.member),
          role: a.member.roles[0],
        },
      },
    ]);
    await a.beforeCommit?.();
    return { enrolled: true as const, jwks: change };
  });
}

/**
 * An enrollment request the coordinator refused, audited on its own (`member.enrollment_refused`
 * `{ claimedMember, fingerprint, reason }`; the row's member is null: nobody was enrolled). The
 * values come from the request's sender: the caller bounds them (clip) before they get here.
 */
export async function recordEnrollmentRefusal(
  q: Queryable,
  a: {
    federation: string;
    actor: string;
    claimedMember: string | null;
    fingerprint: string | null;
    reason: string;
  },
): Promise<void> {
  checkText(a.federation, 'federation');
  checkText(a.actor, 'audit actor');
  await appendAudit(q, {
    federation: a.federation,
    event: 'member.enrollment_refused',
    actor: a.actor,
    data: { claimedMember: a.claimedMember, fingerprint: a.fingerprint, reason: a.reason },
  });
}

/** Outcome of a revocation in Postgres. */
export type RevokeOutcome = 'revoked' | 'already revoked' | 'not registered';

/**
 * `kpfl members revoke`: marks an active member revoked and appends `member.revoked` `{ kid, roles }`
 * in the same transaction. Changes and appends nothing when the federation or the member is not
 * registered, or the member is revoked already.
 */
export async function revokeMemberAudited(
  q: Queryable,
  a: { federation: string; id: string; actor: string },
): Promise<RevokeOutcome> {
  checkText(a.federation, 'federation');
  checkText(a.id, 'member id');
  checkText(a.actor, 'audit actor');
  return inTransaction(q, async (tx) => {
    const fed = await tx.query('SELECT 1 FROM federations WHERE id = $1 FOR NO KEY UPDATE', [a.federation]);
    if (fed.rowCount === 0) return 'not registered';
    const revoked = await markRevoked(tx, a.federation, a.id);
    if (!revoked) return (await getMember(tx, a.federation, a.id)) ? 'already revoked' : 'not registered';
    await rotateAfterRevocation(tx, a.federation, [revoked], a.actor);
    await appendAudit(tx, revokedEvent(a.federation, revoked, a.actor));
    return 'revoked';
  });
}

/** A member as the coordinator kit lists it: revocation is recorded in the kit too. */
export interface KitMember extends MemberKey {
  status?: 'active' | 'revoked';
}

/**
 * Start-up registration: makes Postgres' registry match the coordinator kit, in one transaction
 * with its events. Stores the kit's JWKS (`federation.registered` when created or changed), adds
 * members new to Postgres or whose key changed (`member.added`), applies revocations recorded in
 * the kit (`member.revoked`; a member revoked in the kit but unknown to Postgres is added and then
 * revoked, so the log holds both), and never re-activates a member Postgres says is revoked.
 * Running it again with the same kit changes and appends nothing.
 */
export async function registerFederationAudited(
  q: Queryable,
  a: { federation: string; jwks: unknown; members: KitMember[]; actor: string },
): Promise<{ jwks: JwksChange; added: string[]; revoked: string[] }> {
  checkText(a.federation, 'federation');
  checkText(a.actor, 'audit actor');
  checkJwks(a.jwks);
  if (!Array.isArray(a.members)) bad('members must be an array');
  for (const m of a.members) {
    checkMember(m);
    if (m.status !== undefined && m.status !== 'active' && m.status !== 'revoked')
      bad(`member ${m.id}: status must be 'active' or 'revoked', got ${JSON.stringify(m.status)}`);
  }
  return inTransaction(q, async (tx) => {
    const change = await putFederationJwks(tx, a.federation, a.jwks);
    const events: AuditEntry[] = registeredEvent(a.federation, change, a.jwks, a.actor);
    const added: string[] = [];
    const revoked: string[] = [];
    for (const m of a.members) {
      const existing = await getMember(tx, a.federation, m.id);
      const key = {
        id: m.id,
        kid: m.kid,
        publicJwk: m.publicJwk,
        encryptionJwk: m.encryptionJwk,
        roles: m.roles,
      };
      if (m.status === 'revoked') {
        if (!existing) {
          await putMember(tx, { federation: a.federation, ...key });
          events.push(addedEvent(a.federation, key, a.actor));
          added.push(m.id);
        }
        const r = await markRevoked(tx, a.federation, m.id);
        if (r) {
          events.push(revokedEvent(a.federation, r, a.actor));
          revoked.push(m.id);
        }
        continue;
      }
      if (existing?.status === 'revoked' || (existing && sameKeys(existing, m))) continue;
      await putMember(tx, { federation: a.federation, ...key });
      events.push(addedEvent(a.federation, key, a.actor));
      added.push(m.id);
    }
    const revokedRows = events.flatMap((e) =>
      e.event === 'member.revoked' ? [{ id: e.member!, roles: (e.data as { roles: string[] }).roles }] : [],
    );
    await rotateAfterRevocation(tx, a.federation, revokedRows, a.actor);
    await appendAll(tx, events);
    return { jwks: change, added, revoked };
  });
}
