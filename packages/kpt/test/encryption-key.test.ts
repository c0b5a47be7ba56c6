import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  encryptionPublicKeyOf,
  generateEncryptionKey,
  generateIdentity,
  importEncryptionKey,
  KptError,
} from '../src/index.js';

test('an encryption key is X25519, round-trips through its private JWK, and its kid is the thumbprint', async () => {
  const k = await generateEncryptionKey();
  assert.equal(k.publicJwk.crv, 'X25519');
  assert.equal(k.publicJwk.use, 'enc');
  assert.equal('d' in k.publicJwk, false);
  assert.deepEqual(await importEncryptionKey(k.privateJwk), k);
  assert.equal(encryptionPublicKeyOf(k.publicJwk).asymmetricKeyType, 'x25519');
});

test('bad encryption keys are refused with KEY_INVALID', async () => {
  const k = await generateEncryptionKey();
  const other = await generateEncryptionKey();
  const identity = await generateIdentity();
  const invalid = (e: unknown) => e instanceof KptError && e.code === 'KEY_INVALID';
  await assert.rejects(importEncryptionKey(identity.privateJwk), invalid, 'an Ed25519 key');
  await assert.rejects(
    importEncryptionKey({ ...k.privateJwk, x: other.publicJwk.x }),
    invalid,
    'x of another',
  );
  await assert.rejects(importEncryptionKey({ ...k.privateJwk, kid: other.kid }), invalid, 'kid of another');
  assert.throws(() => encryptionPublicKeyOf(k.privateJwk), /private material/);
  assert.throws(() => encryptionPublicKeyOf(identity.publicJwk), /X25519 public JWK/);
});
