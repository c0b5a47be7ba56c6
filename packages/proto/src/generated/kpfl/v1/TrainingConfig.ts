// Original file: protos/kpfl/v1/aggregator.proto


export interface TrainingConfig {
  'model'?: (string);
  'localEpochs'?: (number);
  'batchSize'?: (number);
  'learningRate'?: (number | string);
  'proxMu'?: (number | string);
  'serverOptimizer'?: (string);
  'maxExamples'?: (number);
}

export interface TrainingConfig__Output {
  'model': (string);
  'localEpochs': (number);
  'batchSize': (number);
  'learningRate': (number);
  'proxMu': (number);
  'serverOptimizer': (string);
  'maxExamples': (number);
}
