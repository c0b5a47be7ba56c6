// Original file: protos/kpfl/v1/aggregator.proto

import type { ShareEnvelopeIn as _kpfl_v1_ShareEnvelopeIn, ShareEnvelopeIn__Output as _kpfl_v1_ShareEnvelopeIn__Output } from '../../kpfl/v1/ShareEnvelopeIn.js';

export interface PutShareEnvelopesRequest {
  'round'?: (number);
  'envelopes'?: (_kpfl_v1_ShareEnvelopeIn)[];
}

export interface PutShareEnvelopesRequest__Output {
  'round': (number);
  'envelopes': (_kpfl_v1_ShareEnvelopeIn__Output)[];
}
