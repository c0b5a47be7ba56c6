// Original file: protos/kpfl/v1/aggregator.proto

import type { KeyEpoch as _kpfl_v1_KeyEpoch, KeyEpoch__Output as _kpfl_v1_KeyEpoch__Output } from '../../kpfl/v1/KeyEpoch.js';

export interface PutKeyEnvelopesResponse {
  'stored'?: (string)[];
  'skipped'?: (string)[];
  'epoch'?: (_kpfl_v1_KeyEpoch | null);
}

export interface PutKeyEnvelopesResponse__Output {
  'stored': (string)[];
  'skipped': (string)[];
  'epoch': (_kpfl_v1_KeyEpoch__Output | null);
}
