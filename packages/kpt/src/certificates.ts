import { createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';
import { KptError } from './errors.js';
import { COORDINATOR_ID } from './jwks.js';
import { idSchema, parseWith } from './schemas.js';

/**
 * X.509 for mutual TLS: a federation CA, the aggregator's server certificate and one client
 * certificate per member (CN = member id). ECDSA P-256 / SHA-256, which grpc-js and OpenSSL accept.
 */

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const crypto = webcrypto;
const KEY_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const CLOCK_SKEW_MS = 5 * 60 * 1000;
export const DEFAULT_VALIDITY_DAYS = 365;

/** A certificate with its PKCS#8 private key, both PEM. */
export interface CertificateKit {
  certPem: string;
  keyPem: string;
}

/** The federation CA: the coordinator keeps its key to issue member certificates later. */
export type CaKit = CertificateKit;

async function newKeyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Positive 128-bit serial (RFC 5280 4.1.2.2). */
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f;
  b[0] |= 0x01;
  return b.toString('hex');
}

function validity(validityDays: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isInteger(validityDays) || validityDays < 1 || validityDays > 3650) {
    throw new KptError('CLAIMS_INVALID', 'validityDays must be an integer in 1..3650');
  }
  const now = Date.now();
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + validityDays * 86_400_000) };
}

/** Create the federation's self-signed CA (CN "kpfl <federation> CA"). */
export async function createCertificateAuthority(
  federation: string,
  validityDays = DEFAULT_VALIDITY_DAYS,
): Promise<CaKit> {
  parseWith(idSchema, federation, 'CLAIMS_INVALID', 'federation id');
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: [{ CN: [`kpfl ${federation} CA`] }, { O: ['kpfl'] }],
      ...validity(validityDays),
      keys,
      signingAlgorithm: SIGN_ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

async function loadCa(ca: CaKit): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  let cert: x509.X509Certificate;
  let key: CryptoKey;
  try {
    cert = new x509.X509Certificate(ca.certPem);
    const der = createPrivateKey(ca.keyPem).export({ format: 'der', type: 'pkcs8' });
    key = await crypto.subtle.importKey('pkcs8', der, KEY_ALG, false, ['sign']);
  } catch (cause) {
    throw new KptError(
      'CERTIFICATE_INVALID',
      'CA certificate or key PEM could not be loaded (expect an ECDSA P-256 CA)',
      {
        cause,
      },
    );
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca)
    throw new KptError('CERTIFICATE_INVALID', 'the given CA certificate is not a CA (basicConstraints)');
  return { cert, key };
}

/** A certificate for `publicKey` signed by the CA: the one place end-entity extensions are chosen. */
async function certify(
  ca: CaKit,
  publicKey: CryptoKey,
  subjectCn: string,
  usage: x509.ExtendedKeyUsage,
  validityDays: number,
  altNames?: x509.JsonGeneralNames,
): Promise<string> {
  const { cert: caCert, key: caKey } = await loadCa(ca);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage], false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey, false, crypto),
  ];
  if (altNames) extensions.push(new x509.SubjectAlternativeNameExtension(altNames, false));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject: [{ CN: [subjectCn] }, { O: ['kpfl'] }],
      issuer: caCert.subject,
      ...validity(validityDays),
      publicKey,
      signingKey: caKey,
      signingAlgorithm: SIGN_ALG,
      extensions,
    },
    crypto,
  );
  return cert.toString('pem');
}

/** A new key pair and its certificate (the coordinator-generated, one-machine path). */
async function issue(
  ca: CaKit,
  subjectCn: string,
  usage: x509.ExtendedKeyUsage,
  validityDays: number,
  altNames?: x509.JsonGeneralNames,
): Promise<CertificateKit> {
  const keys = await newKeyPair();
  const certPem = await certify(ca, keys.publicKey, subjectCn, usage, validityDays, altNames);
  return { certPem, keyPem: await keyPem(keys.privateKey) };
}

/** The aggregator's TLS server certificate; SAN = the host names / IP addresses it is reached at. */
export async function issueServerCertificate(
  ca: CaKit,
  hosts: string[],
  validityDays = DEFAULT_VALIDITY_DAYS,
): Promise<CertificateKit> {
  if (hosts.length === 0)
    throw new KptError('CLAIMS_INVALID', 'the server certificate needs at least one host');
  const names: x509.JsonGeneralNames = hosts.map((h) =>
    isIP(h) ? { type: 'ip', value: h } : { type: 'dns', value: h },
  );
  return issue(ca, hosts[0], x509.ExtendedKeyUsage.serverAuth, validityDays, names);
}

/** A member's (or auditor's) TLS client certificate: CN = member id, signed by the federation CA. */
export async function issueMemberCertificate(
  caKit: CaKit,
  memberId: string,
  opts: { validityDays?: number } = {},
): Promise<CertificateKit> {
  parseWith(idSchema, memberId, 'CLAIMS_INVALID', 'member id');
  if (memberId === COORDINATOR_ID)
    throw new KptError('CLAIMS_INVALID', `"${COORDINATOR_ID}" is a reserved id`);
  return issue(caKit, memberId, x509.ExtendedKeyUsage.clientAuth, opts.validityDays ?? DEFAULT_VALIDITY_DAYS);
}

/**
 * A member's TLS client certificate for a public key the member made (enrollment: the key of its
 * CSR, whose self-signature the caller has checked). Same subject and extensions as
 * issueMemberCertificate; the private key never reaches the CA. `spkiPem` is a PEM "PUBLIC KEY"
 * (SubjectPublicKeyInfo), ECDSA P-256.
 */
export async function issueMemberCertificateForKey(
  caKit: CaKit,
  memberId: string,
  spkiPem: string,
  opts: { validityDays?: number } = {},
): Promise<{ certPem: string }> {
  parseWith(idSchema, memberId, 'CLAIMS_INVALID', 'member id');
  if (memberId === COORDINATOR_ID)
    throw new KptError('CLAIMS_INVALID', `"${COORDINATOR_ID}" is a reserved id`);
  let publicKey: CryptoKey;
  try {
    const der = createPublicKey(spkiPem).export({ format: 'der', type: 'spki' });
    publicKey = await crypto.subtle.importKey('spki', der, KEY_ALG, true, ['verify']);
  } catch (cause) {
    throw new KptError('KEY_INVALID', 'the TLS public key is not an ECDSA P-256 public key (PEM SPKI)', {
      cause,
    });
  }
  const certPem = await certify(
    caKit,
    publicKey,
    memberId,
    x509.ExtendedKeyUsage.clientAuth,
    opts.validityDays ?? DEFAULT_VALIDITY_DAYS,
  );
  return { certPem };
}

/**
 * The subject CN of a certificate (PEM text, or DER bytes such as node's peer certificate `.raw`
 * or grpc-js `getAuthContext().sslPeerCertificate.raw`). Bind a session token's subject to it.
 */
export function certificateSubject(certPemOrDer: string | Uint8Array): string {
  let cn: string[];
  try {
    const cert = new x509.X509Certificate(
      typeof certPemOrDer === 'string' ? certPemOrDer : new Uint8Array(certPemOrDer),
    );
    cn = cert.subjectName.getField('CN');
  } catch (cause) {
    throw new KptError('CERTIFICATE_INVALID', 'not an X.509 certificate (PEM or DER expected)', { cause });
  }
  if (cn.length !== 1 || cn[0].length === 0) {
    throw new KptError(
      'CERTIFICATE_INVALID',
      `certificate must carry exactly one subject CN, found ${cn.length}`,
    );
  }
  return cn[0];
}
