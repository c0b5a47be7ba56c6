import type { KeyObject } from 'node:crypto';
import { compactVerify, type JSONWebKeySet } from 'jose';
import { ALG } from './constants.js';
import { classifyJoseError, KptError } from './errors.js';
import { publicKeyOf } from './identity.js';
import { findMemberKey, type KptJwk } from './jwks.js';
import { refuseDuplicateKeysInCompact } from './strict-json.js';

/**
 * Verify a compact JWS that participant `member` signs with its identity key, with the required typ:
 * the key is the one the JWKS binds to `member` (role participant) with the header's kid. The caller
 * then checks that the claims name `member`. A malformed JWS or a wrong typ is TOKEN_INVALID; a kid
 * that is not `member`'s participant key, or a signature that does not verify, is SIGNATURE_INVALID.
 */
export async function verifyMemberCompact(
  jws: string,
  jwks: JSONWebKeySet,
  typ: string,
  what: string,
  member: string,
): Promise<{ payload: Uint8Array; kid: string }> {
  if (typeof jws !== 'string' || jws.split('.').length !== 3)
    throw new KptError('TOKEN_INVALID', `a ${what} is a compact JWS (three dot-separated parts)`);
  refuseDuplicateKeysInCompact(jws, 'TOKEN_INVALID', what);
  let signer: KptJwk | undefined;
  try {
    const r = await compactVerify(
      jws,
      (header): KeyObject => {
        if (header.typ !== typ)
          throw new KptError(
            'TOKEN_INVALID',
            `not a ${what}: typ is ${header.typ ?? 'absent'}, expected ${typ}`,
          );
        if (typeof header.kid !== 'string') throw new KptError('TOKEN_INVALID', `${what} header has no kid`);
        signer = findMemberKey(jwks, member, header.kid);
        if (signer?.kpfl_role !== 'participant')
          throw new KptError(
            'SIGNATURE_INVALID',
            `${what} is signed by kid ${header.kid}, which is not the key of participant ${member} in the JWKS: forged, or JWKS out of date`,
          );
        return publicKeyOf(signer);
      },
      { algorithms: [ALG] },
    );
    return { payload: r.payload, kid: signer!.kid! };
  } catch (err) {
    if (err instanceof KptError) throw err;
    const f = classifyJoseError(err);
    if (f.kind === 'signature' || f.kind === 'no-key')
      throw new KptError('SIGNATURE_INVALID', `${what} signature does not verify: forged or altered`, {
        cause: err,
      });
    throw new KptError(
      'TOKEN_INVALID',
      `${what} is not a valid compact JWS: ${f.kind === 'malformed' ? f.detail : f.kind}`,
      { cause: err },
    );
  }
}
