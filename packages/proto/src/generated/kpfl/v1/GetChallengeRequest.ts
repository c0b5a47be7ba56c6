// Original file: protos/kpfl/v1/aggregator.proto


export interface GetChallengeRequest {
  'memberId'?: (string);
}

export interface GetChallengeRequest__Output {
  'memberId': (string);
}
