// Original file: protos/kpfl/v1/aggregator.proto


export interface AuthenticateRequest {
  'memberId'?: (string);
  'nonce'?: (string);
  'signedChallenge'?: (string);
}

export interface AuthenticateRequest__Output {
  'memberId': (string);
  'nonce': (string);
  'signedChallenge': (string);
}
