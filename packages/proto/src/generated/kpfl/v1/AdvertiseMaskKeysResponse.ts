// Original file: protos/kpfl/v1/aggregator.proto


export interface AdvertiseMaskKeysResponse {
  'advertisementDigest'?: (string);
  'advertised'?: (number);
  'sampled'?: (number);
}

export interface AdvertiseMaskKeysResponse__Output {
  'advertisementDigest': (string);
  'advertised': (number);
  'sampled': (number);
}
