// Original file: protos/kpfl/v1/aggregator.proto


export interface GetShareEnvelopesRequest {
  'round'?: (number);
}

export interface GetShareEnvelopesRequest__Output {
  'round': (number);
}
