// Original file: protos/kpfl/v1/aggregator.proto


export interface MaskAdvertisement {
  'memberId'?: (string);
  'advertisement'?: (string);
}

export interface MaskAdvertisement__Output {
  'memberId': (string);
  'advertisement': (string);
}
