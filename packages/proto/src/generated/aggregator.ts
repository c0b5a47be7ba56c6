import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AggregateChunk as _kpfl_v1_AggregateChunk, AggregateChunk__Output as _kpfl_v1_AggregateChunk__Output } from './kpfl/v1/AggregateChunk.js';
import type { AggregatorClient as _kpfl_v1_AggregatorClient, AggregatorDefinition as _kpfl_v1_AggregatorDefinition } from './kpfl/v1/Aggregator.js';
import type { AuthenticateRequest as _kpfl_v1_AuthenticateRequest, AuthenticateRequest__Output as _kpfl_v1_AuthenticateRequest__Output } from './kpfl/v1/AuthenticateRequest.js';
import type { AuthenticateResponse as _kpfl_v1_AuthenticateResponse, AuthenticateResponse__Output as _kpfl_v1_AuthenticateResponse__Output } from './kpfl/v1/AuthenticateResponse.js';
import type { CountersignRequest as _kpfl_v1_CountersignRequest, CountersignRequest__Output as _kpfl_v1_CountersignRequest__Output } from './kpfl/v1/CountersignRequest.js';
import type { DownloadAggregateRequest as _kpfl_v1_DownloadAggregateRequest, DownloadAggregateRequest__Output as _kpfl_v1_DownloadAggregateRequest__Output } from './kpfl/v1/DownloadAggregateRequest.js';
import type { GetChallengeRequest as _kpfl_v1_GetChallengeRequest, GetChallengeRequest__Output as _kpfl_v1_GetChallengeRequest__Output } from './kpfl/v1/GetChallengeRequest.js';
import type { GetChallengeResponse as _kpfl_v1_GetChallengeResponse, GetChallengeResponse__Output as _kpfl_v1_GetChallengeResponse__Output } from './kpfl/v1/GetChallengeResponse.js';
import type { GetKeyEnvelopeRequest as _kpfl_v1_GetKeyEnvelopeRequest, GetKeyEnvelopeRequest__Output as _kpfl_v1_GetKeyEnvelopeRequest__Output } from './kpfl/v1/GetKeyEnvelopeRequest.js';
import type { GetKeyEpochRequest as _kpfl_v1_GetKeyEpochRequest, GetKeyEpochRequest__Output as _kpfl_v1_GetKeyEpochRequest__Output } from './kpfl/v1/GetKeyEpochRequest.js';
import type { GetKeyRecipientsRequest as _kpfl_v1_GetKeyRecipientsRequest, GetKeyRecipientsRequest__Output as _kpfl_v1_GetKeyRecipientsRequest__Output } from './kpfl/v1/GetKeyRecipientsRequest.js';
import type { GetRoundCertificateRequest as _kpfl_v1_GetRoundCertificateRequest, GetRoundCertificateRequest__Output as _kpfl_v1_GetRoundCertificateRequest__Output } from './kpfl/v1/GetRoundCertificateRequest.js';
import type { GetTaskRequest as _kpfl_v1_GetTaskRequest, GetTaskRequest__Output as _kpfl_v1_GetTaskRequest__Output } from './kpfl/v1/GetTaskRequest.js';
import type { KeyEnvelope as _kpfl_v1_KeyEnvelope, KeyEnvelope__Output as _kpfl_v1_KeyEnvelope__Output } from './kpfl/v1/KeyEnvelope.js';
import type { KeyEnvelopeIn as _kpfl_v1_KeyEnvelopeIn, KeyEnvelopeIn__Output as _kpfl_v1_KeyEnvelopeIn__Output } from './kpfl/v1/KeyEnvelopeIn.js';
import type { KeyEpoch as _kpfl_v1_KeyEpoch, KeyEpoch__Output as _kpfl_v1_KeyEpoch__Output } from './kpfl/v1/KeyEpoch.js';
import type { KeyRecipient as _kpfl_v1_KeyRecipient, KeyRecipient__Output as _kpfl_v1_KeyRecipient__Output } from './kpfl/v1/KeyRecipient.js';
import type { KeyRecipients as _kpfl_v1_KeyRecipients, KeyRecipients__Output as _kpfl_v1_KeyRecipients__Output } from './kpfl/v1/KeyRecipients.js';
import type { PutKeyEnvelopesRequest as _kpfl_v1_PutKeyEnvelopesRequest, PutKeyEnvelopesRequest__Output as _kpfl_v1_PutKeyEnvelopesRequest__Output } from './kpfl/v1/PutKeyEnvelopesRequest.js';
import type { PutKeyEnvelopesResponse as _kpfl_v1_PutKeyEnvelopesResponse, PutKeyEnvelopesResponse__Output as _kpfl_v1_PutKeyEnvelopesResponse__Output } from './kpfl/v1/PutKeyEnvelopesResponse.js';
import type { Receipt as _kpfl_v1_Receipt, Receipt__Output as _kpfl_v1_Receipt__Output } from './kpfl/v1/Receipt.js';
import type { ReportEvaluationRequest as _kpfl_v1_ReportEvaluationRequest, ReportEvaluationRequest__Output as _kpfl_v1_ReportEvaluationRequest__Output } from './kpfl/v1/ReportEvaluationRequest.js';
import type { ReportEvaluationResponse as _kpfl_v1_ReportEvaluationResponse, ReportEvaluationResponse__Output as _kpfl_v1_ReportEvaluationResponse__Output } from './kpfl/v1/ReportEvaluationResponse.js';
import type { ReportKeyEnvelopeRequest as _kpfl_v1_ReportKeyEnvelopeRequest, ReportKeyEnvelopeRequest__Output as _kpfl_v1_ReportKeyEnvelopeRequest__Output } from './kpfl/v1/ReportKeyEnvelopeRequest.js';
import type { ReportKeyEnvelopeResponse as _kpfl_v1_ReportKeyEnvelopeResponse, ReportKeyEnvelopeResponse__Output as _kpfl_v1_ReportKeyEnvelopeResponse__Output } from './kpfl/v1/ReportKeyEnvelopeResponse.js';
import type { RoundCertificate as _kpfl_v1_RoundCertificate, RoundCertificate__Output as _kpfl_v1_RoundCertificate__Output } from './kpfl/v1/RoundCertificate.js';
import type { StartKeyEpochRequest as _kpfl_v1_StartKeyEpochRequest, StartKeyEpochRequest__Output as _kpfl_v1_StartKeyEpochRequest__Output } from './kpfl/v1/StartKeyEpochRequest.js';
import type { SubmitUpdateHeader as _kpfl_v1_SubmitUpdateHeader, SubmitUpdateHeader__Output as _kpfl_v1_SubmitUpdateHeader__Output } from './kpfl/v1/SubmitUpdateHeader.js';
import type { SubmitUpdateMessage as _kpfl_v1_SubmitUpdateMessage, SubmitUpdateMessage__Output as _kpfl_v1_SubmitUpdateMessage__Output } from './kpfl/v1/SubmitUpdateMessage.js';
import type { Task as _kpfl_v1_Task, Task__Output as _kpfl_v1_Task__Output } from './kpfl/v1/Task.js';
import type { TrainingConfig as _kpfl_v1_TrainingConfig, TrainingConfig__Output as _kpfl_v1_TrainingConfig__Output } from './kpfl/v1/TrainingConfig.js';
import type { UpdateChunk as _kpfl_v1_UpdateChunk, UpdateChunk__Output as _kpfl_v1_UpdateChunk__Output } from './kpfl/v1/UpdateChunk.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  kpfl: {
    v1: {
      AggregateChunk: MessageTypeDefinition<_kpfl_v1_AggregateChunk, _kpfl_v1_AggregateChunk__Output>
      Aggregator: SubtypeConstructor<typeof grpc.Client, _kpfl_v1_AggregatorClient> & { service: _kpfl_v1_AggregatorDefinition }
      AuthenticateRequest: MessageTypeDefinition<_kpfl_v1_AuthenticateRequest, _kpfl_v1_AuthenticateRequest__Output>
      AuthenticateResponse: MessageTypeDefinition<_kpfl_v1_AuthenticateResponse, _kpfl_v1_AuthenticateResponse__Output>
      CountersignRequest: MessageTypeDefinition<_kpfl_v1_CountersignRequest, _kpfl_v1_CountersignRequest__Output>
      DownloadAggregateRequest: MessageTypeDefinition<_kpfl_v1_DownloadAggregateRequest, _kpfl_v1_DownloadAggregateRequest__Output>
      GetChallengeRequest: MessageTypeDefinition<_kpfl_v1_GetChallengeRequest, _kpfl_v1_GetChallengeRequest__Output>
      GetChallengeResponse: MessageTypeDefinition<_kpfl_v1_GetChallengeResponse, _kpfl_v1_GetChallengeResponse__Output>
      GetKeyEnvelopeRequest: MessageTypeDefinition<_kpfl_v1_GetKeyEnvelopeRequest, _kpfl_v1_GetKeyEnvelopeRequest__Output>
      GetKeyEpochRequest: MessageTypeDefinition<_kpfl_v1_GetKeyEpochRequest, _kpfl_v1_GetKeyEpochRequest__Output>
      GetKeyRecipientsRequest: MessageTypeDefinition<_kpfl_v1_GetKeyRecipientsRequest, _kpfl_v1_GetKeyRecipientsRequest__Output>
      GetRoundCertificateRequest: MessageTypeDefinition<_kpfl_v1_GetRoundCertificateRequest, _kpfl_v1_GetRoundCertificateRequest__Output>
      GetTaskRequest: MessageTypeDefinition<_kpfl_v1_GetTaskRequest, _kpfl_v1_GetTaskRequest__Output>
      KeyEnvelope: MessageTypeDefinition<_kpfl_v1_KeyEnvelope, _kpfl_v1_KeyEnvelope__Output>
      KeyEnvelopeIn: MessageTypeDefinition<_kpfl_v1_KeyEnvelopeIn, _kpfl_v1_KeyEnvelopeIn__Output>
      KeyEpoch: MessageTypeDefinition<_kpfl_v1_KeyEpoch, _kpfl_v1_KeyEpoch__Output>
      KeyRecipient: MessageTypeDefinition<_kpfl_v1_KeyRecipient, _kpfl_v1_KeyRecipient__Output>
      KeyRecipients: MessageTypeDefinition<_kpfl_v1_KeyRecipients, _kpfl_v1_KeyRecipients__Output>
      PutKeyEnvelopesRequest: MessageTypeDefinition<_kpfl_v1_PutKeyEnvelopesRequest, _kpfl_v1_PutKeyEnvelopesRequest__Output>
      PutKeyEnvelopesResponse: MessageTypeDefinition<_kpfl_v1_PutKeyEnvelopesResponse, _kpfl_v1_PutKeyEnvelopesResponse__Output>
      Receipt: MessageTypeDefinition<_kpfl_v1_Receipt, _kpfl_v1_Receipt__Output>
      ReportEvaluationRequest: MessageTypeDefinition<_kpfl_v1_ReportEvaluationRequest, _kpfl_v1_ReportEvaluationRequest__Output>
      ReportEvaluationResponse: MessageTypeDefinition<_kpfl_v1_ReportEvaluationResponse, _kpfl_v1_ReportEvaluationResponse__Output>
      ReportKeyEnvelopeRequest: MessageTypeDefinition<_kpfl_v1_ReportKeyEnvelopeRequest, _kpfl_v1_ReportKeyEnvelopeRequest__Output>
      ReportKeyEnvelopeResponse: MessageTypeDefinition<_kpfl_v1_ReportKeyEnvelopeResponse, _kpfl_v1_ReportKeyEnvelopeResponse__Output>
      RoundCertificate: MessageTypeDefinition<_kpfl_v1_RoundCertificate, _kpfl_v1_RoundCertificate__Output>
      StartKeyEpochRequest: MessageTypeDefinition<_kpfl_v1_StartKeyEpochRequest, _kpfl_v1_StartKeyEpochRequest__Output>
      SubmitUpdateHeader: MessageTypeDefinition<_kpfl_v1_SubmitUpdateHeader, _kpfl_v1_SubmitUpdateHeader__Output>
      SubmitUpdateMessage: MessageTypeDefinition<_kpfl_v1_SubmitUpdateMessage, _kpfl_v1_SubmitUpdateMessage__Output>
      Task: MessageTypeDefinition<_kpfl_v1_Task, _kpfl_v1_Task__Output>
      TaskKind: EnumTypeDefinition
      TrainingConfig: MessageTypeDefinition<_kpfl_v1_TrainingConfig, _kpfl_v1_TrainingConfig__Output>
      UpdateChunk: MessageTypeDefinition<_kpfl_v1_UpdateChunk, _kpfl_v1_UpdateChunk__Output>
    }
  }
}

