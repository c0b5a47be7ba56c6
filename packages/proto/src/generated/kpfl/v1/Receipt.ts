// Original file: protos/kpfl/v1/aggregator.proto


export interface Receipt {
  'accepted'?: (boolean);
  'reason'?: (string);
  'attestationDigest'?: (string);
  'receiptJws'?: (string);
  'acceptedInRound'?: (number);
  'quorum'?: (number);
}

export interface Receipt__Output {
  'accepted': (boolean);
  'reason': (string);
  'attestationDigest': (string);
  'receiptJws': (string);
  'acceptedInRound': (number);
  'quorum': (number);
}
