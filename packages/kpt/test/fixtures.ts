import assert from 'node:assert/strict';
import type { AttestationClaims, IdentityKey } from '../src/index.js';
import {
  type Capability,
  createFederationKits,
  digestOf,
  type FederationKits,
  issueSessionToken,
  KptError,
  type KptErrorCode,
  signAttestation,
} from '../src/index.js';

export const ISSUER = 'kpfl:test';
export const AUDIENCE = 'kpfl:test:aggregator';

let kits: Promise<FederationKits> | undefined;

/** One federation per test file: alice, bob, carol and an auditor. */
export function federation(): Promise<FederationKits> {
  kits ??= createFederationKits({
    federation: 'test',
    members: ['alice', 'bob', 'carol'],
    auditors: ['audrey'],
  });
  return kits;
}

export function memberOf(f: FederationKits, id: string) {
  const m = f.members.find((k) => k.memberId === id);
  assert.ok(m, `no member ${id}`);
  return m;
}

/** Assert that running `fn` rejects with a KptError of this code (and optionally a message pattern). */
export async function expectCode(fn: () => unknown, code: KptErrorCode, message?: RegExp): Promise<KptError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected KptError ${code}, but nothing was thrown`);
  assert.ok(caught instanceof KptError, `expected KptError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  if (message) assert.match(caught.message, message);
  return caught;
}

export function attestationClaims(member: string, round = 1): Omit<AttestationClaims, 'iat'> {
  return {
    iss: member,
    federation: 'test',
    round,
    baseModelDigest: digestOf('global model of round 0'),
    updateDigest: digestOf(`ciphertext bytes of ${member}`),
    exampleCount: 600,
    dataCommitment: digestOf(`data of ${member}`),
    chunkCount: 3,
    mode: 'he',
    training: { model: 'mnist-2nn', epochs: 1, batchSize: 10, lr: 0.1 },
    metrics: { loss: 0.5, accuracy: 0.9 },
  };
}

export function attest(identity: IdentityKey, member: string, round = 1): Promise<string> {
  return signAttestation(identity, attestationClaims(member, round));
}

/** Replace the payload segment of a compact JWS, keeping header and signature. */
export function tamperCompact(jws: string, edit: (payload: Record<string, unknown>) => void): string {
  const [h, p, s] = jws.split('.');
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  edit(payload);
  return [h, Buffer.from(JSON.stringify(payload)).toString('base64url'), s].join('.');
}

/** A 60-second session token for alice, signed by the test federation's coordinator. */
export async function aliceSessionToken(capabilities: Capability[] = []): Promise<string> {
  const f = await federation();
  return issueSessionToken(f.coordinator.signingKey, {
    issuer: ISSUER,
    audience: AUDIENCE,
    subject: 'alice',
    ttlSeconds: 60,
    kpfl: { federation: 'test', roles: ['participant'], capabilities },
  });
}
