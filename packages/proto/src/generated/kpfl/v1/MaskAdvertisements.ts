// Original file: protos/kpfl/v1/aggregator.proto

import type { MaskAdvertisement as _kpfl_v1_MaskAdvertisement, MaskAdvertisement__Output as _kpfl_v1_MaskAdvertisement__Output } from '../../kpfl/v1/MaskAdvertisement.js';

export interface MaskAdvertisements {
  'round'?: (number);
  'advertisements'?: (_kpfl_v1_MaskAdvertisement)[];
  'jwks'?: (string);
}

export interface MaskAdvertisements__Output {
  'round': (number);
  'advertisements': (_kpfl_v1_MaskAdvertisement__Output)[];
  'jwks': (string);
}
