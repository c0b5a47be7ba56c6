// Original file: protos/kpfl/v1/aggregator.proto

import type { Long } from '@grpc/proto-loader';

export interface GetChallengeResponse {
  'nonce'?: (string);
  'expiresAtMs'?: (number | string | Long);
  'audience'?: (string);
}

export interface GetChallengeResponse__Output {
  'nonce': (string);
  'expiresAtMs': (number);
  'audience': (string);
}
