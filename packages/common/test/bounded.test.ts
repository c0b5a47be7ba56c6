import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clip, MAX_ECHO_CHARS } from '../src/index.js';

test('clip keeps short values as they are', () => {
  assert.equal(clip('alice'), 'alice');
  assert.equal(clip(42), '42');
  assert.equal(clip(''), '');
});

test('clip cuts long values and says how much it left out', () => {
  const huge = 'a'.repeat(3 * 2 ** 20);
  const shown = clip(huge);
  assert.equal(shown, `${'a'.repeat(MAX_ECHO_CHARS)}…(+${huge.length - MAX_ECHO_CHARS} chars)`);
  assert.ok(shown.length < MAX_ECHO_CHARS + 32);
  assert.equal(clip('abcdef', 3), 'abc…(+3 chars)');
});

test('clip makes values printable: controls, NUL and lone surrogates become U+FFFD', () => {
  assert.equal(clip('a\u0000b\nc\u007f\u009b'), 'a\ufffdb\ufffdc\ufffd\ufffd');
  assert.equal(clip('x\ud800y'), 'x\ufffdy');
  assert.equal(clip('x\udc00'), 'x\ufffd');
  assert.equal(clip('ok \u{1f600}'), 'ok \u{1f600}', 'a surrogate pair is a character, kept');
});

test('clip never splits a surrogate pair at the cut', () => {
  const s = `ab${'\u{1f600}'.repeat(4)}`;
  const shown = clip(s, 3); // 'ab' + the first half of the emoji: the half is dropped
  assert.equal(shown, `ab…(+${s.length - 2} chars)`);
  assert.ok(!/[\ud800-\udfff]/.test(shown.replace(/\u{1f600}/gu, '')));
});

test('clip shows the size of byte arrays and arrays, never their contents', () => {
  assert.equal(clip(new Uint8Array(5)), '<5 bytes>');
  assert.equal(clip([1, 2, 3]), '<array of 3>');
});
