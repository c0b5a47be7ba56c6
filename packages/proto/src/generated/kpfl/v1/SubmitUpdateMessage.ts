// Original file: protos/kpfl/v1/aggregator.proto

import type { SubmitUpdateHeader as _kpfl_v1_SubmitUpdateHeader, SubmitUpdateHeader__Output as _kpfl_v1_SubmitUpdateHeader__Output } from '../../kpfl/v1/SubmitUpdateHeader.js';
import type { UpdateChunk as _kpfl_v1_UpdateChunk, UpdateChunk__Output as _kpfl_v1_UpdateChunk__Output } from '../../kpfl/v1/UpdateChunk.js';

export interface SubmitUpdateMessage {
  'header'?: (_kpfl_v1_SubmitUpdateHeader | null);
  'chunk'?: (_kpfl_v1_UpdateChunk | null);
  'msg'?: "header"|"chunk";
}

export interface SubmitUpdateMessage__Output {
  'header'?: (_kpfl_v1_SubmitUpdateHeader__Output | null);
  'chunk'?: (_kpfl_v1_UpdateChunk__Output | null);
  'msg'?: "header"|"chunk";
}
