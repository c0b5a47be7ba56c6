import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import {
  coordinatorKeys,
  type IdentityKey,
  type JSONWebKeySet,
  refuseDuplicateKeysInCompact,
} from '@kpfl/kpt';
import { type AuditCheckpointRow, AuditError, appendAuditCheckpoint, type Db } from '@kpfl/store';
import { CompactSign, compactVerify, decodeProtectedHeader } from 'jose';
import { z } from 'zod';

/** `typ` of a checkpoint JWS; no other kpfl artifact can pass as one. */
export const CHECKPOINT_TYP = 'kpfl-audit-checkpoint+jwt';

export const checkpointPayloadSchema = z
  .object({
    federation: z.string().min(1),
    seq: z.number().int().positive(),
    headHash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
    at: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/),
  })
  .strict();

/** What a checkpoint signs: the chain head (last row's seq and hash) at a time. */
export type CheckpointPayload = z.infer<typeof checkpointPayloadSchema>;

function signingKey(identity: IdentityKey): KeyObject {
  const { kty, crv, d, x } = identity.privateJwk;
  if (kty !== 'OKP' || crv !== 'Ed25519' || typeof d !== 'string' || typeof x !== 'string') {
    throw new AuditError(
      'BAD_ENTRY',
      'checkpoints are signed with the coordinator Ed25519 identity (private JWK with d)',
    );
  }
  return createPrivateKey({ key: { kty, crv, d, x }, format: 'jwk' });
}

/**
 * Signs the current chain head (compact JWS, EdDSA, typ kpfl-audit-checkpoint+jwt, kid = the
 * coordinator kid) over {federation, seq, headHash, at}, stores it in audit_checkpoints and appends
 * a checkpoint.signed event, all in one transaction holding the chain lock.
 *
 * Returns undefined, signing nothing, when the log is empty or nothing was appended since the last
 * checkpoint (the head is a checkpoint.signed row), so a periodic timer does not grow an idle log;
 * `force` signs anyway.
 */
export async function signCheckpoint(
  db: Db,
  coordinatorKey: IdentityKey,
  federation: string,
  opts: { force?: boolean } = {},
): Promise<AuditCheckpointRow | undefined> {
  const key = signingKey(coordinatorKey);
  return appendAuditCheckpoint(db, {
    federation,
    kid: coordinatorKey.kid,
    force: opts.force,
    sign: (head) => {
      const payload: CheckpointPayload = { federation, ...head };
      return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: 'EdDSA', kid: coordinatorKey.kid, typ: CHECKPOINT_TYP })
        .sign(key);
    },
  });
}

/**
 * Verifies a checkpoint JWS against the coordinator keys of a JWKS (member keys are never accepted)
 * and returns its payload. Throws AuditError('BAD_EXPORT') saying why.
 */
export async function verifyCheckpoint(jws: string, jwks: JSONWebKeySet): Promise<CheckpointPayload> {
  try {
    // Before anything is read from it: a header or payload with a member twice means two things.
    refuseDuplicateKeysInCompact(jws, 'TOKEN_INVALID', 'checkpoint');
  } catch (cause) {
    throw new AuditError('BAD_EXPORT', (cause as Error).message, { cause });
  }
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(jws).kid;
  } catch (cause) {
    throw new AuditError('BAD_EXPORT', 'checkpoint is not a compact JWS', { cause });
  }
  const jwk = coordinatorKeys(jwks).find((k) => k.kid === kid);
  if (!jwk)
    throw new AuditError(
      'BAD_EXPORT',
      `checkpoint is signed by kid ${String(kid)}, which is not a coordinator key in the JWKS`,
    );
  let payload: Uint8Array;
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: String(jwk.x) }, format: 'jwk' });
    const r = await compactVerify(jws, key, { algorithms: ['EdDSA'] });
    if (r.protectedHeader.typ !== CHECKPOINT_TYP) {
      throw new AuditError('BAD_EXPORT', `not a checkpoint (typ must be ${CHECKPOINT_TYP})`);
    }
    payload = r.payload;
  } catch (err) {
    if (err instanceof AuditError) throw err;
    throw new AuditError(
      'BAD_EXPORT',
      `checkpoint signature does not verify with coordinator key ${String(kid)}: forged or altered`,
      {
        cause: err,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(payload));
  } catch (cause) {
    throw new AuditError('BAD_EXPORT', 'checkpoint payload is not JSON', { cause });
  }
  const r = checkpointPayloadSchema.safeParse(parsed);
  if (!r.success)
    throw new AuditError('BAD_EXPORT', `checkpoint payload is malformed: ${r.error.issues[0]?.message}`);
  return r.data;
}
