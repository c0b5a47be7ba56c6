// Original file: protos/kpfl/v1/aggregator.proto


export interface GetTaskRequest {
  'appliedRound'?: (number);
}

export interface GetTaskRequest__Output {
  'appliedRound': (number);
}
