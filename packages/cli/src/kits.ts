import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  type ConsortiumKey,
  generateConsortiumKey,
  parseConsortiumKey,
  serializeConsortiumKey,
} from '@kpfl/he';
import { createFederationKits, type IdentityKey, importIdentity, type JSONWebKeySet } from '@kpfl/kpt';
import { UserError } from './user-error.js';

/**
 * Kit files on disk. One directory per party:
 *   coordinator/coordinator.json  signing key, CA, server certificate, member registry (never the HE key)
 *   members/<id>/member.json      identity key, client certificate, CA, coordinator JWKS
 *   members/<id>/he-key.json      the consortium CKKS secret key (members only)
 *   auditors/<id>/auditor.json    identity key, client certificate, CA, JWKS (read-only role)
 *   federation.json               public: federation name and JWKS
 */
export interface CoordinatorKitFile {
  kind: 'kpfl-coordinator-kit';
  federation: string;
  signingKey: IdentityKey;
  ca: { certPem: string; keyPem: string };
  server: { certPem: string; keyPem: string };
  members: { id: string; kid: string; publicJwk: unknown; roles: string[] }[];
  jwks: JSONWebKeySet;
  heParams: string;
}

export interface MemberKitFile {
  kind: 'kpfl-member-kit' | 'kpfl-auditor-kit';
  federation: string;
  memberId: string;
  identity: IdentityKey;
  tls: { caPem: string; certPem: string; keyPem: string };
  coordinatorJwks: JSONWebKeySet;
}

export async function provisionKits(o: {
  federation: string;
  members: string[];
  auditors?: string[];
  out: string;
  heParams: string;
  serverHosts?: string[];
}) {
  const kits = await createFederationKits({
    federation: o.federation,
    members: o.members,
    auditors: o.auditors ?? [],
    serverHosts: o.serverHosts,
  });
  const heKey = await generateConsortiumKey(o.heParams);
  const out = resolve(o.out);
  const write = (path: string, data: unknown) => {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  };
  const coordinator: CoordinatorKitFile = {
    kind: 'kpfl-coordinator-kit',
    federation: o.federation,
    signingKey: kits.coordinator.signingKey,
    ca: kits.coordinator.ca,
    server: kits.coordinator.server,
    members: [
      ...kits.members.map((m) => ({
        id: m.memberId,
        kid: m.identity.kid,
        publicJwk: m.identity.publicJwk,
        roles: ['participant'],
      })),
      ...kits.auditors.map((a) => ({
        id: a.memberId,
        kid: a.identity.kid,
        publicJwk: a.identity.publicJwk,
        roles: ['auditor'],
      })),
    ],
    jwks: kits.jwks,
    heParams: o.heParams,
  };
  write(join(out, 'coordinator', 'coordinator.json'), coordinator);
  for (const m of kits.members) {
    const kit: MemberKitFile = {
      kind: 'kpfl-member-kit',
      federation: o.federation,
      memberId: m.memberId,
      identity: m.identity,
      tls: m.tls,
      coordinatorJwks: m.coordinatorJwks,
    };
    write(join(out, 'members', m.memberId, 'member.json'), kit);
    writeFileSync(join(out, 'members', m.memberId, 'he-key.json'), serializeConsortiumKey(heKey), {
      mode: 0o600,
    });
  }
  for (const a of kits.auditors) {
    const kit: MemberKitFile = {
      kind: 'kpfl-auditor-kit',
      federation: o.federation,
      memberId: a.memberId,
      identity: a.identity,
      tls: a.tls,
      coordinatorJwks: a.coordinatorJwks,
    };
    write(join(out, 'auditors', a.memberId, 'auditor.json'), kit);
  }
  write(join(out, 'federation.json'), { federation: o.federation, jwks: kits.jwks });
  return { out, coordinator };
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UserError(`cannot read ${what} at ${path}; run \`kpfl provision\` or check the path`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError(`${what} at ${path} is not valid JSON`);
  }
}

export function readCoordinatorKit(path: string): CoordinatorKitFile {
  const file = path.endsWith('.json') ? path : join(path, 'coordinator.json');
  const kit = readJson(file, 'coordinator kit') as CoordinatorKitFile;
  if (kit?.kind !== 'kpfl-coordinator-kit')
    throw new UserError(
      `${file} is not a coordinator kit (kind: ${String((kit as { kind?: unknown })?.kind)})`,
    );
  return kit;
}

export function readMemberKit(path: string): MemberKitFile & { heKey?: ConsortiumKey } {
  const file = path.endsWith('.json')
    ? path
    : existsSync(join(path, 'auditor.json'))
      ? join(path, 'auditor.json')
      : join(path, 'member.json');
  const kit = readJson(file, 'member kit') as MemberKitFile;
  if (kit?.kind !== 'kpfl-member-kit' && kit?.kind !== 'kpfl-auditor-kit') {
    throw new UserError(`${file} is not a member kit (kind: ${String((kit as { kind?: unknown })?.kind)})`);
  }
  let heKey: ConsortiumKey | undefined;
  try {
    heKey = parseConsortiumKey(readFileSync(join(file, '..', 'he-key.json'), 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return { ...kit, heKey };
}

/** A kit's identity key, re-derived and checked from its private JWK. */
export function identityOf(kit: { identity: IdentityKey }): Promise<IdentityKey> {
  return importIdentity(kit.identity.privateJwk);
}
