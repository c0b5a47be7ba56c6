/**
 * startLocalFederation: one call makes a federation that runs real rounds (gRPC with mutual TLS,
 * Postgres, Redis/BullMQ, CKKS ciphertexts, attestations and certificates), and close() leaves no
 * schema, Redis key or directory behind.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { redisConnection } from '@kpfl/aggregator';
import { KptError } from '@kpfl/kpt';
import { initialWeights, registerModel } from '@kpfl/model';
import type { ParticipantApp } from '@kpfl/participant';
import { DEFAULT_DATABASE_URL, schemaExists } from '@kpfl/store';
import { startLocalFederation } from '../src/index.js';

const MODEL = 'testing-linear';
const LENGTH = 9;
registerModel({
  name: MODEL,
  inputShape: [LENGTH - 1],
  numClasses: 1,
  layers: [
    { name: 'w', shape: [LENGTH - 1], init: 'glorot_uniform' },
    { name: 'b', shape: [1], init: 'zeros' },
  ],
  build() {
    throw new Error('the test app never builds a tfjs model');
  },
});

/** Member i moves every weight by 0.125 * (i + 1) on 10 * (i + 1) examples. */
const stepApp = (i: number): ParticipantApp => ({
  dataCommitment: `sha256:${String(i).repeat(64)}`,
  fit: async (weights) => ({
    weights: weights.map((w) => w + 0.125 * (i + 1)),
    examples: 10 * (i + 1),
    metrics: { loss: 0.5 },
  }),
  evaluate: async () => ({ accuracy: 0.5, loss: 0.5, examples: 1 }),
});

async function redisKeys(prefix: string): Promise<number> {
  const redis = redisConnection();
  try {
    return (await redis.keys(`${prefix}:*`)).length;
  } finally {
    await redis.quit();
  }
}

describe('startLocalFederation', () => {
  it('runs a 2-member he plan to the end, and close() removes the schema, the Redis keys and the logs', async () => {
    const fed = await startLocalFederation({ participants: ['alice', 'bob'] });
    let closed = false;
    try {
      assert.deepEqual(fed.members, ['alice', 'bob']);
      const run = await fed.run({ model: MODEL, rounds: 2, seed: 4 }, (_, i) => stepApp(i));
      assert.equal(run.plan.state, 'done');
      assert.equal(run.plan.mode, 'he');
      assert.deepEqual(
        run.members.map((m) => m.memberId),
        ['alice', 'bob'],
      );
      const [a, b] = run.members;
      assert.deepEqual(
        a!.rounds.map((r) => r.round),
        [0, 1, 2],
      );
      assert.ok(a!.digest && a!.digest === b!.digest, 'both members agree on the global model');
      // FedAvg of the two steps: (10 * 0.125 + 20 * 0.25) / 30 = 0.2083 per round, through CKKS.
      const start = initialWeights(MODEL, 4);
      for (let k = 0; k < LENGTH; k++)
        assert.ok(Math.abs(a!.weights![k]! - start[k]! - 2 * (6.25 / 30)) < 1e-4);
      assert.ok(existsSync(fed.work));
      assert.ok(await redisKeys(fed.redisPrefix), 'the federation used its Redis prefix');
      await fed.close();
      closed = true;
      assert.equal(await schemaExists(DEFAULT_DATABASE_URL, fed.schema), false);
      assert.equal(await redisKeys(fed.redisPrefix), 0);
      assert.equal(existsSync(fed.work), false);
    } finally {
      if (!closed) await fed.close();
    }
  });

  it('refuses a bad member id before it makes anything', async () => {
    await assert.rejects(
      startLocalFederation({ participants: ['alice', 'has space'] }),
      (err: unknown) => err instanceof KptError && /member id "has space"/.test(err.message),
    );
    await assert.rejects(startLocalFederation({ participants: 0 }), /at least one member/);
  });

  it('refuses a member it does not have, with the members it has', async () => {
    const fed = await startLocalFederation({ participants: 1, mode: 'he' });
    try {
      await assert.rejects(
        fed.participate('mallory', { app: stepApp(0) }),
        /mallory is not a member of local-[0-9a-f]+ \(members: member-1\)/,
      );
    } finally {
      await fed.close();
    }
  });
});
