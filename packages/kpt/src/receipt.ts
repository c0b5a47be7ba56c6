import { CompactSign, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { ALG, TYP } from './constants.js';
import { verifyCoordinatorCompact } from './coordinator-jws.js';
import type { IdentityKey } from './identity.js';
import { signingKeyOf } from './identity.js';
import {
  digestSchema,
  idSchema,
  isoTimeSchema,
  parseJsonPayload,
  parseWith,
  roundSchema,
} from './schemas.js';

export const receiptClaimsSchema = z
  .object({
    federation: idSchema,
    round: roundSchema,
    member: idSchema,
    /** digestOf(the compact attestation JWS string). */
    attestationDigest: digestSchema,
    receivedAt: isoTimeSchema,
    status: z.enum(['accepted', 'refused']),
    reason: z.string().min(1).max(1000).optional(),
  })
  .strict()
  .refine((r) => r.status === 'accepted' || r.reason !== undefined, {
    message: 'a refused receipt needs a reason',
    path: ['reason'],
  });

export type ReceiptClaims = z.infer<typeof receiptClaimsSchema>;

/** The coordinator's signed acknowledgement of one contribution (compact JWS, typ kpfl-receipt+jwt). */
export async function signReceipt(coordinator: IdentityKey, r: ReceiptClaims): Promise<string> {
  const claims = parseWith(receiptClaimsSchema, r, 'CLAIMS_INVALID', 'receipt to sign');
  return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: ALG, kid: coordinator.kid, typ: TYP.receipt })
    .sign(signingKeyOf(coordinator));
}

/** Verify a receipt against the coordinator keys of a JWKS (member keys in it are never accepted). */
export async function verifyReceipt(jws: string, jwks: JSONWebKeySet): Promise<ReceiptClaims> {
  const { payload } = await verifyCoordinatorCompact(jws, jwks, TYP.receipt, 'receipt');
  return parseWith(
    receiptClaimsSchema,
    parseJsonPayload(payload, 'CLAIMS_INVALID', 'receipt'),
    'CLAIMS_INVALID',
    'receipt',
  );
}
