// Original file: protos/kpfl/v1/aggregator.proto

import type { KeyRecipient as _kpfl_v1_KeyRecipient, KeyRecipient__Output as _kpfl_v1_KeyRecipient__Output } from '../../kpfl/v1/KeyRecipient.js';

export interface KeyRecipients {
  'epoch'?: (number);
  'recipients'?: (_kpfl_v1_KeyRecipient)[];
  'jwks'?: (string);
}

export interface KeyRecipients__Output {
  'epoch': (number);
  'recipients': (_kpfl_v1_KeyRecipient__Output)[];
  'jwks': (string);
}
