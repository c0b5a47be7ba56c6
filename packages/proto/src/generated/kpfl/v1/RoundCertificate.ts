// Original file: protos/kpfl/v1/aggregator.proto


export interface RoundCertificate {
  'round'?: (number);
  'certificateJson'?: (string);
  'signers'?: (string)[];
}

export interface RoundCertificate__Output {
  'round': (number);
  'certificateJson': (string);
  'signers': (string)[];
}
