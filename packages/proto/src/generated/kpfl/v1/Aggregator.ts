// Original file: protos/kpfl/v1/aggregator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AggregateChunk as _kpfl_v1_AggregateChunk, AggregateChunk__Output as _kpfl_v1_AggregateChunk__Output } from '../../kpfl/v1/AggregateChunk.js';
import type { AuthenticateRequest as _kpfl_v1_AuthenticateRequest, AuthenticateRequest__Output as _kpfl_v1_AuthenticateRequest__Output } from '../../kpfl/v1/AuthenticateRequest.js';
import type { AuthenticateResponse as _kpfl_v1_AuthenticateResponse, AuthenticateResponse__Output as _kpfl_v1_AuthenticateResponse__Output } from '../../kpfl/v1/AuthenticateResponse.js';
import type { CountersignRequest as _kpfl_v1_CountersignRequest, CountersignRequest__Output as _kpfl_v1_CountersignRequest__Output } from '../../kpfl/v1/CountersignRequest.js';
import type { DownloadAggregateRequest as _kpfl_v1_DownloadAggregateRequest, DownloadAggregateRequest__Output as _kpfl_v1_DownloadAggregateRequest__Output } from '../../kpfl/v1/DownloadAggregateRequest.js';
import type { GetChallengeRequest as _kpfl_v1_GetChallengeRequest, GetChallengeRequest__Output as _kpfl_v1_GetChallengeRequest__Output } from '../../kpfl/v1/GetChallengeRequest.js';
import type { GetChallengeResponse as _kpfl_v1_GetChallengeResponse, GetChallengeResponse__Output as _kpfl_v1_GetChallengeResponse__Output } from '../../kpfl/v1/GetChallengeResponse.js';
import type { GetKeyEnvelopeRequest as _kpfl_v1_GetKeyEnvelopeRequest, GetKeyEnvelopeRequest__Output as _kpfl_v1_GetKeyEnvelopeRequest__Output } from '../../kpfl/v1/GetKeyEnvelopeRequest.js';
import type { GetKeyEpochRequest as _kpfl_v1_GetKeyEpochRequest, GetKeyEpochRequest__Output as _kpfl_v1_GetKeyEpochRequest__Output } from '../../kpfl/v1/GetKeyEpochRequest.js';
import type { GetKeyRecipientsRequest as _kpfl_v1_GetKeyRecipientsRequest, GetKeyRecipientsRequest__Output as _kpfl_v1_GetKeyRecipientsRequest__Output } from '../../kpfl/v1/GetKeyRecipientsRequest.js';
import type { GetRoundCertificateRequest as _kpfl_v1_GetRoundCertificateRequest, GetRoundCertificateRequest__Output as _kpfl_v1_GetRoundCertificateRequest__Output } from '../../kpfl/v1/GetRoundCertificateRequest.js';
import type { GetTaskRequest as _kpfl_v1_GetTaskRequest, GetTaskRequest__Output as _kpfl_v1_GetTaskRequest__Output } from '../../kpfl/v1/GetTaskRequest.js';
import type { KeyEnvelope as _kpfl_v1_KeyEnvelope, KeyEnvelope__Output as _kpfl_v1_KeyEnvelope__Output } from '../../kpfl/v1/KeyEnvelope.js';
import type { KeyEpoch as _kpfl_v1_KeyEpoch, KeyEpoch__Output as _kpfl_v1_KeyEpoch__Output } from '../../kpfl/v1/KeyEpoch.js';
import type { KeyRecipients as _kpfl_v1_KeyRecipients, KeyRecipients__Output as _kpfl_v1_KeyRecipients__Output } from '../../kpfl/v1/KeyRecipients.js';
import type { PutKeyEnvelopesRequest as _kpfl_v1_PutKeyEnvelopesRequest, PutKeyEnvelopesRequest__Output as _kpfl_v1_PutKeyEnvelopesRequest__Output } from '../../kpfl/v1/PutKeyEnvelopesRequest.js';
import type { PutKeyEnvelopesResponse as _kpfl_v1_PutKeyEnvelopesResponse, PutKeyEnvelopesResponse__Output as _kpfl_v1_PutKeyEnvelopesResponse__Output } from '../../kpfl/v1/PutKeyEnvelopesResponse.js';
import type { Receipt as _kpfl_v1_Receipt, Receipt__Output as _kpfl_v1_Receipt__Output } from '../../kpfl/v1/Receipt.js';
import type { ReportEvaluationRequest as _kpfl_v1_ReportEvaluationRequest, ReportEvaluationRequest__Output as _kpfl_v1_ReportEvaluationRequest__Output } from '../../kpfl/v1/ReportEvaluationRequest.js';
import type { ReportEvaluationResponse as _kpfl_v1_ReportEvaluationResponse, ReportEvaluationResponse__Output as _kpfl_v1_ReportEvaluationResponse__Output } from '../../kpfl/v1/ReportEvaluationResponse.js';
import type { ReportKeyEnvelopeRequest as _kpfl_v1_ReportKeyEnvelopeRequest, ReportKeyEnvelopeRequest__Output as _kpfl_v1_ReportKeyEnvelopeRequest__Output } from '../../kpfl/v1/ReportKeyEnvelopeRequest.js';
import type { ReportKeyEnvelopeResponse as _kpfl_v1_ReportKeyEnvelopeResponse, ReportKeyEnvelopeResponse__Output as _kpfl_v1_ReportKeyEnvelopeResponse__Output } from '../../kpfl/v1/ReportKeyEnvelopeResponse.js';
import type { RoundCertificate as _kpfl_v1_RoundCertificate, RoundCertificate__Output as _kpfl_v1_RoundCertificate__Output } from '../../kpfl/v1/RoundCertificate.js';
import type { StartKeyEpochRequest as _kpfl_v1_StartKeyEpochRequest, StartKeyEpochRequest__Output as _kpfl_v1_StartKeyEpochRequest__Output } from '../../kpfl/v1/StartKeyEpochRequest.js';
import type { SubmitUpdateMessage as _kpfl_v1_SubmitUpdateMessage, SubmitUpdateMessage__Output as _kpfl_v1_SubmitUpdateMessage__Output } from '../../kpfl/v1/SubmitUpdateMessage.js';
import type { Task as _kpfl_v1_Task, Task__Output as _kpfl_v1_Task__Output } from '../../kpfl/v1/Task.js';

export interface AggregatorClient extends grpc.Client {
  Authenticate(argument: _kpfl_v1_AuthenticateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuthenticateResponse__Output>): grpc.ClientUnaryCall;
  Authenticate(argument: _kpfl_v1_AuthenticateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_AuthenticateResponse__Output>): grpc.ClientUnaryCall;
  Authenticate(argument: _kpfl_v1_AuthenticateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuthenticateResponse__Output>): grpc.ClientUnaryCall;
  Authenticate(argument: _kpfl_v1_AuthenticateRequest, callback: grpc.requestCallback<_kpfl_v1_AuthenticateResponse__Output>): grpc.ClientUnaryCall;
  authenticate(argument: _kpfl_v1_AuthenticateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuthenticateResponse__Output>): grpc.ClientUnaryCall;
  authenticate(argument: _kpfl_v1_AuthenticateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_AuthenticateResponse__Output>): grpc.ClientUnaryCall;
  authenticate(argument: _kpfl_v1_AuthenticateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuthenticateResponse__Output>): grpc.ClientUnaryCall;
  authenticate(argument: _kpfl_v1_AuthenticateRequest, callback: grpc.requestCallback<_kpfl_v1_AuthenticateResponse__Output>): grpc.ClientUnaryCall;
  
  CountersignRoundCertificate(argument: _kpfl_v1_CountersignRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  CountersignRoundCertificate(argument: _kpfl_v1_CountersignRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  CountersignRoundCertificate(argument: _kpfl_v1_CountersignRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  CountersignRoundCertificate(argument: _kpfl_v1_CountersignRequest, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  countersignRoundCertificate(argument: _kpfl_v1_CountersignRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  countersignRoundCertificate(argument: _kpfl_v1_CountersignRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  countersignRoundCertificate(argument: _kpfl_v1_CountersignRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  countersignRoundCertificate(argument: _kpfl_v1_CountersignRequest, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  
  DownloadAggregate(argument: _kpfl_v1_DownloadAggregateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kpfl_v1_AggregateChunk__Output>;
  DownloadAggregate(argument: _kpfl_v1_DownloadAggregateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kpfl_v1_AggregateChunk__Output>;
  downloadAggregate(argument: _kpfl_v1_DownloadAggregateRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kpfl_v1_AggregateChunk__Output>;
  downloadAggregate(argument: _kpfl_v1_DownloadAggregateRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kpfl_v1_AggregateChunk__Output>;
  
  GetChallenge(argument: _kpfl_v1_GetChallengeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_GetChallengeResponse__Output>): grpc.ClientUnaryCall;
  GetChallenge(argument: _kpfl_v1_GetChallengeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_GetChallengeResponse__Output>): grpc.ClientUnaryCall;
  GetChallenge(argument: _kpfl_v1_GetChallengeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_GetChallengeResponse__Output>): grpc.ClientUnaryCall;
  GetChallenge(argument: _kpfl_v1_GetChallengeRequest, callback: grpc.requestCallback<_kpfl_v1_GetChallengeResponse__Output>): grpc.ClientUnaryCall;
  getChallenge(argument: _kpfl_v1_GetChallengeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_GetChallengeResponse__Output>): grpc.ClientUnaryCall;
  getChallenge(argument: _kpfl_v1_GetChallengeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_GetChallengeResponse__Output>): grpc.ClientUnaryCall;
  getChallenge(argument: _kpfl_v1_GetChallengeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_GetChallengeResponse__Output>): grpc.ClientUnaryCall;
  getChallenge(argument: _kpfl_v1_GetChallengeRequest, callback: grpc.requestCallback<_kpfl_v1_GetChallengeResponse__Output>): grpc.ClientUnaryCall;
  
  GetKeyEnvelope(argument: _kpfl_v1_GetKeyEnvelopeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyEnvelope__Output>): grpc.ClientUnaryCall;
  GetKeyEnvelope(argument: _kpfl_v1_GetKeyEnvelopeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_KeyEnvelope__Output>): grpc.ClientUnaryCall;
  GetKeyEnvelope(argument: _kpfl_v1_GetKeyEnvelopeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyEnvelope__Output>): grpc.ClientUnaryCall;
  GetKeyEnvelope(argument: _kpfl_v1_GetKeyEnvelopeRequest, callback: grpc.requestCallback<_kpfl_v1_KeyEnvelope__Output>): grpc.ClientUnaryCall;
  getKeyEnvelope(argument: _kpfl_v1_GetKeyEnvelopeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyEnvelope__Output>): grpc.ClientUnaryCall;
  getKeyEnvelope(argument: _kpfl_v1_GetKeyEnvelopeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_KeyEnvelope__Output>): grpc.ClientUnaryCall;
  getKeyEnvelope(argument: _kpfl_v1_GetKeyEnvelopeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyEnvelope__Output>): grpc.ClientUnaryCall;
  getKeyEnvelope(argument: _kpfl_v1_GetKeyEnvelopeRequest, callback: grpc.requestCallback<_kpfl_v1_KeyEnvelope__Output>): grpc.ClientUnaryCall;
  
  GetKeyEpoch(argument: _kpfl_v1_GetKeyEpochRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  GetKeyEpoch(argument: _kpfl_v1_GetKeyEpochRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  GetKeyEpoch(argument: _kpfl_v1_GetKeyEpochRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  GetKeyEpoch(argument: _kpfl_v1_GetKeyEpochRequest, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  getKeyEpoch(argument: _kpfl_v1_GetKeyEpochRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  getKeyEpoch(argument: _kpfl_v1_GetKeyEpochRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  getKeyEpoch(argument: _kpfl_v1_GetKeyEpochRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  getKeyEpoch(argument: _kpfl_v1_GetKeyEpochRequest, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  
  GetKeyRecipients(argument: _kpfl_v1_GetKeyRecipientsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyRecipients__Output>): grpc.ClientUnaryCall;
  GetKeyRecipients(argument: _kpfl_v1_GetKeyRecipientsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_KeyRecipients__Output>): grpc.ClientUnaryCall;
  GetKeyRecipients(argument: _kpfl_v1_GetKeyRecipientsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyRecipients__Output>): grpc.ClientUnaryCall;
  GetKeyRecipients(argument: _kpfl_v1_GetKeyRecipientsRequest, callback: grpc.requestCallback<_kpfl_v1_KeyRecipients__Output>): grpc.ClientUnaryCall;
  getKeyRecipients(argument: _kpfl_v1_GetKeyRecipientsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyRecipients__Output>): grpc.ClientUnaryCall;
  getKeyRecipients(argument: _kpfl_v1_GetKeyRecipientsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_KeyRecipients__Output>): grpc.ClientUnaryCall;
  getKeyRecipients(argument: _kpfl_v1_GetKeyRecipientsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyRecipients__Output>): grpc.ClientUnaryCall;
  getKeyRecipients(argument: _kpfl_v1_GetKeyRecipientsRequest, callback: grpc.requestCallback<_kpfl_v1_KeyRecipients__Output>): grpc.ClientUnaryCall;
  
  GetRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  GetRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  GetRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  GetRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  getRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  getRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  getRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  getRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  
  GetTask(argument: _kpfl_v1_GetTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  GetTask(argument: _kpfl_v1_GetTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  GetTask(argument: _kpfl_v1_GetTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  GetTask(argument: _kpfl_v1_GetTaskRequest, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  getTask(argument: _kpfl_v1_GetTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  getTask(argument: _kpfl_v1_GetTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  getTask(argument: _kpfl_v1_GetTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  getTask(argument: _kpfl_v1_GetTaskRequest, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  
  PutKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  PutKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  PutKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  PutKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  putKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  putKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  putKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  putKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  
  ReportEvaluation(argument: _kpfl_v1_ReportEvaluationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  ReportEvaluation(argument: _kpfl_v1_ReportEvaluationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  ReportEvaluation(argument: _kpfl_v1_ReportEvaluationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  ReportEvaluation(argument: _kpfl_v1_ReportEvaluationRequest, callback: grpc.requestCallback<_kpfl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _kpfl_v1_ReportEvaluationRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _kpfl_v1_ReportEvaluationRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _kpfl_v1_ReportEvaluationRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  reportEvaluation(argument: _kpfl_v1_ReportEvaluationRequest, callback: grpc.requestCallback<_kpfl_v1_ReportEvaluationResponse__Output>): grpc.ClientUnaryCall;
  
  ReportKeyEnvelope(argument: _kpfl_v1_ReportKeyEnvelopeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ReportKeyEnvelopeResponse__Output>): grpc.ClientUnaryCall;
  ReportKeyEnvelope(argument: _kpfl_v1_ReportKeyEnvelopeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_ReportKeyEnvelopeResponse__Output>): grpc.ClientUnaryCall;
  ReportKeyEnvelope(argument: _kpfl_v1_ReportKeyEnvelopeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ReportKeyEnvelopeResponse__Output>): grpc.ClientUnaryCall;
  ReportKeyEnvelope(argument: _kpfl_v1_ReportKeyEnvelopeRequest, callback: grpc.requestCallback<_kpfl_v1_ReportKeyEnvelopeResponse__Output>): grpc.ClientUnaryCall;
  reportKeyEnvelope(argument: _kpfl_v1_ReportKeyEnvelopeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ReportKeyEnvelopeResponse__Output>): grpc.ClientUnaryCall;
  reportKeyEnvelope(argument: _kpfl_v1_ReportKeyEnvelopeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_ReportKeyEnvelopeResponse__Output>): grpc.ClientUnaryCall;
  reportKeyEnvelope(argument: _kpfl_v1_ReportKeyEnvelopeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ReportKeyEnvelopeResponse__Output>): grpc.ClientUnaryCall;
  reportKeyEnvelope(argument: _kpfl_v1_ReportKeyEnvelopeRequest, callback: grpc.requestCallback<_kpfl_v1_ReportKeyEnvelopeResponse__Output>): grpc.ClientUnaryCall;
  
  StartKeyEpoch(argument: _kpfl_v1_StartKeyEpochRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  StartKeyEpoch(argument: _kpfl_v1_StartKeyEpochRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  StartKeyEpoch(argument: _kpfl_v1_StartKeyEpochRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  StartKeyEpoch(argument: _kpfl_v1_StartKeyEpochRequest, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  startKeyEpoch(argument: _kpfl_v1_StartKeyEpochRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  startKeyEpoch(argument: _kpfl_v1_StartKeyEpochRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  startKeyEpoch(argument: _kpfl_v1_StartKeyEpochRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  startKeyEpoch(argument: _kpfl_v1_StartKeyEpochRequest, callback: grpc.requestCallback<_kpfl_v1_KeyEpoch__Output>): grpc.ClientUnaryCall;
  
  SubmitUpdate(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_Receipt__Output>): grpc.ClientWritableStream<_kpfl_v1_SubmitUpdateMessage>;
  SubmitUpdate(metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_Receipt__Output>): grpc.ClientWritableStream<_kpfl_v1_SubmitUpdateMessage>;
  SubmitUpdate(options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_Receipt__Output>): grpc.ClientWritableStream<_kpfl_v1_SubmitUpdateMessage>;
  SubmitUpdate(callback: grpc.requestCallback<_kpfl_v1_Receipt__Output>): grpc.ClientWritableStream<_kpfl_v1_SubmitUpdateMessage>;
  submitUpdate(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_Receipt__Output>): grpc.ClientWritableStream<_kpfl_v1_SubmitUpdateMessage>;
  submitUpdate(metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_Receipt__Output>): grpc.ClientWritableStream<_kpfl_v1_SubmitUpdateMessage>;
  submitUpdate(options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_Receipt__Output>): grpc.ClientWritableStream<_kpfl_v1_SubmitUpdateMessage>;
  submitUpdate(callback: grpc.requestCallback<_kpfl_v1_Receipt__Output>): grpc.ClientWritableStream<_kpfl_v1_SubmitUpdateMessage>;
  
}

export interface AggregatorHandlers extends grpc.UntypedServiceImplementation {
  Authenticate: grpc.handleUnaryCall<_kpfl_v1_AuthenticateRequest__Output, _kpfl_v1_AuthenticateResponse>;
  
  CountersignRoundCertificate: grpc.handleUnaryCall<_kpfl_v1_CountersignRequest__Output, _kpfl_v1_RoundCertificate>;
  
  DownloadAggregate: grpc.handleServerStreamingCall<_kpfl_v1_DownloadAggregateRequest__Output, _kpfl_v1_AggregateChunk>;
  
  GetChallenge: grpc.handleUnaryCall<_kpfl_v1_GetChallengeRequest__Output, _kpfl_v1_GetChallengeResponse>;
  
  GetKeyEnvelope: grpc.handleUnaryCall<_kpfl_v1_GetKeyEnvelopeRequest__Output, _kpfl_v1_KeyEnvelope>;
  
  GetKeyEpoch: grpc.handleUnaryCall<_kpfl_v1_GetKeyEpochRequest__Output, _kpfl_v1_KeyEpoch>;
  
  GetKeyRecipients: grpc.handleUnaryCall<_kpfl_v1_GetKeyRecipientsRequest__Output, _kpfl_v1_KeyRecipients>;
  
  GetRoundCertificate: grpc.handleUnaryCall<_kpfl_v1_GetRoundCertificateRequest__Output, _kpfl_v1_RoundCertificate>;
  
  GetTask: grpc.handleUnaryCall<_kpfl_v1_GetTaskRequest__Output, _kpfl_v1_Task>;
  
  PutKeyEnvelopes: grpc.handleUnaryCall<_kpfl_v1_PutKeyEnvelopesRequest__Output, _kpfl_v1_PutKeyEnvelopesResponse>;
  
  ReportEvaluation: grpc.handleUnaryCall<_kpfl_v1_ReportEvaluationRequest__Output, _kpfl_v1_ReportEvaluationResponse>;
  
  ReportKeyEnvelope: grpc.handleUnaryCall<_kpfl_v1_ReportKeyEnvelopeRequest__Output, _kpfl_v1_ReportKeyEnvelopeResponse>;
  
  StartKeyEpoch: grpc.handleUnaryCall<_kpfl_v1_StartKeyEpochRequest__Output, _kpfl_v1_KeyEpoch>;
  
  SubmitUpdate: grpc.handleClientStreamingCall<_kpfl_v1_SubmitUpdateMessage__Output, _kpfl_v1_Receipt>;
  
}

export interface AggregatorDefinition extends grpc.ServiceDefinition {
  Authenticate: MethodDefinition<_kpfl_v1_AuthenticateRequest, _kpfl_v1_AuthenticateResponse, _kpfl_v1_AuthenticateRequest__Output, _kpfl_v1_AuthenticateResponse__Output>
  CountersignRoundCertificate: MethodDefinition<_kpfl_v1_CountersignRequest, _kpfl_v1_RoundCertificate, _kpfl_v1_CountersignRequest__Output, _kpfl_v1_RoundCertificate__Output>
  DownloadAggregate: MethodDefinition<_kpfl_v1_DownloadAggregateRequest, _kpfl_v1_AggregateChunk, _kpfl_v1_DownloadAggregateRequest__Output, _kpfl_v1_AggregateChunk__Output>
  GetChallenge: MethodDefinition<_kpfl_v1_GetChallengeRequest, _kpfl_v1_GetChallengeResponse, _kpfl_v1_GetChallengeRequest__Output, _kpfl_v1_GetChallengeResponse__Output>
  GetKeyEnvelope: MethodDefinition<_kpfl_v1_GetKeyEnvelopeRequest, _kpfl_v1_KeyEnvelope, _kpfl_v1_GetKeyEnvelopeRequest__Output, _kpfl_v1_KeyEnvelope__Output>
  GetKeyEpoch: MethodDefinition<_kpfl_v1_GetKeyEpochRequest, _kpfl_v1_KeyEpoch, _kpfl_v1_GetKeyEpochRequest__Output, _kpfl_v1_KeyEpoch__Output>
  GetKeyRecipients: MethodDefinition<_kpfl_v1_GetKeyRecipientsRequest, _kpfl_v1_KeyRecipients, _kpfl_v1_GetKeyRecipientsRequest__Output, _kpfl_v1_KeyRecipients__Output>
  GetRoundCertificate: MethodDefinition<_kpfl_v1_GetRoundCertificateRequest, _kpfl_v1_RoundCertificate, _kpfl_v1_GetRoundCertificateRequest__Output, _kpfl_v1_RoundCertificate__Output>
  GetTask: MethodDefinition<_kpfl_v1_GetTaskRequest, _kpfl_v1_Task, _kpfl_v1_GetTaskRequest__Output, _kpfl_v1_Task__Output>
  PutKeyEnvelopes: MethodDefinition<_kpfl_v1_PutKeyEnvelopesRequest, _kpfl_v1_PutKeyEnvelopesResponse, _kpfl_v1_PutKeyEnvelopesRequest__Output, _kpfl_v1_PutKeyEnvelopesResponse__Output>
  ReportEvaluation: MethodDefinition<_kpfl_v1_ReportEvaluationRequest, _kpfl_v1_ReportEvaluationResponse, _kpfl_v1_ReportEvaluationRequest__Output, _kpfl_v1_ReportEvaluationResponse__Output>
  ReportKeyEnvelope: MethodDefinition<_kpfl_v1_ReportKeyEnvelopeRequest, _kpfl_v1_ReportKeyEnvelopeResponse, _kpfl_v1_ReportKeyEnvelopeRequest__Output, _kpfl_v1_ReportKeyEnvelopeResponse__Output>
  StartKeyEpoch: MethodDefinition<_kpfl_v1_StartKeyEpochRequest, _kpfl_v1_KeyEpoch, _kpfl_v1_StartKeyEpochRequest__Output, _kpfl_v1_KeyEpoch__Output>
  SubmitUpdate: MethodDefinition<_kpfl_v1_SubmitUpdateMessage, _kpfl_v1_Receipt, _kpfl_v1_SubmitUpdateMessage__Output, _kpfl_v1_Receipt__Output>
}
