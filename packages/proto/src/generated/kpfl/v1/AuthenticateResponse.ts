// Original file: protos/kpfl/v1/aggregator.proto

import type { Long } from '@grpc/proto-loader';

export interface AuthenticateResponse {
  'sessionToken'?: (string);
  'expiresAtMs'?: (number | string | Long);
}

export interface AuthenticateResponse__Output {
  'sessionToken': (string);
  'expiresAtMs': (number);
}
