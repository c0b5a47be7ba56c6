// Original file: protos/kpfl/v1/aggregator.proto

export const TaskKind = {
  TASK_KIND_UNSPECIFIED: 'TASK_KIND_UNSPECIFIED',
  TASK_KIND_WAIT: 'TASK_KIND_WAIT',
  TASK_KIND_TRAIN: 'TASK_KIND_TRAIN',
  TASK_KIND_SYNC: 'TASK_KIND_SYNC',
  TASK_KIND_DONE: 'TASK_KIND_DONE',
  TASK_KIND_SECURE_STEP: 'TASK_KIND_SECURE_STEP',
} as const;

export type TaskKind =
  | 'TASK_KIND_UNSPECIFIED'
  | 0
  | 'TASK_KIND_WAIT'
  | 1
  | 'TASK_KIND_TRAIN'
  | 2
  | 'TASK_KIND_SYNC'
  | 3
  | 'TASK_KIND_DONE'
  | 4
  | 'TASK_KIND_SECURE_STEP'
  | 5

export type TaskKind__Output = typeof TaskKind[keyof typeof TaskKind]
