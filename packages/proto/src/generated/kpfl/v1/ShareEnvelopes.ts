// Original file: protos/kpfl/v1/aggregator.proto

import type { ShareEnvelopeOut as _kpfl_v1_ShareEnvelopeOut, ShareEnvelopeOut__Output as _kpfl_v1_ShareEnvelopeOut__Output } from '../../kpfl/v1/ShareEnvelopeOut.js';

export interface ShareEnvelopes {
  'round'?: (number);
  'envelopes'?: (_kpfl_v1_ShareEnvelopeOut)[];
  'shared'?: (string)[];
}

export interface ShareEnvelopes__Output {
  'round': (number);
  'envelopes': (_kpfl_v1_ShareEnvelopeOut__Output)[];
  'shared': (string)[];
}
