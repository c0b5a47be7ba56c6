// Original file: protos/kpfl/v1/aggregator.proto

import type { TaskKind as _kpfl_v1_TaskKind, TaskKind__Output as _kpfl_v1_TaskKind__Output } from '../../kpfl/v1/TaskKind.js';
import type { TrainingConfig as _kpfl_v1_TrainingConfig, TrainingConfig__Output as _kpfl_v1_TrainingConfig__Output } from '../../kpfl/v1/TrainingConfig.js';
import type { Long } from '@grpc/proto-loader';

export interface Task {
  'kind'?: (_kpfl_v1_TaskKind);
  'federation'?: (string);
  'planId'?: (string);
  'round'?: (number);
  'latestPublishedRound'?: (number);
  'totalRounds'?: (number);
  'baseModelDigest'?: (string);
  'mode'?: (string);
  'heParams'?: (string);
  'chunkCount'?: (number);
  'slotCount'?: (number);
  'parameterCount'?: (number | string | Long);
  'training'?: (_kpfl_v1_TrainingConfig | null);
  'deadlineMs'?: (number | string | Long);
  'retryAfterMs'?: (number);
  'seed'?: (number);
  'parties'?: (string)[];
  'failedRounds'?: (number)[];
  'maxUpdateNorm'?: (number | string);
  'initialModelDigest'?: (string);
  'nextModelDigest'?: (string);
  'keyEpoch'?: (number);
  'securePhase'?: (string);
  'phaseDeadlineMs'?: (number | string | Long);
}

export interface Task__Output {
  'kind': (_kpfl_v1_TaskKind__Output);
  'federation': (string);
  'planId': (string);
  'round': (number);
  'latestPublishedRound': (number);
  'totalRounds': (number);
  'baseModelDigest': (string);
  'mode': (string);
  'heParams': (string);
  'chunkCount': (number);
  'slotCount': (number);
  'parameterCount': (number);
  'training': (_kpfl_v1_TrainingConfig__Output | null);
  'deadlineMs': (number);
  'retryAfterMs': (number);
  'seed': (number);
  'parties': (string)[];
  'failedRounds': (number)[];
  'maxUpdateNorm': (number);
  'initialModelDigest': (string);
  'nextModelDigest': (string);
  'keyEpoch': (number);
  'securePhase': (string);
  'phaseDeadlineMs': (number);
}
