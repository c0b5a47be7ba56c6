import { createHash, createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { base64url, CompactSign, calculateJwkThumbprint, compactVerify, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { issueMemberCertificateForKey } from './certificates.js';
import { ALG, type Clock, nowSeconds } from './constants.js';
import { verifyCoordinatorCompact } from './coordinator-jws.js';
import { digestOf } from './digest.js';
import { ENCRYPTION_ALG, type EncryptionKey, generateEncryptionKey } from './encryption-key.js';
import { classifyJoseError, KptError } from './errors.js';
import { generateIdentity, type IdentityKey, publicKeyOf, signingKeyOf } from './identity.js';
import {
  COORDINATOR_ID,
  coordinatorJwksOf,
  federationJwks,
  findCoordinatorKey,
  findMemberKey,
} from './jwks.js';
import type { AuditorKit, CoordinatorKit, MemberKit, RegisteredParty } from './provisioning.js';
import { idSchema, parseJsonPayload, parseWith, unixSecondsSchema } from './schemas.js';
import { refuseDuplicateKeysInCompact } from './strict-json.js';

/**
 * Member-side enrollment, CSR style (issue 13). The member makes every private key it will ever
 * hold (Ed25519 identity, X25519 encryption key, ECDSA P-256 TLS key) and sends only public
 * material to the coordinator:
 *
 *   member      createEnrollment()          -> secrets (kept) + request (a JWS, public) + fingerprint
 *   coordinator verifyEnrollmentRequest()   -> the checked claims (proof of possession, CSR)
 *               answerEnrollment()          -> the TLS certificate for the CSR's key, the updated
 *                                              registry, and a response JWS signed by the coordinator
 *   member      completeEnrollment()        -> its kit, after checking the response is for it
 *
 * Proof of possession: the whole request is a compact JWS signed by the identity key it carries
 * (its kid must be that key's RFC 7638 thumbprint), and the CSR inside is self-signed by the TLS key,
 * whose public half the request also names. The X25519 key cannot sign; a member that names a key
 * it does not hold only stops itself from receiving the consortium key.
 *
 * The fingerprint is read out of band (telephone, video call, a signed letter): it is SHA-256 over
 * the exact signed payload bytes, 100 bits in RFC 4648 base32, five groups of four characters.
 */

const crypto = webcrypto;
const TLS_KEY_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const TLS_SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;

export const ENROLLMENT_TYP = Object.freeze({
  request: 'kpfl-enrollment-request+jwt',
  response: 'kpfl-enrollment-response+jwt',
});

export type EnrollmentRole = 'participant' | 'auditor';

const base64urlString = z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected base64url');
const memberIdSchema = idSchema.refine((s) => s !== COORDINATOR_ID, {
  message: `"${COORDINATOR_ID}" is reserved for the coordinator`,
});
const identityJwkSchema = z
  .object({
    kty: z.literal('OKP'),
    crv: z.literal('Ed25519'),
    x: base64urlString.length(43),
    kid: z.string().min(1).max(64),
    alg: z.literal(ALG),
    use: z.literal('sig'),
  })
  .strict();
const encryptionJwkSchema = z
  .object({
    kty: z.literal('OKP'),
    crv: z.literal('X25519'),
    x: base64urlString.length(43),
    kid: z.string().min(1).max(64),
    alg: z.literal(ENCRYPTION_ALG),
    use: z.literal('enc'),
  })
  .strict();
const pemOf = (label: string, max: number) =>
  z
    .string()
    .max(max)
    .refine(
      (s) => s.trim().startsWith(`-----BEGIN ${label}-----`) && s.trim().endsWith(`-----END ${label}-----`),
      {
        message: `expected a PEM ${label}`,
      },
    );

export const enrollmentRequestClaimsSchema = z
  .object({
    federation: idSchema,
    member: memberIdSchema,
    role: z.enum(['participant', 'auditor']),
    identityJwk: identityJwkSchema,
    encryptionJwk: encryptionJwkSchema,
    /** The TLS public key, PEM SubjectPublicKeyInfo (ECDSA P-256): the CSR must carry exactly it. */
    tlsPublicKey: pemOf('PUBLIC KEY', 1024),
    /** PKCS#10, CN = member id, self-signed by the TLS key. */
    csr: pemOf('CERTIFICATE REQUEST', 4096),
    iat: unixSecondsSchema,
  })
  .strict();
export type EnrollmentRequestClaims = z.infer<typeof enrollmentRequestClaimsSchema>;

const jwksSchema = z.object({ keys: z.array(z.record(z.unknown())).min(1).max(10_000) }).strict();

export const enrollmentResponseClaimsSchema = z
  .object({
    federation: idSchema,
    member: memberIdSchema,
    role: z.enum(['participant', 'auditor']),
    /** The fingerprint of the request this answers. */
    requestFingerprint: z.string().regex(/^[A-Z2-7]{4}(-[A-Z2-7]{4}){4}$/),
    certificate: pemOf('CERTIFICATE', 8192),
    caCertificate: pemOf('CERTIFICATE', 8192),
    coordinatorJwks: jwksSchema,
    /** Auditors only: the whole federation JWKS, to verify attestations offline. */
    jwks: jwksSchema.optional(),
    /** Where the aggregator is reached, host:port, when the coordinator said. */
    aggregator: z.string().max(260).optional(),
    iat: unixSecondsSchema,
  })
  .strict();
export type EnrollmentResponseClaims = z.infer<typeof enrollmentResponseClaimsSchema>;

/** What the member keeps: every private key of its future kit. Never leaves the member. */
export interface EnrollmentSecrets {
  federation: string;
  memberId: string;
  role: EnrollmentRole;
  identity: IdentityKey;
  encryption: EncryptionKey;
  /** PKCS#8 PEM of the ECDSA P-256 TLS client key. */
  tlsKeyPem: string;
}

// ---------------------------------------------------------------------------------------------------
// Fingerprints

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The first 100 bits of SHA-256(bytes) in base32, as XXXX-XXXX-XXXX-XXXX-XXXX. */
export function fingerprintOf(bytes: Uint8Array | string): string {
  const h = createHash('sha256').update(bytes).digest();
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const byte of h) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 20) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
    if (out.length === 20) break;
  }
  return out.match(/.{4}/g)!.join('-');
}

function payloadSegment(jws: unknown): Uint8Array | undefined {
  if (typeof jws !== 'string') return undefined;
  const parts = jws.split('.');
  if (parts.length !== 3) return undefined;
  try {
    return base64url.decode(parts[1]!);
  } catch {
    return undefined;
  }
}

/**
 * What a request claims before anything is verified: for the refusal's audit entry and message
 * only (the values are the sender's and must be clipped before they are stored).
 */
export function unverifiedEnrollmentRequest(jws: unknown): {
  fingerprint?: string;
  member?: unknown;
  federation?: unknown;
} {
  const payload = payloadSegment(jws);
  if (!payload) return {};
  let claims: { member?: unknown; federation?: unknown } = {};
  try {
    const v = JSON.parse(new TextDecoder().decode(payload));
    if (v && typeof v === 'object') claims = v;
  } catch {
    // not JSON: only the fingerprint
  }
  return { fingerprint: fingerprintOf(payload), member: claims.member, federation: claims.federation };
}

// ---------------------------------------------------------------------------------------------------
// Member side: the request

function spkiDer(pem: string): Buffer {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      throw new Error(`a ${key.asymmetricKeyType} key`);
    return key.export({ format: 'der', type: 'spki' });
  } catch (cause) {
    throw new KptError('KEY_INVALID', "the request's tlsPublicKey is not an ECDSA P-256 public key", {
      cause,
    });
  }
}

/** A fresh ECDSA P-256 TLS key and a PKCS#10 request for it (CN = member id), both PEM. */
export async function createTlsKeyAndCsr(
  memberId: string,
): Promise<{ keyPem: string; publicKeyPem: string; csrPem: string }> {
  const keys = (await crypto.subtle.generateKey(TLS_KEY_ALG, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: [{ CN: [memberId] }], keys, signingAlgorithm: TLS_SIGN_ALG },
    crypto,
  );
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  const spki = await crypto.subtle.exportKey('spki', keys.publicKey);
  return {
    keyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
    publicKeyPem: x509.PemConverter.encode(spki, 'PUBLIC KEY'),
    csrPem: csr.toString('pem'),
  };
}

/**
 * Signs request claims with the identity key (proof of possession). Exposed so that tests can sign
 * requests that are wrong in one way only; createEnrollment is the normal path.
 */
export async function signEnrollmentRequest(
  identity: IdentityKey,
  claims: Omit<EnrollmentRequestClaims, 'iat'> & { iat?: number },
  opts: { now?: Clock } = {},
): Promise<{ request: string; fingerprint: string }> {
  const full = parseWith(
    enrollmentRequestClaimsSchema,
    { ...claims, iat: claims.iat ?? nowSeconds(opts.now) },
    'CLAIMS_INVALID',
    'enrollment request to sign',
  );
  const bytes = new TextEncoder().encode(JSON.stringify(full));
  const request = await new CompactSign(bytes)
    .setProtectedHeader({ alg: ALG, kid: identity.kid, typ: ENROLLMENT_TYP.request })
    .sign(signingKeyOf(identity));
  return { request, fingerprint: fingerprintOf(bytes) };
}

/**
 * `kpfl member init`: every key made here, on the member's machine; returns what the member keeps
 * and the public request (with its fingerprint) it sends to the coordinator.
 */
export async function createEnrollment(args: {
  federation: string;
  memberId: string;
  role?: EnrollmentRole;
  now?: Clock;
}): Promise<{ secrets: EnrollmentSecrets; request: string; fingerprint: string }> {
  const federation = parseWith(idSchema, args.federation, 'CLAIMS_INVALID', 'federation id');
  const memberId = parseWith(memberIdSchema, args.memberId, 'CLAIMS_INVALID', 'member id');
  const role = args.role ?? 'participant';
  const identity = await generateIdentity();
  const encryption = await generateEncryptionKey();
  const tls = await createTlsKeyAndCsr(memberId);
  const { request, fingerprint } = await signEnrollmentRequest(
    identity,
    {
      federation,
      member: memberId,
      role,
      identityJwk: identity.publicJwk as EnrollmentRequestClaims['identityJwk'],
      encryptionJwk: encryption.publicJwk as EnrollmentRequestClaims['encryptionJwk'],
      tlsPublicKey: tls.publicKeyPem,
      csr: tls.csrPem,
    },
    { now: args.now },
  );
  return {
    secrets: { federation, memberId, role, identity, encryption, tlsKeyPem: tls.keyPem },
    request,
    fingerprint,
  };
}

// ---------------------------------------------------------------------------------------------------
// Coordinator side: verify, issue, answer

export interface VerifiedEnrollmentRequest {
  claims: EnrollmentRequestClaims;
  fingerprint: string;
}

/**
 * Checks a request completely, trusting nothing in it until it is proven: strict JSON, the schema
 * (strict: no unknown member), the identity key's kid, the JWS signature by that key, the CSR's
 * self-signature, its subject (CN = the member id, nothing else) and that its key is the request's
 * tlsPublicKey. `federation`, when given, must be the request's. Any failure is a KptError whose
 * message says what was wrong.
 */
export async function verifyEnrollmentRequest(
  jws: string,
  expect: { federation?: string } = {},
): Promise<VerifiedEnrollmentRequest> {
  const what = 'enrollment request';
  if (typeof jws !== 'string' || jws.length > 64 * 1024)
    throw new KptError('CLAIMS_INVALID', `${what} must be a compact JWS of at most 64 KiB`);
  refuseDuplicateKeysInCompact(jws, 'CLAIMS_INVALID', what);
  const payload = payloadSegment(jws);
  if (!payload)
    throw new KptError('CLAIMS_INVALID', `${what} is not a compact JWS (header.payload.signature)`);
  const claims = parseWith(
    enrollmentRequestClaimsSchema,
    parseJsonPayload(payload, 'CLAIMS_INVALID', what),
    'CLAIMS_INVALID',
    what,
  );
  const thumbprint = await calculateJwkThumbprint(
    { kty: 'OKP', crv: 'Ed25519', x: claims.identityJwk.x },
    'sha256',
  );
  if (claims.identityJwk.kid !== thumbprint)
    throw new KptError(
      'KEY_INVALID',
      `${what}: identityJwk.kid is not the RFC 7638 thumbprint of its key (${thumbprint})`,
    );
  const encThumbprint = await calculateJwkThumbprint(
    { kty: 'OKP', crv: 'X25519', x: claims.encryptionJwk.x },
    'sha256',
  );
  if (claims.encryptionJwk.kid !== encThumbprint)
    throw new KptError(
      'KEY_INVALID',
      `${what}: encryptionJwk.kid is not the RFC 7638 thumbprint of its key (${encThumbprint})`,
    );
  try {
    const r = await compactVerify(jws, publicKeyOf(claims.identityJwk), { algorithms: [ALG] });
    if (r.protectedHeader.typ !== ENROLLMENT_TYP.request)
      throw new KptError('CLAIMS_INVALID', `not an ${what} (typ must be ${ENROLLMENT_TYP.request})`);
    if (r.protectedHeader.kid !== claims.identityJwk.kid)
      throw new KptError(
        'SIGNATURE_INVALID',
        `${what} header names kid ${String(r.protectedHeader.kid).slice(0, 64)}, not the identity key it carries (${claims.identityJwk.kid})`,
      );
  } catch (err) {
    if (err instanceof KptError) throw err;
    const f = classifyJoseError(err);
    throw new KptError(
      'SIGNATURE_INVALID',
      f.kind === 'signature'
        ? `${what} proof of possession failed: its signature does not verify with the identity key it carries (altered after signing, or signed by another key)`
        : `${what} is not a valid compact JWS: ${f.kind === 'malformed' ? f.detail : f.kind}`,
      { cause: err },
    );
  }
  if (expect.federation !== undefined && claims.federation !== expect.federation)
    throw new KptError(
      'CLAIMS_INVALID',
      `${what} is for federation ${claims.federation}, this coordinator runs ${expect.federation}`,
    );
  await checkCsr(claims);
  return { claims, fingerprint: fingerprintOf(payload) };
}

async function checkCsr(claims: EnrollmentRequestClaims): Promise<void> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(claims.csr);
  } catch (cause) {
    throw new KptError('CERTIFICATE_INVALID', "the request's csr is not a PKCS#10 certificate request", {
      cause,
    });
  }
  let selfSigned = false;
  try {
    selfSigned = await csr.verify(crypto);
  } catch {
    selfSigned = false;
  }
  if (!selfSigned)
    throw new KptError(
      'CERTIFICATE_INVALID',
      'the CSR is not self-signed by its own key: proof of possession of the TLS key failed',
    );
  const tlsDer = spkiDer(claims.tlsPublicKey);
  if (!Buffer.from(csr.publicKey.rawData).equals(tlsDer))
    throw new KptError(
      'CERTIFICATE_INVALID',
      "the CSR's public key is not the request's tlsPublicKey: the request was assembled from two different TLS keys",
    );
  const cn = csr.subjectName.getField('CN');
  const rdns = csr.subjectName.toJSON();
  if (cn.length !== 1 || cn[0] !== claims.member || rdns.length !== 1 || Object.keys(rdns[0]!).length !== 1)
    throw new KptError(
      'CERTIFICATE_INVALID',
      `the CSR's subject must be exactly CN=${claims.member}, got ${csr.subject.slice(0, 128)}`,
    );
}

/**
 * Issues the TLS client certificate for the CSR's key, adds the member to the registry and the
 * JWKS, and signs the response with the coordinator key. Pure: the caller stores the new kit and
 * registers the member (and refuses an id that is already enrolled before it calls this).
 */
export async function answerEnrollment(
  coordinator: CoordinatorKit,
  verified: VerifiedEnrollmentRequest,
  opts: { aggregator?: string; validityDays?: number; now?: Clock } = {},
): Promise<{ coordinator: CoordinatorKit; party: RegisteredParty; response: string; certPem: string }> {
  const { claims, fingerprint } = verified;
  if (claims.federation !== coordinator.federation)
    throw new KptError(
      'CLAIMS_INVALID',
      `enrollment request is for federation ${claims.federation}, this coordinator runs ${coordinator.federation}`,
    );
  if (coordinator.registry[claims.member])
    throw new KptError('CLAIMS_INVALID', `member "${claims.member}" is already registered`);
  const { certPem } = await issueMemberCertificateForKey(coordinator.ca, claims.member, claims.tlsPublicKey, {
    validityDays: opts.validityDays,
  });
  const party: RegisteredParty = {
    memberId: claims.member,
    role: claims.role,
    kid: claims.identityJwk.kid,
    publicJwk: claims.identityJwk,
    encryptionJwk: claims.encryptionJwk,
  };
  const registry = { ...coordinator.registry, [claims.member]: party };
  const jwks = federationJwks(coordinator.signingKey, Object.values(registry));
  const body: EnrollmentResponseClaims = parseWith(
    enrollmentResponseClaimsSchema,
    {
      federation: coordinator.federation,
      member: claims.member,
      role: claims.role,
      requestFingerprint: fingerprint,
      certificate: certPem,
      caCertificate: coordinator.ca.certPem,
      coordinatorJwks: coordinatorJwksOf(jwks),
      ...(claims.role === 'auditor' ? { jwks } : {}),
      ...(opts.aggregator ? { aggregator: opts.aggregator } : {}),
      iat: nowSeconds(opts.now),
    },
    'CLAIMS_INVALID',
    'enrollment response to sign',
  );
  const response = await new CompactSign(new TextEncoder().encode(JSON.stringify(body)))
    .setProtectedHeader({ alg: ALG, kid: coordinator.signingKey.kid, typ: ENROLLMENT_TYP.response })
    .sign(signingKeyOf(coordinator.signingKey));
  return { coordinator: { ...coordinator, registry, jwks }, party, response, certPem };
}

// ---------------------------------------------------------------------------------------------------
// Member side: the response

/**
 * 'sha256:' + hex of a certificate's DER: what the coordinator reads out with the fingerprint, so
 * the member can pin the CA (`openssl x509 -noout -fingerprint -sha256` prints the same digits).
 */
export function certificateSha256(pem: string): string {
  return digestOf(new Uint8Array(new x509.X509Certificate(pem).rawData));
}

export interface CompletedEnrollment {
  kit: MemberKit | AuditorKit;
  /** Where the coordinator said the aggregator is, if it did. */
  aggregator?: string;
  /** What the member now trusts (on first use): read them out of band to be sure. */
  caSha256: string;
  coordinatorKid: string;
}

/**
 * The member checks the coordinator's response before it writes its kit: strict JSON and schema;
 * signed by a coordinator key of the JWKS the response carries; for this member's federation,
 * id and role, and for the request it sent (fingerprint); the certificate is for its own TLS key,
 * names it (CN), is for client authentication, is valid now, and is signed by the CA certificate
 * in the response, which must be a CA (and, with `expectCaSha256`, the one the member was told of
 * out of band). The CA and the coordinator key are trusted on first use otherwise.
 */
export async function completeEnrollment(
  responseJws: string,
  mine: { secrets: EnrollmentSecrets; requestFingerprint: string },
  opts: { expectCaSha256?: string; now?: Clock } = {},
): Promise<CompletedEnrollment> {
  const what = 'enrollment response';
  const { secrets } = mine;
  if (typeof responseJws !== 'string' || responseJws.length > 4 * 1024 * 1024)
    throw new KptError('CLAIMS_INVALID', `${what} must be a compact JWS of at most 4 MiB`);
  refuseDuplicateKeysInCompact(responseJws, 'CLAIMS_INVALID', what);
  const payload = payloadSegment(responseJws);
  if (!payload)
    throw new KptError('CLAIMS_INVALID', `${what} is not a compact JWS (header.payload.signature)`);
  const claims = parseWith(
    enrollmentResponseClaimsSchema,
    parseJsonPayload(payload, 'CLAIMS_INVALID', what),
    'CLAIMS_INVALID',
    what,
  );
  const coordinatorJwks = claims.coordinatorJwks as JSONWebKeySet;
  const { kid } = await verifyCoordinatorCompact(responseJws, coordinatorJwks, ENROLLMENT_TYP.response, what);
  if (claims.federation !== secrets.federation)
    throw new KptError(
      'CLAIMS_INVALID',
      `${what} is for federation ${claims.federation}, but this kit is for ${secrets.federation}: not your response`,
    );
  if (claims.member !== secrets.memberId)
    throw new KptError(
      'CLAIMS_INVALID',
      `${what} is for member ${claims.member}, but this kit is ${secrets.memberId}'s: not your response`,
    );
  if (claims.role !== secrets.role)
    throw new KptError(
      'CLAIMS_INVALID',
      `${what} enrolls ${claims.role}, but you asked to enroll as ${secrets.role}`,
    );
  if (claims.requestFingerprint !== mine.requestFingerprint)
    throw new KptError(
      'CLAIMS_INVALID',
      `${what} answers the request with fingerprint ${claims.requestFingerprint}, yours is ${mine.requestFingerprint}: it is not for the request this kit made`,
    );
  await checkIssuedCertificate(claims, secrets, opts.now);
  const caSha256 = certificateSha256(claims.caCertificate);
  if (opts.expectCaSha256 !== undefined && normalizeSha256(opts.expectCaSha256) !== caSha256)
    throw new KptError(
      'CERTIFICATE_INVALID',
      `the response's CA certificate has SHA-256 ${caSha256}, not the ${opts.expectCaSha256} you were given`,
    );
  let jwks: JSONWebKeySet | undefined;
  if (secrets.role === 'auditor') {
    if (!claims.jwks)
      throw new KptError('CLAIMS_INVALID', `${what} for an auditor carries no federation jwks`);
    jwks = claims.jwks as JSONWebKeySet;
    if (!findCoordinatorKey(jwks, kid))
      throw new KptError(
        'CLAIMS_INVALID',
        `${what}: the federation jwks lacks the coordinator key ${kid} that signed it`,
      );
    if (findMemberKey(jwks, secrets.memberId, secrets.identity.kid) === undefined)
      throw new KptError(
        'CLAIMS_INVALID',
        `${what}: the federation jwks does not hold your identity key ${secrets.identity.kid}`,
      );
  }
  const base = {
    federation: secrets.federation,
    memberId: secrets.memberId,
    identity: secrets.identity,
    encryption: secrets.encryption,
    tls: { certPem: claims.certificate, keyPem: secrets.tlsKeyPem, caPem: claims.caCertificate },
    coordinatorJwks: coordinatorJwksOf(coordinatorJwks),
  };
  const kit: MemberKit | AuditorKit =
    secrets.role === 'auditor' ? { ...base, role: 'auditor', jwks: jwks! } : { ...base, role: 'participant' };
  return { kit, aggregator: claims.aggregator, caSha256, coordinatorKid: kid };
}

/** 'sha256:…' or bare hex, with or without colons (openssl's form), as 'sha256:' + lowercase hex. */
function normalizeSha256(s: string): string {
  return `sha256:${s
    .replace(/^sha256:/i, '')
    .replace(/:/g, '')
    .toLowerCase()}`;
}

async function checkIssuedCertificate(
  claims: EnrollmentResponseClaims,
  secrets: EnrollmentSecrets,
  now: Clock = Date.now,
): Promise<void> {
  let cert: x509.X509Certificate;
  let ca: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(claims.certificate);
    ca = new x509.X509Certificate(claims.caCertificate);
  } catch (cause) {
    throw new KptError('CERTIFICATE_INVALID', "the response's certificate or CA certificate is not X.509", {
      cause,
    });
  }
  const mineDer = createPublicKey(secrets.tlsKeyPem).export({ format: 'der', type: 'spki' });
  if (!Buffer.from(cert.publicKey.rawData).equals(mineDer))
    throw new KptError(
      'CERTIFICATE_INVALID',
      'the certificate in the response is not for your TLS key: it certifies another key',
    );
  const cn = cert.subjectName.getField('CN');
  if (cn.length !== 1 || cn[0] !== secrets.memberId)
    throw new KptError(
      'CERTIFICATE_INVALID',
      `the certificate names ${cert.subject.slice(0, 128)}, not CN=${secrets.memberId}`,
    );
  const bc = ca.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca)
    throw new KptError('CERTIFICATE_INVALID', "the response's CA certificate is not a CA (basicConstraints)");
  const t = new Date(now());
  const chained =
    cert.issuer === ca.subject &&
    (await cert.verify({ publicKey: ca.publicKey, date: t }, crypto).catch(() => false));
  if (!chained)
    throw new KptError(
      'CERTIFICATE_INVALID',
      "the certificate is not signed by the response's CA certificate, or is not valid now",
    );
  if (!(await ca.verify({ date: t }, crypto).catch(() => false)))
    throw new KptError(
      'CERTIFICATE_INVALID',
      "the response's CA certificate is not self-signed or not valid now",
    );
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  if (!eku?.usages.includes(x509.ExtendedKeyUsage.clientAuth))
    throw new KptError('CERTIFICATE_INVALID', 'the certificate is not for TLS client authentication');
}
