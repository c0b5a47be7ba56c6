import { type Db, type KitMember, registerFederationAudited } from '@kpfl/store';
import type { CoordinatorKitFile } from './kits.js';
import { operatorActor } from './operator.js';

/**
 * Makes Postgres' member registry match the coordinator kit, in one transaction with its audit
 * events (see registerFederationAudited): stores the kit's JWKS (federation.registered when it
 * changed), adds new or re-keyed members (member.added), applies revocations recorded in the kit
 * (member.revoked), and never re-activates a member that Postgres says is revoked. `actor` is the
 * operator who started the aggregator.
 */
export async function registerFederation(
  db: Db,
  kit: CoordinatorKitFile,
  actor: string = operatorActor(),
): Promise<void> {
  await registerFederationAudited(db, {
    federation: kit.federation,
    jwks: kit.jwks,
    members: kit.members as KitMember[],
    actor,
  });
}
