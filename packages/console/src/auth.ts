import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  ChallengeRegistry,
  type IdentityKey,
  isKptError,
  type JWK,
  signChallenge,
  unverifiedClaims,
} from '@kpfl/kpt';
import { type Db, getMember } from '@kpfl/store';
import { ConsoleError } from './errors.js';

/** Who a console session belongs to: an auditor (a member with the auditor role) or the operator. */
export type ConsoleRole = 'auditor' | 'operator';

/** The subject the operator proves: the coordinator kit's signing key. */
export const OPERATOR_SUBJECT = 'coordinator';
export const COOKIE_NAME = 'kpfl_console';
export const DEFAULT_SESSION_TTL_S = 15 * 60;

export interface ConsoleSession {
  id: string;
  subject: string;
  role: ConsoleRole;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

/** The challenge audience: a console proof is never a gRPC Authenticate proof, nor the reverse. */
export const consoleAudience = (federation: string) => `kpfl:${federation}:console`;

/**
 * Log-in by proof of a kit's identity key, over the challenge of the gRPC Authenticate (kpt's
 * ChallengeRegistry: single-use nonce, 60 s, compact JWS {nonce, aud, sub, iat} checked with
 * verifyChallengeResponse), with the console's own audience. A session is a random 256-bit id held
 * here only; every use re-reads the auditor from Postgres, so revocation ends it at once.
 */
export class ConsoleAuth {
  readonly #db: Db;
  readonly #federation: string;
  readonly #operatorJwk: JWK;
  readonly #ttlMs: number;
  readonly #challenges: ChallengeRegistry;
  readonly #sessions = new Map<string, ConsoleSession>();

  constructor(o: { db: Db; federation: string; operatorJwk: JWK; sessionTtlSeconds?: number }) {
    this.#db = o.db;
    this.#federation = o.federation;
    this.#operatorJwk = o.operatorJwk;
    this.#ttlMs = (o.sessionTtlSeconds ?? DEFAULT_SESSION_TTL_S) * 1000;
    this.#challenges = new ChallengeRegistry({ audience: consoleAudience(o.federation) });
  }

  get audience(): string {
    return this.#challenges.audience;
  }

  /** The registered public key and role of a subject, or why it may not log in. */
  async #keyOf(subject: string): Promise<{ jwk: JWK; role: ConsoleRole }> {
    if (subject === OPERATOR_SUBJECT) return { jwk: this.#operatorJwk, role: 'operator' };
    const m = await getMember(this.#db, this.#federation, subject);
    if (!m) throw new ConsoleError('UNAUTHENTICATED', `"${subject}" is not a member of ${this.#federation}`);
    if (!m.roles.includes('auditor'))
      throw new ConsoleError('FORBIDDEN', `"${subject}" lacks role "auditor" (has ${m.roles.join(', ')})`);
    if (m.status !== 'active') throw new ConsoleError('FORBIDDEN', `member ${subject} is revoked`);
    return { jwk: m.public_jwk as JWK, role: 'auditor' };
  }

  async challenge(subject: string) {
    if (typeof subject !== 'string' || subject.length === 0 || subject.length > 128)
      throw new ConsoleError('BAD_REQUEST', 'a challenge needs a subject: a member id or "coordinator"');
    await this.#keyOf(subject);
    const c = this.#challenges.issue(subject);
    return { nonce: c.nonce, expiresAt: c.expiresAt, audience: this.audience, subject };
  }

  /** Verifies a challenge response and opens a session for its subject. */
  async login(proof: unknown): Promise<ConsoleSession> {
    if (typeof proof !== 'string' || proof.length > 4096)
      throw new ConsoleError('BAD_REQUEST', 'a log-in needs "proof": the compact JWS answering a challenge');
    const sub = unverifiedClaims(proof)?.sub;
    if (typeof sub !== 'string')
      throw new ConsoleError('UNAUTHENTICATED', 'the proof is not a challenge response (no subject)');
    const { jwk, role } = await this.#keyOf(sub);
    try {
      await this.#challenges.redeem(proof, jwk, sub);
    } catch (err) {
      if (isKptError(err)) throw new ConsoleError('UNAUTHENTICATED', err.message, { cause: err });
      throw err;
    }
    this.#prune();
    const s: ConsoleSession = {
      id: randomBytes(32).toString('base64url'),
      subject: sub,
      role,
      expiresAt: Date.now() + this.#ttlMs,
    };
    this.#sessions.set(s.id, s);
    return s;
  }

  /** The live session of a cookie value: unknown, expired and revoked sessions are refused (and forgotten). */
  async session(id: string | undefined): Promise<ConsoleSession> {
    const s = id ? this.#sessions.get(id) : undefined;
    if (!s) throw new ConsoleError('UNAUTHENTICATED', 'not logged in: prove your kit key first');
    if (Date.now() > s.expiresAt) {
      this.#sessions.delete(s.id);
      throw new ConsoleError('UNAUTHENTICATED', 'the console session expired: log in again');
    }
    if (s.role === 'auditor') {
      try {
        await this.#keyOf(s.subject);
      } catch (err) {
        this.#sessions.delete(s.id);
        throw new ConsoleError('UNAUTHENTICATED', `session ended: ${(err as Error).message}`);
      }
    }
    return s;
  }

  logout(id: string | undefined): void {
    if (id) this.#sessions.delete(id);
  }

  get ttlSeconds(): number {
    return this.#ttlMs / 1000;
  }

  #prune(): void {
    const now = Date.now();
    for (const [k, s] of this.#sessions) if (now > s.expiresAt) this.#sessions.delete(k);
  }
}

/** POSTs JSON to the console (over HTTPS trusting only `ca` when given) and returns its status and body. */
function postJson(
  url: URL,
  body: unknown,
  ca?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const text = JSON.stringify(body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
        ...(ca ? { ca } : {}),
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(data);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

/**
 * What `kpfl console --login` and the tests do: ask the console at `url` for a challenge for
 * `subject`, sign it with the kit's identity key (kpt's signChallenge, as for Authenticate), and
 * return the proof. The log-in link carries it in its fragment, which browsers never send.
 */
export async function proveKitKey(
  url: string,
  identity: IdentityKey,
  subject: string,
  o: { ca?: string } = {},
): Promise<string> {
  const res = await postJson(new URL('/api/login/challenge', url), { subject }, o.ca);
  const { nonce, audience, error } = res.body as { nonce?: unknown; audience?: unknown; error?: unknown };
  if (res.status !== 200 || typeof nonce !== 'string' || typeof audience !== 'string')
    throw new ConsoleError(
      'UNAUTHENTICATED',
      `the console at ${url} refused a challenge for "${subject}": ${String(error ?? `HTTP ${res.status}`)}`,
    );
  return signChallenge(identity, { nonce, subject, audience });
}

/** The log-in link for a proof. */
export const loginLink = (url: string, proof: string) => `${new URL('/', url).href}#proof=${proof}`;

/** The session id in a Cookie header. */
export function cookieValue(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE_NAME) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(s: ConsoleSession, secure: boolean): string {
  const maxAge = Math.max(0, Math.floor((s.expiresAt - Date.now()) / 1000));
  return `${COOKIE_NAME}=${s.id}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export const clearedCookie = (secure: boolean) =>
  `${COOKIE_NAME}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
