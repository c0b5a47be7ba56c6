// Original file: protos/kpfl/v1/aggregator.proto

import type { Long } from '@grpc/proto-loader';

export interface SubmitUpdateHeader {
  'round'?: (number);
  'chunkCount'?: (number);
  'totalBytes'?: (number | string | Long);
  'attestation'?: (string);
}

export interface SubmitUpdateHeader__Output {
  'round': (number);
  'chunkCount': (number);
  'totalBytes': (number);
  'attestation': (string);
}
