// Original file: protos/kpfl/v1/aggregator.proto


export interface GetMaskAdvertisementsRequest {
  'round'?: (number);
}

export interface GetMaskAdvertisementsRequest__Output {
  'round': (number);
}
