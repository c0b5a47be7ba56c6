import { createHash, timingSafeEqual } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { SecAggError } from './errors.js';

/**
 * Shamir sharing of a member's mask key and self-mask seed over the audited `shamir-secret-sharing`
 * (GF(2^8), one random polynomial per byte). That library returns garbage, not an error, when given
 * fewer shares than its threshold or a corrupted share, so each share here carries a small header and
 * the secret a check value:
 *
 *   share = version (1) | threshold (1) | library share of (secret | check)
 *   check = first 16 bytes of SHA-256("kpfl-secagg-share-check-v1" | secret)
 *
 * Below the threshold the shares say nothing about secret or check (Shamir is perfectly hiding per
 * byte); at or above it, a wrong result fails the check except with probability 2^-128.
 */
const VERSION = 1;
const HEADER_BYTES = 2;
const CHECK_BYTES = 16;
const CHECK_LABEL = Buffer.from('kpfl-secagg-share-check-v1');
/** GF(2^8) has 255 non-zero x-coordinates. */
export const MAX_SHARE_HOLDERS = 255;
/** Mask keys and seeds are 32 bytes; anything much larger is a mistake. */
export const MAX_SECRET_BYTES = 1024;

function check(secret: Uint8Array): Uint8Array {
  return createHash('sha256').update(CHECK_LABEL).update(secret).digest().subarray(0, CHECK_BYTES);
}

/**
 * Splits `secret` into one share per holder (distinct ids, 2..255 of them), any `threshold` (2..holders)
 * of which rebuild it. Map order is the holders' order.
 */
export async function splitSecret(
  secret: Uint8Array,
  holders: string[],
  threshold: number,
): Promise<Map<string, Uint8Array>> {
  if (!(secret instanceof Uint8Array) || secret.length === 0 || secret.length > MAX_SECRET_BYTES)
    throw new SecAggError('SECRET_INVALID', `the secret must be 1..${MAX_SECRET_BYTES} bytes (a Uint8Array)`);
  if (!Array.isArray(holders) || holders.some((h) => typeof h !== 'string' || h.length === 0))
    throw new SecAggError('HOLDERS_INVALID', 'holders must be an array of non-empty ids');
  if (new Set(holders).size !== holders.length)
    throw new SecAggError('HOLDERS_INVALID', 'a holder is listed twice: each must get its own share');
  if (holders.length < 2 || holders.length > MAX_SHARE_HOLDERS)
    throw new SecAggError(
      'HOLDERS_INVALID',
      `a secret is shared to 2..${MAX_SHARE_HOLDERS} holders, got ${holders.length}`,
    );
  if (!Number.isSafeInteger(threshold) || threshold < 2 || threshold > holders.length)
    throw new SecAggError(
      'THRESHOLD_INVALID',
      `the threshold must be an integer in [2, ${holders.length}] (2 at least: one share alone would be the secret), got ${threshold}`,
    );
  const tagged = new Uint8Array(secret.length + CHECK_BYTES);
  tagged.set(secret);
  tagged.set(check(secret), secret.length);
  const shares = await split(tagged, holders.length, threshold);
  tagged.fill(0);
  const out = new Map<string, Uint8Array>();
  holders.forEach((h, i) => {
    const s = new Uint8Array(HEADER_BYTES + shares[i]!.length);
    s[0] = VERSION;
    s[1] = threshold;
    s.set(shares[i]!, HEADER_BYTES);
    out.set(h, s);
  });
  return out;
}

/**
 * Rebuilds a secret from at least `threshold` of its shares. Refuses, with distinct codes, shares that
 * are not ours or disagree in threshold or length (SHARE_INVALID), the same share twice
 * (SHARE_INVALID), fewer than the threshold (TOO_FEW_SHARES) and a result that fails its check: a
 * corrupted share or shares of different secrets (SHARES_INCONSISTENT).
 */
export async function combineShares(shares: Uint8Array[]): Promise<Uint8Array> {
  if (!Array.isArray(shares) || shares.length === 0)
    throw new SecAggError('TOO_FEW_SHARES', 'no shares to combine');
  const first = shares[0];
  for (const s of shares) {
    if (!(s instanceof Uint8Array) || s.length < HEADER_BYTES + CHECK_BYTES + 2 || s[0] !== VERSION)
      throw new SecAggError('SHARE_INVALID', 'not a kpfl secagg share (wrong type, length or version)');
    if (s.length !== first!.length || s[1] !== first![1])
      throw new SecAggError(
        'SHARE_INVALID',
        'the shares disagree in length or threshold: they are not of one secret',
      );
  }
  const threshold = first![1]!;
  const xs = new Set(shares.map((s) => s[s.length - 1]));
  if (xs.size !== shares.length)
    throw new SecAggError('SHARE_INVALID', 'the same share (x-coordinate) is given twice');
  if (shares.length < threshold)
    throw new SecAggError(
      'TOO_FEW_SHARES',
      `${shares.length} share(s) given, ${threshold} needed to rebuild the secret`,
    );
  let tagged: Uint8Array;
  try {
    tagged = await combine(shares.map((s) => s.subarray(HEADER_BYTES)));
  } catch (cause) {
    throw new SecAggError('SHARE_INVALID', 'the shares could not be combined', { cause });
  }
  const secret = tagged.slice(0, tagged.length - CHECK_BYTES);
  const got = tagged.subarray(tagged.length - CHECK_BYTES);
  if (!timingSafeEqual(got, check(secret)))
    throw new SecAggError(
      'SHARES_INCONSISTENT',
      'the rebuilt secret fails its check: a share is corrupted or the shares are of different secrets',
    );
  return secret;
}
