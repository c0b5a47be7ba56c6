import type { Capability } from '@kpfl/kpt';
import { type Db, getMember } from '@kpfl/store';
import { RpcError } from './errors.js';
import type { RpcKit } from './rpc.js';

/**
 * The caller, authorized for `capability` and still an active participant: a session token outlives
 * a revocation, so every step that hands out or takes key material asks the member table too.
 */
export async function activeParticipant(
  d: { db: Db; federation: string; rpc: RpcKit },
  call: Parameters<RpcKit['authorize']>[0],
  capability: Capability,
  what: string,
): Promise<string> {
  const claims = await d.rpc.authorize(call, capability);
  const member = await getMember(d.db, d.federation, claims.sub);
  if (member?.status !== 'active' || !member.roles.includes('participant'))
    throw new RpcError(
      'PERMISSION_DENIED',
      'revoked',
      `${claims.sub} is ${member?.status === 'revoked' ? 'revoked' : 'not an active participant'}: ${what} is refused`,
    );
  return claims.sub;
}
