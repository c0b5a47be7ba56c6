import type { Db, Queryable } from './db.js';

export interface MemberRow {
  federation: string;
  id: string;
  kid: string;
  public_jwk: Record<string, unknown>;
  /** Public X25519 JWK the member receives secrets with; null before it enrolled one. */
  encryption_jwk: Record<string, unknown> | null;
  roles: string[];
  status: 'active' | 'revoked';
  last_seen_at: Date | null;
}

export async function upsertFederation(db: Db, id: string, jwks: unknown): Promise<void> {
  await db.query(
    'INSERT INTO federations (id, jwks) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET jwks = EXCLUDED.jwks',
    [id, JSON.stringify(jwks)],
  );
}

export async function getFederationJwks(db: Queryable, id: string): Promise<unknown | undefined> {
  const { rows } = await db.query<{ jwks: unknown }>('SELECT jwks FROM federations WHERE id = $1', [id]);
  return rows[0]?.jwks;
}

/** Adds a member, or re-activates one with a new key. */
export async function putMember(
  db: Queryable,
  m: {
    federation: string;
    id: string;
    kid: string;
    publicJwk: unknown;
    encryptionJwk?: unknown;
    roles?: string[];
  },
): Promise<void> {
  await db.query(
    `INSERT INTO members (federation, id, kid, public_jwk, encryption_jwk, roles) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (federation, id) DO UPDATE
       SET kid = EXCLUDED.kid, public_jwk = EXCLUDED.public_jwk, encryption_jwk = EXCLUDED.encryption_jwk,
           roles = EXCLUDED.roles, status = 'active', revoked_at = NULL`,
    [
      m.federation,
      m.id,
      m.kid,
      JSON.stringify(m.publicJwk),
      m.encryptionJwk === undefined ? null : JSON.stringify(m.encryptionJwk),
      m.roles ?? ['participant'],
    ],
  );
}

export async function revokeMember(db: Db, federation: string, id: string): Promise<boolean> {
  const r = await db.query(
    `UPDATE members SET status = 'revoked', revoked_at = now() WHERE federation = $1 AND id = $2 AND status = 'active'`,
    [federation, id],
  );
  return (r.rowCount ?? 0) > 0;
}

export async function getMember(
  db: Queryable,
  federation: string,
  id: string,
): Promise<MemberRow | undefined> {
  const { rows } = await db.query<MemberRow>('SELECT * FROM members WHERE federation = $1 AND id = $2', [
    federation,
    id,
  ]);
  return rows[0];
}

export async function listMembers(db: Queryable, federation: string): Promise<MemberRow[]> {
  const { rows } = await db.query<MemberRow>('SELECT * FROM members WHERE federation = $1 ORDER BY id', [
    federation,
  ]);
  return rows;
}

export async function touchMember(db: Db, federation: string, id: string): Promise<void> {
  await db.query('UPDATE members SET last_seen_at = now() WHERE federation = $1 AND id = $2', [
    federation,
    id,
  ]);
}
