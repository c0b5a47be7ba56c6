/**
 * Values that came from a peer (an id, a message field, a parser's complaint about either) end up in
 * error messages, log lines and the append-only audit log. `clip` is the one way they get there: at
 * most `max` characters, made printable and well-formed, with the number of characters left out, so
 * that no client can make a message, a log line or an audit row larger than the caller's bound.
 */

/** Default cap for a value echoed in a message or stored in audit data. */
export const MAX_ECHO_CHARS = 96;

/** C0 controls, DEL and the C1 controls: never echoed as is (a NUL cannot even go into Postgres text). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * `value` as text of at most `max` characters (plus a short suffix saying how many were left out):
 * control characters become U+FFFD, lone surrogates too (Postgres refuses them in jsonb), and a cut
 * never splits a surrogate pair. Non-strings are shown with String(); a huge one is never built whole
 * for a Uint8Array or an array, only its length is shown.
 */
export function clip(value: unknown, max = MAX_ECHO_CHARS): string {
  const limit = Math.max(1, Math.floor(max));
  let s: string;
  if (typeof value === 'string') s = value;
  else if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  else if (Array.isArray(value)) return `<array of ${value.length}>`;
  else s = String(value);
  let head = s;
  if (s.length > limit) {
    head = s.slice(0, limit);
    // Do not end on the first half of a surrogate pair.
    const last = head.charCodeAt(head.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) head = head.slice(0, -1);
  }
  const shown = head.replace(LONE_SURROGATE, '\ufffd').replace(CONTROL, '\ufffd');
  return head.length < s.length ? `${shown}…(+${s.length - head.length} chars)` : shown;
}
