// Original file: protos/kpfl/v1/aggregator.proto


export interface ReportKeyEnvelopeRequest {
  'epoch'?: (number);
  'sender'?: (string);
  'code'?: (string);
  'reason'?: (string);
}

export interface ReportKeyEnvelopeRequest__Output {
  'epoch': (number);
  'sender': (string);
  'code': (string);
  'reason': (string);
}
