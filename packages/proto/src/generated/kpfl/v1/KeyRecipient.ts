// Original file: protos/kpfl/v1/aggregator.proto


export interface KeyRecipient {
  'memberId'?: (string);
  'encryptionJwk'?: (string);
  'hasKey'?: (boolean);
}

export interface KeyRecipient__Output {
  'memberId': (string);
  'encryptionJwk': (string);
  'hasKey': (boolean);
}
