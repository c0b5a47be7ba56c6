import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/aggregator.js';

export type { AggregateChunk__Output } from './generated/kpfl/v1/AggregateChunk.js';
export type * from './generated/kpfl/v1/Aggregator.js';
export type { Receipt, Receipt__Output } from './generated/kpfl/v1/Receipt.js';
export type {
  SubmitUpdateMessage,
  SubmitUpdateMessage__Output,
} from './generated/kpfl/v1/SubmitUpdateMessage.js';
export type { Task, Task__Output } from './generated/kpfl/v1/Task.js';
export type { TaskKind } from './generated/kpfl/v1/TaskKind.js';
export type { TrainingConfig__Output } from './generated/kpfl/v1/TrainingConfig.js';

/** Directory holding protos/ (the wire contract), resolved from this file so it works from any cwd. */
export const PROTO_ROOT = fileURLToPath(new URL('../../../protos', import.meta.url));
export const AGGREGATOR_PROTO = 'kpfl/v1/aggregator.proto';

// These options must match the gen:proto script so the generated types describe what is loaded.
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

let cached: ProtoGrpcType | undefined;

/** Loads kpfl.v1 once per process. */
export function loadKpflProto(): ProtoGrpcType {
  if (!cached) {
    const definition = protoLoader.loadSync(AGGREGATOR_PROTO, LOADER_OPTIONS);
    cached = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  }
  return cached;
}

/**
 * Chunk size for streamed payloads. grpc-js refuses messages over 4 MB by default;
 * we stay far below it instead of raising the limit.
 */
export const MAX_CHUNK_BYTES = 1024 * 1024;
