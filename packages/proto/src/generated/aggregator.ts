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
import type { GetRoundCertificateRequest as _kpfl_v1_GetRoundCertificateRequest, GetRoundCertificateRequest__Output as _kpfl_v1_GetRoundCertificateRequest__Output } from './kpfl/v1/GetRoundCertificateRequest.js';
import type { GetTaskRequest as _kpfl_v1_GetTaskRequest, GetTaskRequest__Output as _kpfl_v1_GetTaskRequest__Output } from './kpfl/v1/GetTaskRequest.js';
import type { Receipt as _kpfl_v1_Receipt, Receipt__Output as _kpfl_v1_Receipt__Output } from './kpfl/v1/Receipt.js';
import type { ReportEvaluationRequest as _kpfl_v1_ReportEvaluationRequest, ReportEvaluationRequest__Output as _kpfl_v1_ReportEvaluationRequest__Output } from './kpfl/v1/ReportEvaluationRequest.js';
import type { ReportEvaluationResponse as _kpfl_v1_ReportEvaluationResponse, ReportEvaluationResponse__Output as _kpfl_v1_ReportEvaluationResponse__Output } from './kpfl/v1/ReportEvaluationResponse.js';
import type { RoundCertificate as _kpfl_v1_RoundCertificate, RoundCertificate__Output as _kpfl_v1_RoundCertificate__Output } from './kpfl/v1/RoundCertificate.js';
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
      GetRoundCertificateRequest: MessageTypeDefinition<_kpfl_v1_GetRoundCertificateRequest, _kpfl_v1_GetRoundCertificateRequest__Output>
      GetTaskRequest: MessageTypeDefinition<_kpfl_v1_GetTaskRequest, _kpfl_v1_GetTaskRequest__Output>
      Receipt: MessageTypeDefinition<_kpfl_v1_Receipt, _kpfl_v1_Receipt__Output>
      ReportEvaluationRequest: MessageTypeDefinition<_kpfl_v1_ReportEvaluationRequest, _kpfl_v1_ReportEvaluationRequest__Output>
      ReportEvaluationResponse: MessageTypeDefinition<_kpfl_v1_ReportEvaluationResponse, _kpfl_v1_ReportEvaluationResponse__Output>
      RoundCertificate: MessageTypeDefinition<_kpfl_v1_RoundCertificate, _kpfl_v1_RoundCertificate__Output>
      SubmitUpdateHeader: MessageTypeDefinition<_kpfl_v1_SubmitUpdateHeader, _kpfl_v1_SubmitUpdateHeader__Output>
      SubmitUpdateMessage: MessageTypeDefinition<_kpfl_v1_SubmitUpdateMessage, _kpfl_v1_SubmitUpdateMessage__Output>
      Task: MessageTypeDefinition<_kpfl_v1_Task, _kpfl_v1_Task__Output>
      TaskKind: EnumTypeDefinition
      TrainingConfig: MessageTypeDefinition<_kpfl_v1_TrainingConfig, _kpfl_v1_TrainingConfig__Output>
      UpdateChunk: MessageTypeDefinition<_kpfl_v1_UpdateChunk, _kpfl_v1_UpdateChunk__Output>
    }
  }
}

