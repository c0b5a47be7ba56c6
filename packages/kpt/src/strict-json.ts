import { parse as parseJsonAst } from '@humanwhocodes/momoa';
import { base64url } from 'jose';
import { KptError, type KptErrorCode } from './errors.js';

/**
 * Duplicate JSON member names. RFC 8259 leaves them to the parser (JSON.parse keeps the last, other
 * parsers keep the first or refuse), so a signed document with two "iss" or two "exampleCount" could
 * mean one thing to kpfl and another to an auditor's tool. kpt refuses them in every signed artifact
 * it verifies, checking the raw JSON of each decoded segment with a strict JSON parser that keeps
 * every member (momoa, ESLint's JSON parser); decoding escapes, so "a" and "\u0061" are one name.
 */

type AstNode = { type: string; [k: string]: unknown };

/** The JSON pointer of the first object that repeats a member name, and the name; undefined when none. */
function firstDuplicate(node: AstNode, path: string): { path: string; name: string } | undefined {
  if (node.type === 'Object') {
    const seen = new Set<string>();
    for (const m of node.members as { name: { value: string }; value: AstNode }[]) {
      const name = m.name.value;
      if (seen.has(name)) return { path: path || '/', name };
      seen.add(name);
      const inner = firstDuplicate(m.value, `${path}/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`);
      if (inner) return inner;
    }
  } else if (node.type === 'Array') {
    const elements = node.elements as { value: AstNode }[];
    for (let i = 0; i < elements.length; i++) {
      const inner = firstDuplicate(elements[i]!.value, `${path}/${i}`);
      if (inner) return inner;
    }
  }
  return undefined;
}

/**
 * Refuses JSON text with a duplicate member name anywhere (KptError `code`). Text that is not JSON
 * at all is left to the caller's own parser, which reports it as it always has.
 */
export function refuseDuplicateKeys(text: string, code: KptErrorCode, what: string): void {
  let ast: { body: AstNode };
  try {
    ast = parseJsonAst(text, { mode: 'json' }) as unknown as { body: AstNode };
  } catch {
    return;
  }
  const dup = firstDuplicate(ast.body, '');
  if (dup) {
    throw new KptError(
      code,
      `${what} has the member "${dup.name.slice(0, 64)}" twice (at ${dup.path.slice(0, 128)}): duplicate JSON keys are refused`,
    );
  }
}

/** JSON.parse that refuses duplicate member names (KptError `code`) and non-JSON text. */
export function parseStrictJson(text: string, code: KptErrorCode, what: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new KptError(code, `${what} is not JSON`, { cause });
  }
  refuseDuplicateKeys(text, code, what);
  return value;
}

function decodeSegment(segment: string): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(base64url.decode(segment));
  } catch {
    return undefined;
  }
}

/**
 * Checks the protected header and the payload of a compact JWS (or JWT) for duplicate member names,
 * before any of it is trusted. A segment that does not decode is left to jose, which refuses it.
 */
export function refuseDuplicateKeysInCompact(jws: string, code: KptErrorCode, what: string): void {
  if (typeof jws !== 'string') return;
  const parts = jws.split('.');
  if (parts.length !== 3) return;
  const header = decodeSegment(parts[0]!);
  if (header !== undefined) refuseDuplicateKeys(header, code, `${what} header`);
  const payload = decodeSegment(parts[1]!);
  if (payload !== undefined) refuseDuplicateKeys(payload, code, `${what} payload`);
}

/** The same for one base64url segment (a General JWS's payload or one signature's protected header). */
export function refuseDuplicateKeysInSegment(segment: string, code: KptErrorCode, what: string): void {
  const text = decodeSegment(segment);
  if (text !== undefined) refuseDuplicateKeys(text, code, what);
}
