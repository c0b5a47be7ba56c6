// Original file: protos/kpfl/v1/aggregator.proto


export interface ReportEvaluationResponse {
  'digestAgrees'?: (boolean);
  'expectedDigest'?: (string);
  'pending'?: (boolean);
}

export interface ReportEvaluationResponse__Output {
  'digestAgrees': (boolean);
  'expectedDigest': (string);
  'pending': (boolean);
}
