/**
 * kpfl from your own code: two members federate a small dense model on their own MNIST halves,
 * every update CKKS-encrypted, over mutual TLS, with Postgres and Redis, all in this process.
 *   npx tsx main.ts [MNIST_DIR]          (prints each round's accuracy, then one JSON line)
 */
import { parsePartitionSpec } from '@kpfl/model';
import { loadLocalData, tfjsApp } from '@kpfl/participant';
import { startLocalFederation } from '@kpfl/testing';

const dir = process.argv[2] ?? 'data/mnist';
const spec = parsePartitionSpec('iid');
const data = await Promise.all(
  [0, 1].map((i) =>
    loadLocalData({ dir, slice: { spec, clients: 2, clientIndex: i, seed: 1 }, testLimit: 500 }),
  ),
);
const fed = await startLocalFederation({ participants: ['alice', 'bob'], mode: 'he' });
try {
  const { plan, members } = await fed.run(
    { model: 'dense:784-32-10', rounds: 2, training: { maxExamples: 1000, learningRate: 0.1 } },
    (_, i) => tfjsApp(data[i]!),
    {
      hooks: (m) => ({
        onRoundEnd: (r) => console.log(`${m} round ${r.round}: ${(100 * r.accuracy).toFixed(1)}%`),
      }),
    },
  );
  const accuracy = members.map((m) => m.rounds.at(-1)!.accuracy);
  console.log(JSON.stringify({ plan: plan.state, digests: members.map((m) => m.digest), accuracy }));
} finally {
  await fed.close();
}
