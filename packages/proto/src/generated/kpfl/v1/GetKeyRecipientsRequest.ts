// Original file: protos/kpfl/v1/aggregator.proto


export interface GetKeyRecipientsRequest {
  'epoch'?: (number);
}

export interface GetKeyRecipientsRequest__Output {
  'epoch': (number);
}
