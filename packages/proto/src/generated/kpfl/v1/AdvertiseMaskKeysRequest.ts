// Original file: protos/kpfl/v1/aggregator.proto


export interface AdvertiseMaskKeysRequest {
  'round'?: (number);
  'advertisement'?: (string);
}

export interface AdvertiseMaskKeysRequest__Output {
  'round': (number);
  'advertisement': (string);
}
