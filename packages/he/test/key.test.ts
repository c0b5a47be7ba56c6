import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkConsortiumKey,
  consortiumKeyId,
  createEncoder,
  DEFAULT_HE_PARAMS,
  generateConsortiumKey,
  parseConsortiumKey,
  serializeConsortiumKey,
} from '../src/index.js';
import { rejectsWith } from './helpers.js';

describe('consortium key', () => {
  it('serializes and parses back to the same key', async () => {
    const key = await generateConsortiumKey(DEFAULT_HE_PARAMS);
    assert.equal(key.paramsName, DEFAULT_HE_PARAMS);
    assert.equal(key.publicKey, undefined, 'the seeded symmetric set needs no public key');
    const text = serializeConsortiumKey(key);
    const back = parseConsortiumKey(text);
    assert.equal(back.paramsName, key.paramsName);
    assert.deepEqual(Buffer.from(back.secretKey), Buffer.from(key.secretKey));
    assert.equal(consortiumKeyId(back), consortiumKeyId(key));
    assert.equal(JSON.parse(text).keyId, consortiumKeyId(key));
    await checkConsortiumKey(back);
  });

  it('keeps the public key for the public-key reference set', async () => {
    const key = await generateConsortiumKey('reference');
    assert.ok(key.publicKey && key.publicKey.length > 0);
    const back = parseConsortiumKey(serializeConsortiumKey(key));
    assert.deepEqual(Buffer.from(back.publicKey!), Buffer.from(key.publicKey));
    await checkConsortiumKey(back);
    const obj = JSON.parse(serializeConsortiumKey(key));
    delete obj.publicKey;
    await rejectsWith(() => parseConsortiumKey(JSON.stringify(obj)), 'KEY_INVALID', /publicKey/);
  });

  it('refuses malformed, edited or foreign keys with KEY_INVALID', async () => {
    const key = await generateConsortiumKey(DEFAULT_HE_PARAMS);
    const good = JSON.parse(serializeConsortiumKey(key));
    const variants: [string, string][] = [
      ['not json', '{'],
      ['wrong type', JSON.stringify({ ...good, type: 'x' })],
      ['wrong version', JSON.stringify({ ...good, version: 2 })],
      ['unknown params', JSON.stringify({ ...good, paramsName: 'nope' })],
      ['bad base64', JSON.stringify({ ...good, secretKey: '@@@@' })],
      ['edited key', JSON.stringify({ ...good, secretKey: `AAAA${good.secretKey.slice(4)}` })],
      ['missing keyId', JSON.stringify({ ...good, keyId: undefined })],
    ];
    for (const [what, text] of variants) {
      await rejectsWith(() => parseConsortiumKey(text), 'KEY_INVALID');
      assert.ok(what);
    }
    // Structurally broken or foreign secret keys are caught when loaded.
    const truncated = { ...key, secretKey: key.secretKey.subarray(0, key.secretKey.length - 8) };
    await rejectsWith(() => checkConsortiumKey(truncated), 'KEY_INVALID');
    await rejectsWith(() => createEncoder({ mode: 'he', key: truncated, workers: 0 }), 'KEY_INVALID');
    const ref = await generateConsortiumKey('reference');
    const foreign = { paramsName: DEFAULT_HE_PARAMS, secretKey: ref.secretKey };
    await rejectsWith(() => checkConsortiumKey(foreign), 'KEY_INVALID', /needs|other parameters/);
    await rejectsWith(() => createEncoder({ mode: 'he', key: foreign, workers: 1 }), 'KEY_INVALID');
    const garbage = {
      paramsName: DEFAULT_HE_PARAMS,
      secretKey: new Uint8Array(key.secretKey.length).fill(7),
    };
    await rejectsWith(() => checkConsortiumKey(garbage), 'KEY_INVALID');
  });
});
