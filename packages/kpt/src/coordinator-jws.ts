import type { KeyObject } from 'node:crypto';
import { compactVerify, type JSONWebKeySet } from 'jose';
import { ALG } from './constants.js';
import { classifyJoseError, KptError } from './errors.js';
import { publicKeyOf } from './identity.js';
import { findCoordinatorKey } from './jwks.js';
import { refuseDuplicateKeysInCompact } from './strict-json.js';

/**
 * Verify a compact JWS that only a coordinator key may sign, with the required typ. Signature
 * problems are SIGNATURE_INVALID; a wrong typ or a malformed JWS is TOKEN_INVALID.
 */
export async function verifyCoordinatorCompact(
  jws: string,
  jwks: JSONWebKeySet,
  typ: string,
  what: string,
): Promise<{ payload: Uint8Array; kid: string }> {
  refuseDuplicateKeysInCompact(jws, 'TOKEN_INVALID', what);
  let kid = '';
  try {
    const r = await compactVerify(
      jws,
      (header): KeyObject => {
        if (header.typ !== typ) {
          throw new KptError(
            'TOKEN_INVALID',
            `not a ${what}: typ is ${header.typ ?? 'absent'}, expected ${typ}`,
          );
        }
        if (typeof header.kid !== 'string') throw new KptError('TOKEN_INVALID', `${what} header has no kid`);
        const jwk = findCoordinatorKey(jwks, header.kid);
        if (!jwk) {
          throw new KptError(
            'SIGNATURE_INVALID',
            `${what} is signed by kid ${header.kid}, which is not a coordinator key in the JWKS: forged, or JWKS out of date`,
          );
        }
        kid = header.kid;
        return publicKeyOf(jwk);
      },
      { algorithms: [ALG] },
    );
    if (r.protectedHeader.typ !== typ)
      throw new KptError('TOKEN_INVALID', `not a ${what} (typ must be ${typ})`);
    return { payload: r.payload, kid };
  } catch (err) {
    if (err instanceof KptError) throw err;
    const f = classifyJoseError(err);
    if (f.kind === 'signature' || f.kind === 'no-key') {
      throw new KptError('SIGNATURE_INVALID', `${what} signature does not verify: forged or altered`, {
        cause: err,
      });
    }
    throw new KptError(
      'TOKEN_INVALID',
      `${what} is not a valid compact JWS: ${f.kind === 'malformed' ? f.detail : f.kind}`,
      {
        cause: err,
      },
    );
  }
}
