/** JWS algorithm for every kpt signature: EdDSA over Ed25519 (RFC 8037), understood by every JOSE library. */
export const ALG = 'EdDSA';

/** `typ` header of each artifact. Verifiers require the exact value, so one artifact can never pass as another. */
export const TYP = Object.freeze({
  challenge: 'kpfl-challenge+jwt',
  session: 'kpfl-session+jwt',
  attestation: 'kpfl-attestation+jwt',
  receipt: 'kpfl-receipt+jwt',
  roundCertificate: 'kpfl-round-certificate+json',
  keyEnvelope: 'kpfl-he-key+jwt',
});

/** Default clock tolerance for time claims, in seconds. */
export const DEFAULT_CLOCK_TOLERANCE_S = 30;

/** Milliseconds since the epoch, like Date.now. Injectable so tests need no fake timers. */
export type Clock = () => number;

export const nowSeconds = (clock: Clock = Date.now): number => Math.floor(clock() / 1000);
