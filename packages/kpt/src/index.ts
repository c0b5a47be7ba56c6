/**
 * @kpfl/kpt — K Party Tokens: identities, challenge-response, session tokens, contribution
 * attestations, receipts, round certificates, and the X.509 material for mutual TLS.
 */

export type { GeneralJWS, JSONWebKeySet, JWK } from 'jose';
export {
  type AttestationClaims,
  type AttestationExpectation,
  attestationClaimsSchema,
  signAttestation,
  verifyAttestation,
} from './attestation.js';
export {
  CAPABILITIES,
  type Capability,
  capabilitiesOf,
  ROLE_CAPABILITIES,
  ROLES,
  type Role,
} from './capabilities.js';
export {
  type CaKit,
  type CertificateKit,
  certificateSubject,
  createCertificateAuthority,
  issueMemberCertificate,
  issueMemberCertificateForKey,
  issueServerCertificate,
} from './certificates.js';
export {
  type Challenge,
  type ChallengeExpectation,
  ChallengeRegistry,
  createChallenge,
  signChallenge,
  verifyChallengeResponse,
} from './challenge.js';
export { ALG, type Clock, TYP } from './constants.js';
export { DIGEST_PATTERN, DigestBuilder, digestOf, digestOfChunks } from './digest.js';
export {
  type EncryptionKey,
  encryptionPublicKeyOf,
  generateEncryptionKey,
  importEncryptionKey,
} from './encryption-key.js';
export {
  answerEnrollment,
  type CompletedEnrollment,
  certificateSha256,
  completeEnrollment,
  createEnrollment,
  createTlsKeyAndCsr,
  ENROLLMENT_TYP,
  type EnrollmentRequestClaims,
  type EnrollmentResponseClaims,
  type EnrollmentRole,
  type EnrollmentSecrets,
  enrollmentRequestClaimsSchema,
  enrollmentResponseClaimsSchema,
  fingerprintOf,
  signEnrollmentRequest,
  unverifiedEnrollmentRequest,
  type VerifiedEnrollmentRequest,
  verifyEnrollmentRequest,
} from './enrollment.js';
export { GRPC_STATUS_OF, isKptError, KptError, type KptErrorCode, type KptGrpcStatus } from './errors.js';
export { generateIdentity, type IdentityKey, importIdentity } from './identity.js';
export {
  buildJwks,
  COORDINATOR_ID,
  coordinatorJwksOf,
  coordinatorKeys,
  type FederationParty,
  federationJwks,
  findMemberKey,
  type JwksEntry,
  type KeyRole,
  type KptJwk,
  partyRole,
} from './jwks.js';
export {
  type EnvelopeRecipient,
  HE_KEY_ID_PATTERN,
  type KeyEnvelopeClaims,
  type KeyEnvelopeExpectation,
  type KeyEnvelopeHeader,
  keyEnvelopeHeader,
  openKeyEnvelope,
  sealKeyEnvelope,
} from './key-envelope.js';
// secure aggregation (issue 14): mask key advertisements, share envelopes, unmask announcements and responses
export {
  checkRoundRef,
  type MaskAdvertisementClaims,
  type MaskAdvertisementExpectation,
  maskAdvertisementClaimsSchema,
  type RoundRef,
  signMaskAdvertisement,
  verifyMaskAdvertisement,
} from './mask-advertisement.js';
export {
  type AuditorKit,
  type CoordinatorKit,
  type CreateFederationArgs,
  createCoordinatorKit,
  createFederationKits,
  type FederationKits,
  type MemberKit,
  type PartyTls,
  provisionMember,
  type RegisteredParty,
} from './provisioning.js';
export { type ReceiptClaims, receiptClaimsSchema, signReceipt, verifyReceipt } from './receipt.js';
export { MemoryReplayStore, type ReplayStore } from './replay.js';
export {
  type CountersignVerdict,
  countersignRoundCertificate,
  createRoundCertificate,
  MAX_REJECTION_LENGTH,
  type RoundCertificateInput,
  type RoundCertificatePayload,
  type RoundCertificateVerification,
  roundCertificatePayloadSchema,
  verifyRoundCertificate,
} from './round-certificate.js';
export { ID_PATTERN } from './schemas.js';
export { MAX_SHARE_CHARS, SECAGG_TYP } from './secagg-schemas.js';
export {
  type IssueSessionArgs,
  issueSessionToken,
  type KpflClaims,
  MAX_SESSION_TTL_S,
  type SessionClaims,
  sessionClaimsSchema,
  type TokenRequirement,
  TokenVerifier,
  type TokenVerifierOptions,
} from './session.js';
export {
  MAX_SHARE_ENVELOPE_CHARS,
  openShareEnvelope,
  type ShareEnvelopeClaims,
  type ShareEnvelopeExpectation,
  type ShareEnvelopeHeader,
  sealShareEnvelope,
  shareEnvelopeClaimsSchema,
  shareEnvelopeHeader,
  shareKeyId,
} from './share-envelope.js';
export {
  parseStrictJson,
  refuseDuplicateKeys,
  refuseDuplicateKeysInCompact,
  refuseDuplicateKeysInSegment,
} from './strict-json.js';
export {
  checkUnmaskRequest,
  MAX_ROUND_MEMBERS,
  signUnmaskAnnouncement,
  signUnmaskResponse,
  type UnmaskAnnouncementClaims,
  type UnmaskPermission,
  type UnmaskResponseClaims,
  type UnmaskResponseExpectation,
  unmaskAnnouncementClaimsSchema,
  unmaskAnnouncementDigest,
  unmaskResponseClaimsSchema,
  verifyUnmaskAnnouncement,
  verifyUnmaskResponse,
} from './unmask.js';
export { unverifiedClaims, unverifiedSessionClaims } from './unverified.js';
