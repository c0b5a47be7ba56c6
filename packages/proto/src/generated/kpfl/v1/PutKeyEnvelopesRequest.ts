// Original file: protos/kpfl/v1/aggregator.proto

import type { KeyEnvelopeIn as _kpfl_v1_KeyEnvelopeIn, KeyEnvelopeIn__Output as _kpfl_v1_KeyEnvelopeIn__Output } from '../../kpfl/v1/KeyEnvelopeIn.js';

export interface PutKeyEnvelopesRequest {
  'epoch'?: (number);
  'keyId'?: (string);
  'create'?: (boolean);
  'envelopes'?: (_kpfl_v1_KeyEnvelopeIn)[];
}

export interface PutKeyEnvelopesRequest__Output {
  'epoch': (number);
  'keyId': (string);
  'create': (boolean);
  'envelopes': (_kpfl_v1_KeyEnvelopeIn__Output)[];
}
