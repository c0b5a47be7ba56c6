import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType as AggregatorProto } from './generated/aggregator.js';
import type { ProtoGrpcType as AuditProto } from './generated/audit.js';

type ProtoGrpcType = { kpfl: { v1: AggregatorProto['kpfl']['v1'] & AuditProto['kpfl']['v1'] } };

export type { AdvertiseMaskKeysResponse__Output } from './generated/kpfl/v1/AdvertiseMaskKeysResponse.js';
export type { AggregateChunk__Output } from './generated/kpfl/v1/AggregateChunk.js';
export type * from './generated/kpfl/v1/Aggregator.js';
export type * from './generated/kpfl/v1/Audit.js';
export type { AuditPage__Output } from './generated/kpfl/v1/AuditPage.js';
export type { AuditQuery__Output } from './generated/kpfl/v1/AuditQuery.js';
export type { AuthenticateRequest } from './generated/kpfl/v1/AuthenticateRequest.js';
export type { AuthenticateResponse__Output } from './generated/kpfl/v1/AuthenticateResponse.js';
export type { GetChallengeResponse__Output } from './generated/kpfl/v1/GetChallengeResponse.js';
export type { KeyEnvelope__Output } from './generated/kpfl/v1/KeyEnvelope.js';
export type { KeyEpoch, KeyEpoch__Output } from './generated/kpfl/v1/KeyEpoch.js';
export type { KeyRecipients__Output } from './generated/kpfl/v1/KeyRecipients.js';
export type { MaskAdvertisements__Output } from './generated/kpfl/v1/MaskAdvertisements.js';
export type { PutKeyEnvelopesRequest } from './generated/kpfl/v1/PutKeyEnvelopesRequest.js';
export type { PutKeyEnvelopesResponse__Output } from './generated/kpfl/v1/PutKeyEnvelopesResponse.js';
export type { PutShareEnvelopesResponse__Output } from './generated/kpfl/v1/PutShareEnvelopesResponse.js';
export type { PutUnmaskResponseResponse__Output } from './generated/kpfl/v1/PutUnmaskResponseResponse.js';
export type { Receipt, Receipt__Output } from './generated/kpfl/v1/Receipt.js';
export type { ReportEvaluationResponse__Output } from './generated/kpfl/v1/ReportEvaluationResponse.js';
export type { RoundCertificate__Output } from './generated/kpfl/v1/RoundCertificate.js';
export type { ShareEnvelopes__Output } from './generated/kpfl/v1/ShareEnvelopes.js';
export type {
  SubmitUpdateMessage,
  SubmitUpdateMessage__Output,
} from './generated/kpfl/v1/SubmitUpdateMessage.js';
export type { Task, Task__Output } from './generated/kpfl/v1/Task.js';
export type { TaskKind } from './generated/kpfl/v1/TaskKind.js';
export type { TrainingConfig__Output } from './generated/kpfl/v1/TrainingConfig.js';
export type { UnmaskAnnouncement__Output } from './generated/kpfl/v1/UnmaskAnnouncement.js';

/** The wire contract's files, relative to PROTO_ROOT. */
export const PROTO_FILES = ['kpfl/v1/aggregator.proto', 'kpfl/v1/audit.proto'];
/**
 * Directory holding the wire contract, resolved from this file so it works from any cwd: the
 * repository's protos/, or else the copy an installed package carries (npm pack copies it in).
 */
export const PROTO_ROOT = findProtoRoot();

function findProtoRoot(): string {
  // The repository's first: during `npm pack` the package holds a copy for a moment.
  const candidates = ['../../../protos', '../protos'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((dir) => PROTO_FILES.every((f) => existsSync(join(dir, f))));
  if (!found)
    throw new Error(`@kpfl/proto: the .proto files are missing (looked in ${candidates.join(', ')})`);
  return found;
}

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

/** Loads every kpfl.v1 service once per process. */
export function loadKpflProto(): ProtoGrpcType {
  if (!cached) {
    const definition = protoLoader.loadSync(PROTO_FILES, LOADER_OPTIONS);
    cached = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  }
  return cached;
}

/**
 * Chunk size for streamed payloads. grpc-js refuses messages over 4 MB by default;
 * we stay far below it instead of raising the limit.
 */
export const MAX_CHUNK_BYTES = 1024 * 1024;

/**
 * Request metadata a kpfl server answers (every key and value, in bytes). A session token is about
 * 1 KiB and grows with the parties it names (about 11 KiB for 1,000 members with 5-character ids;
 * the token verifier refuses one over 16 KiB); metadata over this is refused with
 * RESOURCE_EXHAUSTED, and clients refuse to send it.
 */
export const MAX_METADATA_BYTES = 64 * 1024;
