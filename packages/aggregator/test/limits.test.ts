/**
 * The resource limits of the aggregator on their own: the in-flight budget, one stream per member,
 * the per-member session rate in Redis (real Redis, its own key prefix), and the bound on a plan's
 * update size against real ciphertexts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { createEncoder, generateConsortiumKey } from '@kpfl/he';
import {
  InflightBudget,
  Metrics,
  maxChunkBytes,
  maxUpdateBytes,
  RpcError,
  redisConnection,
  SessionRateLimiter,
  StreamSlots,
} from '../src/index.js';

const redis = redisConnection();
const prefix = `kpfl-test-limits:${randomBytes(4).toString('hex')}`;
after(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});

const refusal = (status: string, reason: string) => (err: unknown) => {
  assert.ok(err instanceof RpcError, String(err));
  assert.equal(err.status, status);
  assert.equal(err.code, reason);
  return true;
};

test('the in-flight budget refuses what does not fit and takes back what is released', async () => {
  const metrics = new Metrics();
  const budget = new InflightBudget(100, metrics);
  const a = budget.reserve(60);
  assert.throws(() => budget.reserve(50), refusal('RESOURCE_EXHAUSTED', 'inflight_budget'));
  const b = budget.reserve(40);
  assert.equal(budget.reservedBytes, 100);
  a();
  a(); // idempotent
  assert.equal(budget.reservedBytes, 40);
  b();
  assert.equal(budget.reservedBytes, 0);
  assert.match(await metrics.registry.metrics(), /^kpfl_submission_inflight_bytes 0$/m);
  assert.match(await metrics.registry.metrics(), /^kpfl_submission_inflight_budget_bytes 100$/m);
  // More than the whole budget can never fit: the operator must act, retrying does not help.
  assert.throws(() => budget.reserve(101), refusal('FAILED_PRECONDITION', 'update_exceeds_budget'));
});

test('one stream per member at a time', () => {
  const slots = new StreamSlots();
  const release = slots.claim('alice');
  assert.throws(() => slots.claim('alice'), refusal('RESOURCE_EXHAUSTED', 'concurrent_stream'));
  const bob = slots.claim('bob');
  release();
  release();
  slots.claim('alice')();
  bob();
  assert.equal(slots.size, 0);
});

test('sessions per member and minute, shared by every limiter on the same Redis prefix', async () => {
  const one = new SessionRateLimiter(redis, prefix, 2);
  const two = new SessionRateLimiter(redis, prefix, 2);
  await one.take('alice');
  await two.take('alice');
  await assert.rejects(one.take('alice'), (err: unknown) => {
    refusal('RESOURCE_EXHAUSTED', 'session_rate')(err);
    const hint = (err as RpcError).retryAfterMs!;
    assert.ok(hint > 0 && hint <= 60_000, `retry hint ${hint}`);
    return true;
  });
  // A refused attempt is not counted, and other members have their own window.
  await assert.rejects(two.take('alice'));
  await one.take('bob');
  assert.equal(await redis.zcard(`${prefix}:sessions:alice`), 2);
});

test("a plan's update bound holds every real ciphertext, within 2 %", async () => {
  const key = await generateConsortiumKey('compact');
  const enc = await createEncoder({ mode: 'he', key, workers: 0 });
  try {
    const values = new Float64Array(10_001).map((_, i) => Math.sin(i));
    const chunks = await enc.encode(values);
    const plan = { mode: 'he' as const, he_params: 'compact', chunk_count: chunks.length };
    const actual = chunks.reduce((a, c) => a + c.byteLength, 0);
    for (const c of chunks) assert.ok(c.byteLength <= maxChunkBytes(plan));
    assert.ok(actual <= maxUpdateBytes(plan));
    assert.ok(maxUpdateBytes(plan) <= actual * 1.02, `${maxUpdateBytes(plan)} vs ${actual}`);
  } finally {
    await enc.close();
  }
  const plain = await createEncoder({ mode: 'plain' });
  const chunks = await plain.encode(new Float64Array(10_001));
  const plan = { mode: 'plain' as const, he_params: 'compact', chunk_count: chunks.length };
  assert.equal(
    maxUpdateBytes(plan),
    chunks.reduce((a, c) => a + c.byteLength, 0),
  );
  await plain.close();
});
