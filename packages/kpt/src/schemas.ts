import { z } from 'zod';
import { DIGEST_PATTERN } from './digest.js';
import { KptError, type KptErrorCode } from './errors.js';
import { refuseDuplicateKeys } from './strict-json.js';

/** Member, auditor and federation ids: safe as a certificate CN, a file name and a log field. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const idSchema = z.string().regex(ID_PATTERN, 'must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}');
export const digestSchema = z.string().regex(DIGEST_PATTERN, "must be 'sha256:' + 64 lowercase hex digits");
export const roundSchema = z.number().int().nonnegative();
export const unixSecondsSchema = z.number().int().nonnegative();
export const isoTimeSchema = z.string().datetime({ message: 'must be an ISO 8601 UTC time (…Z)' });

/** Parse with a zod schema; on failure throw KptError(code) naming every offending path. */
export function parseWith<T extends z.ZodTypeAny>(
  schema: T,
  value: unknown,
  code: KptErrorCode,
  what: string,
): z.output<T> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  throw new KptError(code, `${what} has invalid claims: ${issues}`, { cause: r.error });
}

/** Parse a JSON payload (bytes from a verified JWS); duplicate member names are refused too. */
export function parseJsonPayload(bytes: Uint8Array, code: KptErrorCode, what: string): unknown {
  let text: string;
  let value: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    value = JSON.parse(text);
  } catch (cause) {
    throw new KptError(code, `${what} payload is not UTF-8 JSON`, { cause });
  }
  refuseDuplicateKeys(text, code, `${what} payload`);
  return value;
}

export function isSortedUnique(xs: readonly string[]): boolean {
  for (let i = 1; i < xs.length; i++) if (!(xs[i - 1] < xs[i])) return false;
  return true;
}

/** Plain code-unit order: the same in every language (no locale). */
export function sortedUnique(xs: readonly string[]): string[] {
  return [...new Set(xs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
