import { appendAudit, type Db, getMember, putMember, revokeMember, upsertFederation } from '@kpfl/store';
import type { CoordinatorKitFile } from './kits.js';

/**
 * Makes Postgres' member registry match the coordinator kit: adds new members (audited as
 * member.provisioned), applies revocations recorded in the kit, and never re-activates a member
 * that Postgres or the kit says is revoked.
 */
export async function registerFederation(db: Db, kit: CoordinatorKitFile): Promise<void> {
  await upsertFederation(db, kit.federation, kit.jwks);
  for (const m of kit.members as (CoordinatorKitFile['members'][number] & { status?: string })[]) {
    const existing = await getMember(db, kit.federation, m.id);
    if (m.status === 'revoked') {
      if (!existing) {
        await putMember(db, {
          federation: kit.federation,
          id: m.id,
          kid: m.kid,
          publicJwk: m.publicJwk,
          roles: m.roles,
        });
      }
      if (await revokeMember(db, kit.federation, m.id)) {
        await appendAudit(db, {
          federation: kit.federation,
          event: 'member.revoked',
          member: m.id,
          actor: 'operator',
          data: { kid: m.kid },
        });
      }
      continue;
    }
    if (existing?.status === 'revoked' || (existing && existing.kid === m.kid)) continue;
    await putMember(db, {
      federation: kit.federation,
      id: m.id,
      kid: m.kid,
      publicJwk: m.publicJwk,
      roles: m.roles,
    });
    await appendAudit(db, {
      federation: kit.federation,
      event: 'member.added',
      member: m.id,
      actor: 'operator',
      data: { kid: m.kid, roles: m.roles },
    });
  }
}
