/**
 * The participant loop without an aggregator: what it does while it cannot reach one.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { generateIdentity } from '@kpfl/kpt';
import pino from 'pino';
import { runParticipant } from '../src/index.js';

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  return typeof addr === 'object' && addr ? addr.port : 0;
}

test('retrying an unreachable aggregator leaves at most one abort listener on the signal', {
  timeout: 30_000,
}, async () => {
  const abort = new AbortController();
  const run = runParticipant({
    federation: 'f',
    memberId: 'member-1',
    identity: await generateIdentity(),
    coordinatorJwks: { keys: [] },
    address: `127.0.0.1:${await closedPort()}`,
    app: {
      dataCommitment: 'none',
      fit: () => Promise.reject(new Error('not sampled')),
      evaluate: () => Promise.reject(new Error('no plan')),
    },
    log: pino({ level: 'silent' }),
    signal: abort.signal,
  });
  // The backoff sleeps 500 ms, then 1 s: after 2 s at least two sleeps have ended.
  await new Promise((r) => setTimeout(r, 2000));
  const listeners = getEventListeners(abort.signal, 'abort').length;
  abort.abort();
  const result = await run;
  assert.ok(listeners <= 1, `${listeners} abort listeners after the retries`);
  assert.deepEqual(result.rounds, []);
  assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
});
