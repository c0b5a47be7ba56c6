/**
 * The local-only baseline of the tabular example: each participant trains alone on its own share
 * (the same partition, standardisation, model and fit settings as the federation), and is tested on
 * its own held-out split, as the federation's participants are.
 *
 *   node --conditions=kpfl-source --import tsx examples/tabular/baseline.ts data/wine/wine.csv
 */
import { evaluate, initialWeights, parsePartitionSpec, trainLocal } from '@kpfl/model';
import { loadLocalData } from '@kpfl/participant';

export interface BaselineOptions {
  csv: string;
  participants: number;
  partition: string;
  model: string;
  rounds: number;
  lr: number;
  batchSize: number;
  seed: number;
}

/** The example's settings: `kpfl demo` with the same flags federates the same shares. */
export const WINE_EXAMPLE: Omit<BaselineOptions, 'csv'> = {
  participants: 3,
  partition: 'dirichlet:0.5',
  model: 'dense:13-16-3',
  rounds: 20,
  lr: 0.1,
  batchSize: 10,
  seed: 1,
};

/** Each participant's test accuracy after training alone for as many epochs as the federation runs rounds. */
export async function localOnlyAccuracies(o: BaselineOptions): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < o.participants; i++) {
    const data = await loadLocalData({
      dir: o.csv,
      format: 'csv',
      slice: { spec: parsePartitionSpec(o.partition), clients: o.participants, clientIndex: i, seed: o.seed },
    });
    let weights = initialWeights(o.model, o.seed);
    for (let r = 1; r <= o.rounds; r++) {
      const trained = await trainLocal({
        config: { model: o.model, epochs: 1, batchSize: o.batchSize, lr: o.lr, seed: o.seed * 1000 + r },
        weights,
        images: data.trainFeatures,
        labels: data.trainLabels,
        indices: data.trainIndices,
        pixels: data.perExample,
      });
      weights = trained.weights;
    }
    const e = await evaluate({
      model: o.model,
      weights,
      images: data.testFeatures,
      labels: data.testLabels,
      pixels: data.perExample,
    });
    out.push(e.accuracy);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const acc = await localOnlyAccuracies({ csv: process.argv[2] ?? 'data/wine/wine.csv', ...WINE_EXAMPLE });
  process.stdout.write(`${JSON.stringify({ localOnly: acc })}\n`);
}
