// Original file: protos/kpfl/v1/aggregator.proto


export interface GetRoundCertificateRequest {
  'round'?: (number);
}

export interface GetRoundCertificateRequest__Output {
  'round': (number);
}
