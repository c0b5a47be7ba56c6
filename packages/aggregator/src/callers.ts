import { clip } from '@kpfl/common';
import { type Capability, ID_PATTERN } from '@kpfl/kpt';
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

/**
 * A recipient of one envelope in a request that sends each recipient at most one (key and share
 * envelopes alike): refuses a repeat, and returns the name to show in messages (clipped unless it
 * is an id).
 */
export function nextRecipient(seen: Set<string>, recipient: string): string {
  const shown = ID_PATTERN.test(recipient) ? recipient : clip(recipient, 64);
  if (seen.has(recipient))
    throw new RpcError(
      'INVALID_ARGUMENT',
      'duplicate_recipient',
      `two envelopes for ${shown} in one request`,
    );
  seen.add(recipient);
  return shown;
}
