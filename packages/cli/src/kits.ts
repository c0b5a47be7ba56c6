import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { coordinatorKitOf } from '@kpfl/aggregator';
import {
  type ConsortiumKey,
  consortiumKeyId,
  generateConsortiumKey,
  HE_PARAM_SETS,
  HeError,
  parseConsortiumKey,
  serializeConsortiumKey,
} from '@kpfl/he';
import {
  createFederationKits,
  type EncryptionKey,
  ID_PATTERN,
  type IdentityKey,
  importIdentity,
  type JSONWebKeySet,
} from '@kpfl/kpt';
import { type ZodType, z } from 'zod';
import { firstZodIssue, UserError } from './user-error.js';

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
  /** The registry of record: revocations are marked here too (status, revokedAt). */
  members: {
    id: string;
    kid: string;
    publicJwk: unknown;
    /** Public X25519 JWK; absent in kits made before member encryption keys. */
    encryptionJwk?: unknown;
    roles: string[];
    status?: 'active' | 'revoked';
    revokedAt?: string;
  }[];
  jwks: JSONWebKeySet;
  heParams: string;
  /**
   * `kpfl provision` only: the keyId of the HE key it wrote into the member kits, which the
   * aggregator registers as epoch 1 (ready). Never the key.
   */
  heEpoch?: { epoch: 1; keyId: string; heParams: string };
}

export interface MemberKitFile {
  kind: 'kpfl-member-kit' | 'kpfl-auditor-kit';
  federation: string;
  memberId: string;
  identity: IdentityKey;
  /** X25519 key the consortium HE key is delivered to; absent in kits made before it existed. */
  encryption?: EncryptionKey;
  tls: { caPem: string; certPem: string; keyPem: string };
  coordinatorJwks: JSONWebKeySet;
  /** The federation's JWKS at provisioning: the senders of HE key envelopes are verified against it. */
  federationJwks?: JSONWebKeySet;
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
  const heEpoch = { epoch: 1 as const, keyId: consortiumKeyId(heKey), heParams: o.heParams };
  const coordinator: CoordinatorKitFile = {
    kind: 'kpfl-coordinator-kit',
    ...coordinatorKitOf(kits, heEpoch),
    heParams: o.heParams,
  };
  write(join(out, 'coordinator', 'coordinator.json'), coordinator);
  for (const m of kits.members) {
    const kit: MemberKitFile = {
      kind: 'kpfl-member-kit',
      federation: o.federation,
      memberId: m.memberId,
      identity: m.identity,
      encryption: m.encryption,
      tls: m.tls,
      coordinatorJwks: m.coordinatorJwks,
      federationJwks: kits.jwks,
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
      encryption: a.encryption,
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
  } catch (err) {
    throw new UserError(
      `cannot read ${what} at ${path}; run \`kpfl provision\` or check the path`,
      undefined,
      {
        cause: err,
      },
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${what} at ${path} is not valid JSON`, undefined, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------------
// What kit files must hold. Kits are written by kpfl, but they are copied, mounted and edited by
// hand: a missing or mangled field is reported as `file: field.path: what is wrong`, not as a crash
// deep inside TLS or jose. Unknown fields are kept (newer kits may carry more).

const id = z.string().regex(ID_PATTERN, 'expected an id (letters, digits, ".", "_", "-"; at most 64)');
const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected base64url');
const pem = (label: 'CERTIFICATE' | 'PRIVATE KEY') =>
  z.string().refine((s) => s.includes(`-----BEGIN ${label}-----`) && s.includes(`-----END ${label}-----`), {
    message: `expected a PEM ${label === 'CERTIFICATE' ? 'certificate' : 'private key'}`,
  });
const publicJwk = z
  .object({
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    x: base64url,
    kid: z.string().min(1).optional(),
  })
  .passthrough();
const privateJwk = publicJwk.extend({ d: base64url });
const identityKey = z.object({ kid: z.string().min(1, 'required'), privateJwk, publicJwk }).passthrough();
const x25519PublicJwk = z
  .object({
    kty: z.literal('OKP'),
    crv: z.literal('X25519'),
    x: base64url,
    kid: z.string().min(1).optional(),
  })
  .passthrough()
  .refine((j) => !('d' in j), { message: 'expected a public key (no "d")' });
const encryptionKey = z
  .object({
    kid: z.string().min(1, 'required'),
    privateJwk: z
      .object({ kty: z.literal('OKP'), crv: z.literal('X25519'), x: base64url, d: base64url })
      .passthrough(),
    publicJwk: x25519PublicJwk,
  })
  .passthrough();
const jwks = z.object({ keys: z.array(publicJwk).min(1, 'expected at least one key') }).passthrough();
const keyPair = z.object({ certPem: pem('CERTIFICATE'), keyPem: pem('PRIVATE KEY') }).passthrough();

const coordinatorKitSchema = z
  .object({
    kind: z.literal('kpfl-coordinator-kit'),
    federation: id,
    signingKey: identityKey,
    ca: keyPair,
    server: keyPair.extend({ hosts: z.array(z.string()).optional() }),
    members: z.array(
      z
        .object({
          id,
          kid: z.string().min(1, 'required'),
          publicJwk,
          encryptionJwk: x25519PublicJwk.optional(),
          roles: z.array(z.enum(['participant', 'auditor'])).min(1, 'expected participant or auditor'),
          status: z.enum(['active', 'revoked']).optional(),
          revokedAt: z.string().optional(),
        })
        .passthrough(),
    ),
    jwks,
    heParams: z.enum(Object.keys(HE_PARAM_SETS) as [string, ...string[]]),
  })
  .passthrough();

const memberKitSchema = z
  .object({
    kind: z.enum(['kpfl-member-kit', 'kpfl-auditor-kit']),
    federation: id,
    memberId: id,
    identity: identityKey,
    encryption: encryptionKey.optional(),
    tls: z
      .object({ caPem: pem('CERTIFICATE'), certPem: pem('CERTIFICATE'), keyPem: pem('PRIVATE KEY') })
      .passthrough(),
    coordinatorJwks: jwks,
  })
  .passthrough();

/** he-key.json's shape; parseConsortiumKey then checks the key itself (parameters, keyId). */
const heKeyFileSchema = z
  .object({
    type: z.literal('kpfl-he-consortium-key'),
    version: z.literal(1),
    paramsName: z.enum(Object.keys(HE_PARAM_SETS) as [string, ...string[]]),
    keyId: z.string().min(1, 'required'),
    secretKey: z.string().min(1, 'required'),
    publicKey: z.string().min(1).optional(),
  })
  .passthrough();

/** `data` checked against `schema`, or a UserError naming the file and the first bad field. */
function checked<T>(schema: ZodType<unknown>, data: unknown, file: string): T {
  const r = schema.safeParse(data);
  if (!r.success) throw new UserError(`${file}: ${firstZodIssue(r.error)}`, undefined, { cause: r.error });
  return data as T;
}

function kindOf(data: unknown): string {
  return String((data as { kind?: unknown } | null)?.kind);
}

export function readCoordinatorKit(path: string): CoordinatorKitFile {
  const file = path.endsWith('.json') ? path : join(path, 'coordinator.json');
  const data = readJson(file, 'coordinator kit');
  if (kindOf(data) !== 'kpfl-coordinator-kit')
    throw new UserError(`${file} is not a coordinator kit (kind: ${kindOf(data)})`);
  return checked<CoordinatorKitFile>(coordinatorKitSchema, data, file);
}

export function readMemberKit(path: string): MemberKitFile & { heKey?: ConsortiumKey } {
  const file = path.endsWith('.json')
    ? path
    : existsSync(join(path, 'auditor.json'))
      ? join(path, 'auditor.json')
      : join(path, 'member.json');
  const data = readJson(file, 'member kit');
  if (kindOf(data) !== 'kpfl-member-kit' && kindOf(data) !== 'kpfl-auditor-kit')
    throw new UserError(`${file} is not a member kit (kind: ${kindOf(data)})`);
  const kit = checked<MemberKitFile>(memberKitSchema, data, file);
  const keyFile = join(file, '..', 'he-key.json');
  let text: string | undefined;
  try {
    text = readFileSync(keyFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new UserError(`cannot read ${keyFile}: ${(err as Error).message}`, undefined, { cause: err });
  }
  let heKey: ConsortiumKey | undefined;
  if (text !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new UserError(`${keyFile} is not valid JSON`, undefined, { cause: err });
    }
    checked(heKeyFileSchema, json, keyFile);
    try {
      heKey = parseConsortiumKey(text);
    } catch (err) {
      if (err instanceof HeError)
        throw new UserError(`${keyFile}: ${err.message}`, undefined, { cause: err });
      throw err;
    }
  }
  return { ...kit, heKey };
}

/** A kit's identity key, re-derived and checked from its private JWK. */
export function identityOf(kit: { identity: IdentityKey }): Promise<IdentityKey> {
  return importIdentity(kit.identity.privateJwk);
}
