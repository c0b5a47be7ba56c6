// Original file: protos/kpfl/v1/aggregator.proto


export interface ReportEvaluationRequest {
  'round'?: (number);
  'globalModelDigest'?: (string);
  'accuracy'?: (number | string);
  'loss'?: (number | string);
  'examples'?: (number);
}

export interface ReportEvaluationRequest__Output {
  'round': (number);
  'globalModelDigest': (string);
  'accuracy': (number);
  'loss': (number);
  'examples': (number);
}
