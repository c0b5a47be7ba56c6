import { type BackendPreference, evaluate, selectBackend, trainLocal } from '@kpfl/model';
import type { ParticipantApp } from './app.js';
import type { LocalData } from './data.js';

/** The default app: the @kpfl/model tfjs trainer and evaluation on the member's LocalData. */
export function tfjsApp(data: LocalData, opts: { backend?: BackendPreference } = {}): ParticipantApp {
  return {
    dataCommitment: data.commitment,
    prepare: (model) => selectBackend(opts.backend ?? 'auto', model),
    async fit(weights, c) {
      const trained = await trainLocal({
        config: {
          model: c.model,
          epochs: c.epochs,
          batchSize: c.batchSize,
          lr: c.lr,
          seed: c.seed,
          proxMu: c.proxMu,
          maxExamples: c.maxExamples,
        },
        weights,
        images: data.trainFeatures,
        labels: data.trainLabels,
        indices: data.trainIndices,
        pixels: data.perExample,
      });
      return { weights: trained.weights, examples: trained.examples, metrics: { loss: trained.loss } };
    },
    evaluate: (weights, model) =>
      evaluate({
        model,
        weights,
        images: data.testFeatures,
        labels: data.testLabels,
        pixels: data.perExample,
      }),
  };
}
