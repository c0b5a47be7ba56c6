import { type FederationKits, type IdentityKey, importIdentity, type JSONWebKeySet } from '@kpfl/kpt';
import { type KitMember, migrateSchema } from '@kpfl/store';
import { type AggregatorOptions, type RunningAggregator, startAggregator } from './server.js';

/** What of a coordinator kit the aggregator uses (the CLI's CoordinatorKitFile is one). */
export interface CoordinatorKitLike {
  federation: string;
  signingKey: IdentityKey;
  ca: { certPem: string };
  server: { certPem: string; keyPem: string };
  /** The kit's registry, with revocations; registered in Postgres when the front end starts. */
  members: KitMember[];
  jwks: JSONWebKeySet;
  /** `kpfl provision`'s convenience path: epoch 1's keyId (the kits hold the key; this never does). */
  heEpoch?: { epoch: 1; keyId: string; heParams: string };
}

/**
 * The coordinator's kit of a federation `createFederationKits` made in one go (`kpfl provision`,
 * @kpfl/testing): its keys and certificates, and a registry of every member and auditor it made.
 * `heEpoch` names the consortium key made with them, when there is one.
 */
export function coordinatorKitOf(
  kits: FederationKits,
  heEpoch?: CoordinatorKitLike['heEpoch'],
): CoordinatorKitLike & Pick<FederationKits['coordinator'], 'ca' | 'server'> {
  const party = (
    k: FederationKits['members'][number] | FederationKits['auditors'][number],
    role: string,
  ) => ({
    id: k.memberId,
    kid: k.identity.kid,
    publicJwk: k.identity.publicJwk,
    encryptionJwk: k.encryption.publicJwk,
    roles: [role],
  });
  return {
    federation: kits.coordinator.federation,
    signingKey: kits.coordinator.signingKey,
    ca: kits.coordinator.ca,
    server: kits.coordinator.server,
    members: [
      ...kits.members.map((m) => party(m, 'participant')),
      ...kits.auditors.map((a) => party(a, 'auditor')),
    ],
    jwks: kits.jwks,
    ...(heEpoch ? { heEpoch } : {}),
  };
}

/**
 * The aggregator options a coordinator kit determines: federation, signing key (re-derived from its
 * private JWK), mutual TLS from the kit's CA and server certificate (unless `insecure`), and the
 * registry that start-up registration writes, audited with `actor` as the acting operator.
 */
export async function kitOptions(
  kit: CoordinatorKitLike,
  o: { insecure?: boolean; actor: string },
): Promise<Pick<AggregatorOptions, 'federation' | 'coordinatorKey' | 'tls' | 'registry'>> {
  return {
    federation: kit.federation,
    coordinatorKey: await importIdentity(kit.signingKey.privateJwk),
    tls: o.insecure
      ? undefined
      : { caPem: kit.ca.certPem, certPem: kit.server.certPem, keyPem: kit.server.keyPem },
    registry: {
      jwks: kit.jwks,
      members: kit.members,
      actor: o.actor,
      ...(kit.heEpoch ? { heEpoch: kit.heEpoch } : {}),
    },
  };
}

/**
 * A whole federation's aggregator on this machine, for the demo, the tests and the benchmarks: the
 * schema is migrated as its owner (`ownerDatabaseUrl`, what `kpfl migrate` does), then the
 * aggregator starts from the kit on 127.0.0.1 (a free port) and registers the kit's members. In a
 * deployment these are separate steps with separate database roles (docs/deploy.md).
 */
export async function startLocalAggregator(
  kit: CoordinatorKitLike,
  o: Omit<AggregatorOptions, 'federation' | 'coordinatorKey' | 'tls' | 'registry' | 'schema'> & {
    schema: string;
    ownerDatabaseUrl: string;
    /** Login roles to make members of the aggregator role while migrating (the tests' aggregator login). */
    grantTo?: string[];
    insecure?: boolean;
    actor: string;
  },
): Promise<RunningAggregator> {
  const { ownerDatabaseUrl, grantTo, insecure, actor, ...rest } = o;
  await migrateSchema(ownerDatabaseUrl, o.schema, { grantTo });
  return startAggregator({
    ...(await kitOptions(kit, { insecure, actor })),
    listen: '127.0.0.1:0',
    databaseUrl: ownerDatabaseUrl,
    ...rest,
  });
}
