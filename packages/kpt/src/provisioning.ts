import type { JSONWebKeySet, JWK } from 'jose';
import {
  type CaKit,
  type CertificateKit,
  createCertificateAuthority,
  DEFAULT_VALIDITY_DAYS,
  issueMemberCertificate,
  issueServerCertificate,
} from './certificates.js';
import { type EncryptionKey, generateEncryptionKey } from './encryption-key.js';
import { KptError } from './errors.js';
import { generateIdentity, type IdentityKey } from './identity.js';
import { COORDINATOR_ID, coordinatorJwksOf, type FederationParty, federationJwks } from './jwks.js';
import { idSchema, parseWith } from './schemas.js';

/**
 * A party's public registration, as the coordinator keeps it: its identity key (published in the
 * JWKS) and the public half of its encryption key (never in the JWKS, which only verifies signatures).
 */
export type RegisteredParty = FederationParty & { encryptionJwk?: JWK };

export interface CoordinatorKit {
  federation: string;
  /** Signs session tokens, receipts and round certificates. */
  signingKey: IdentityKey;
  /** Federation CA (certificate and key): keep the key offline-ish; it issues member certificates. */
  ca: CaKit;
  /** TLS server certificate of the aggregator; SAN = hosts. */
  server: CertificateKit & { hosts: string[] };
  /** Registered members and auditors by id: their public identity keys. */
  registry: Record<string, RegisteredParty>;
  /** The published JWKS: coordinator key plus every registered party's key. */
  jwks: JSONWebKeySet;
}

export interface PartyTls {
  certPem: string;
  keyPem: string;
  /** The federation CA certificate, to authenticate the aggregator. */
  caPem: string;
}

export interface MemberKit {
  federation: string;
  memberId: string;
  role: 'participant';
  identity: IdentityKey;
  /** Receives the consortium HE key from other members (JWE, ECDH-ES). */
  encryption: EncryptionKey;
  tls: PartyTls;
  /** The coordinator key(s) only: what a member verifies receipts and certificates with. */
  coordinatorJwks: JSONWebKeySet;
}

export interface AuditorKit {
  federation: string;
  memberId: string;
  role: 'auditor';
  identity: IdentityKey;
  encryption: EncryptionKey;
  tls: PartyTls;
  coordinatorJwks: JSONWebKeySet;
  /** The full published JWKS at provisioning time, for offline verification of attestations. */
  jwks: JSONWebKeySet;
}

export interface FederationKits {
  coordinator: CoordinatorKit;
  members: MemberKit[];
  auditors: AuditorKit[];
  jwks: JSONWebKeySet;
}

export interface CreateFederationArgs {
  federation: string;
  members: string[];
  auditors?: string[];
  /** Names and IPs the aggregator is reached at. Default ['localhost', '127.0.0.1']. */
  serverHosts?: string[];
  /** Certificate validity. Default 365. */
  validityDays?: number;
}

/**
 * Provision a federation: identities, CA, server certificate, one kit per member and auditor.
 * Pure: returns data, writes nothing (the CLI writes the files and adds the HE key to member kits).
 */
export async function createFederationKits(args: CreateFederationArgs): Promise<FederationKits> {
  const federation = parseWith(idSchema, args.federation, 'CLAIMS_INVALID', 'federation id');
  const validityDays = args.validityDays ?? DEFAULT_VALIDITY_DAYS;
  const ids = [...args.members, ...(args.auditors ?? [])];
  for (const id of ids) parseWith(idSchema, id, 'CLAIMS_INVALID', `member id "${id}"`);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup !== undefined) throw new KptError('CLAIMS_INVALID', `member id "${dup}" is used twice`);
  if (args.members.length === 0)
    throw new KptError('CLAIMS_INVALID', 'a federation needs at least one member');

  let coordinator = await createCoordinatorKit({ federation, serverHosts: args.serverHosts, validityDays });

  const members: MemberKit[] = [];
  for (const id of args.members) {
    const r = await provisionMember(coordinator, id, { role: 'participant', validityDays });
    coordinator = r.coordinator;
    members.push(r.kit as MemberKit);
  }
  const auditors: AuditorKit[] = [];
  for (const id of args.auditors ?? []) {
    const r = await provisionMember(coordinator, id, { role: 'auditor', validityDays });
    coordinator = r.coordinator;
    auditors.push(r.kit as AuditorKit);
  }
  for (const a of auditors) a.jwks = coordinator.jwks;
  return { coordinator, members, auditors, jwks: coordinator.jwks };
}

/**
 * The coordinator's half of a federation, with nobody registered yet: its signing key, the CA and
 * the aggregator's server certificate. Members then enroll with keys they make (enrollment.ts).
 */
export async function createCoordinatorKit(args: {
  federation: string;
  serverHosts?: string[];
  validityDays?: number;
}): Promise<CoordinatorKit> {
  const federation = parseWith(idSchema, args.federation, 'CLAIMS_INVALID', 'federation id');
  const validityDays = args.validityDays ?? DEFAULT_VALIDITY_DAYS;
  const ca = await createCertificateAuthority(federation, validityDays);
  const hosts = args.serverHosts ?? ['localhost', '127.0.0.1'];
  const server = { ...(await issueServerCertificate(ca, hosts, validityDays)), hosts: [...hosts] };
  const signingKey = await generateIdentity();
  return { federation, signingKey, ca, server, registry: {}, jwks: federationJwks(signingKey, []) };
}

/**
 * Add one member (or auditor) to an existing federation (`kpfl members add`): new identity, client
 * certificate from the federation CA, registration. Returns the updated coordinator kit (new object)
 * and the party's kit.
 */
export async function provisionMember(
  coordinator: CoordinatorKit,
  memberId: string,
  opts: { role?: 'participant' | 'auditor'; validityDays?: number } = {},
): Promise<{ coordinator: CoordinatorKit; kit: MemberKit | AuditorKit }> {
  parseWith(idSchema, memberId, 'CLAIMS_INVALID', 'member id');
  if (memberId === COORDINATOR_ID)
    throw new KptError('CLAIMS_INVALID', `"${COORDINATOR_ID}" is a reserved id`);
  if (coordinator.registry[memberId])
    throw new KptError('CLAIMS_INVALID', `member "${memberId}" is already registered`);
  const role = opts.role ?? 'participant';
  const identity = await generateIdentity();
  const encryption = await generateEncryptionKey();
  const cert = await issueMemberCertificate(coordinator.ca, memberId, { validityDays: opts.validityDays });
  const registry: Record<string, RegisteredParty> = {
    ...coordinator.registry,
    [memberId]: {
      memberId,
      role,
      kid: identity.kid,
      publicJwk: identity.publicJwk,
      encryptionJwk: encryption.publicJwk,
    },
  };
  const jwks = federationJwks(coordinator.signingKey, Object.values(registry));
  const next: CoordinatorKit = { ...coordinator, registry, jwks };
  const base = {
    federation: coordinator.federation,
    memberId,
    identity,
    encryption,
    tls: { certPem: cert.certPem, keyPem: cert.keyPem, caPem: coordinator.ca.certPem },
    coordinatorJwks: coordinatorJwksOf(jwks),
  };
  const kit: MemberKit | AuditorKit = role === 'auditor' ? { ...base, role, jwks } : { ...base, role };
  return { coordinator: next, kit };
}
