// Original file: protos/kpfl/v1/aggregator.proto


export interface ReportSecureRefusalRequest {
  'round'?: (number);
  'code'?: (string);
  'reason'?: (string);
}

export interface ReportSecureRefusalRequest__Output {
  'round': (number);
  'code': (string);
  'reason': (string);
}
