// Original file: protos/kpfl/v1/aggregator.proto


export interface KeyEpoch {
  'epoch'?: (number);
  'state'?: (string);
  'heParams'?: (string);
  'keyId'?: (string);
  'createdBy'?: (string);
  'reason'?: (string);
  'haveKey'?: (boolean);
}

export interface KeyEpoch__Output {
  'epoch': (number);
  'state': (string);
  'heParams': (string);
  'keyId': (string);
  'createdBy': (string);
  'reason': (string);
  'haveKey': (boolean);
}
