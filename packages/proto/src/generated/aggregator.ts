import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { AdvertiseMaskKeysRequest as _kpfl_v1_AdvertiseMaskKeysRequest, AdvertiseMaskKeysRequest__Output as _kpfl_v1_AdvertiseMaskKeysRequest__Output } from './kpfl/v1/AdvertiseMaskKeysRequest.js';
import type { AdvertiseMaskKeysResponse as _kpfl_v1_AdvertiseMaskKeysResponse, AdvertiseMaskKeysResponse__Output as _kpfl_v1_AdvertiseMaskKeysResponse__Output } from './kpfl/v1/AdvertiseMaskKeysResponse.js';
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
import type { GetMaskAdvertisementsRequest as _kpfl_v1_GetMaskAdvertisementsRequest, GetMaskAdvertisementsRequest__Output as _kpfl_v1_GetMaskAdvertisementsRequest__Output } from './kpfl/v1/GetMaskAdvertisementsRequest.js';
import type { GetRoundCertificateRequest as _kpfl_v1_GetRoundCertificateRequest, GetRoundCertificateRequest__Output as _kpfl_v1_GetRoundCertificateRequest__Output } from './kpfl/v1/GetRoundCertificateRequest.js';
import type { GetShareEnvelopesRequest as _kpfl_v1_GetShareEnvelopesRequest, GetShareEnvelopesRequest__Output as _kpfl_v1_GetShareEnvelopesRequest__Output } from './kpfl/v1/GetShareEnvelopesRequest.js';
import type { GetTaskRequest as _kpfl_v1_GetTaskRequest, GetTaskRequest__Output as _kpfl_v1_GetTaskRequest__Output } from './kpfl/v1/GetTaskRequest.js';
import type { GetUnmaskAnnouncementRequest as _kpfl_v1_GetUnmaskAnnouncementRequest, GetUnmaskAnnouncementRequest__Output as _kpfl_v1_GetUnmaskAnnouncementRequest__Output } from './kpfl/v1/GetUnmaskAnnouncementRequest.js';
import type { KeyEnvelope as _kpfl_v1_KeyEnvelope, KeyEnvelope__Output as _kpfl_v1_KeyEnvelope__Output } from './kpfl/v1/KeyEnvelope.js';
import type { KeyEnvelopeIn as _kpfl_v1_KeyEnvelopeIn, KeyEnvelopeIn__Output as _kpfl_v1_KeyEnvelopeIn__Output } from './kpfl/v1/KeyEnvelopeIn.js';
import type { KeyEpoch as _kpfl_v1_KeyEpoch, KeyEpoch__Output as _kpfl_v1_KeyEpoch__Output } from './kpfl/v1/KeyEpoch.js';
import type { KeyRecipient as _kpfl_v1_KeyRecipient, KeyRecipient__Output as _kpfl_v1_KeyRecipient__Output } from './kpfl/v1/KeyRecipient.js';
import type { KeyRecipients as _kpfl_v1_KeyRecipients, KeyRecipients__Output as _kpfl_v1_KeyRecipients__Output } from './kpfl/v1/KeyRecipients.js';
import type { MaskAdvertisement as _kpfl_v1_MaskAdvertisement, MaskAdvertisement__Output as _kpfl_v1_MaskAdvertisement__Output } from './kpfl/v1/MaskAdvertisement.js';
import type { MaskAdvertisements as _kpfl_v1_MaskAdvertisements, MaskAdvertisements__Output as _kpfl_v1_MaskAdvertisements__Output } from './kpfl/v1/MaskAdvertisements.js';
import type { PutKeyEnvelopesRequest as _kpfl_v1_PutKeyEnvelopesRequest, PutKeyEnvelopesRequest__Output as _kpfl_v1_PutKeyEnvelopesRequest__Output } from './kpfl/v1/PutKeyEnvelopesRequest.js';
import type { PutKeyEnvelopesResponse as _kpfl_v1_PutKeyEnvelopesResponse, PutKeyEnvelopesResponse__Output as _kpfl_v1_PutKeyEnvelopesResponse__Output } from './kpfl/v1/PutKeyEnvelopesResponse.js';
import type { PutShareEnvelopesRequest as _kpfl_v1_PutShareEnvelopesRequest, PutShareEnvelopesRequest__Output as _kpfl_v1_PutShareEnvelopesRequest__Output } from './kpfl/v1/PutShareEnvelopesRequest.js';
import type { PutShareEnvelopesResponse as _kpfl_v1_PutShareEnvelopesResponse, PutShareEnvelopesResponse__Output as _kpfl_v1_PutShareEnvelopesResponse__Output } from './kpfl/v1/PutShareEnvelopesResponse.js';
import type { PutUnmaskResponseRequest as _kpfl_v1_PutUnmaskResponseRequest, PutUnmaskResponseRequest__Output as _kpfl_v1_PutUnmaskResponseRequest__Output } from './kpfl/v1/PutUnmaskResponseRequest.js';
import type { PutUnmaskResponseResponse as _kpfl_v1_PutUnmaskResponseResponse, PutUnmaskResponseResponse__Output as _kpfl_v1_PutUnmaskResponseResponse__Output } from './kpfl/v1/PutUnmaskResponseResponse.js';
import type { Receipt as _kpfl_v1_Receipt, Receipt__Output as _kpfl_v1_Receipt__Output } from './kpfl/v1/Receipt.js';
import type { ReportEvaluationRequest as _kpfl_v1_ReportEvaluationRequest, ReportEvaluationRequest__Output as _kpfl_v1_ReportEvaluationRequest__Output } from './kpfl/v1/ReportEvaluationRequest.js';
import type { ReportEvaluationResponse as _kpfl_v1_ReportEvaluationResponse, ReportEvaluationResponse__Output as _kpfl_v1_ReportEvaluationResponse__Output } from './kpfl/v1/ReportEvaluationResponse.js';
import type { ReportKeyEnvelopeRequest as _kpfl_v1_ReportKeyEnvelopeRequest, ReportKeyEnvelopeRequest__Output as _kpfl_v1_ReportKeyEnvelopeRequest__Output } from './kpfl/v1/ReportKeyEnvelopeRequest.js';
import type { ReportKeyEnvelopeResponse as _kpfl_v1_ReportKeyEnvelopeResponse, ReportKeyEnvelopeResponse__Output as _kpfl_v1_ReportKeyEnvelopeResponse__Output } from './kpfl/v1/ReportKeyEnvelopeResponse.js';
import type { ReportSecureRefusalRequest as _kpfl_v1_ReportSecureRefusalRequest, ReportSecureRefusalRequest__Output as _kpfl_v1_ReportSecureRefusalRequest__Output } from './kpfl/v1/ReportSecureRefusalRequest.js';
import type { ReportSecureRefusalResponse as _kpfl_v1_ReportSecureRefusalResponse, ReportSecureRefusalResponse__Output as _kpfl_v1_ReportSecureRefusalResponse__Output } from './kpfl/v1/ReportSecureRefusalResponse.js';
import type { RoundCertificate as _kpfl_v1_RoundCertificate, RoundCertificate__Output as _kpfl_v1_RoundCertificate__Output } from './kpfl/v1/RoundCertificate.js';
import type { ShareEnvelopeIn as _kpfl_v1_ShareEnvelopeIn, ShareEnvelopeIn__Output as _kpfl_v1_ShareEnvelopeIn__Output } from './kpfl/v1/ShareEnvelopeIn.js';
import type { ShareEnvelopeOut as _kpfl_v1_ShareEnvelopeOut, ShareEnvelopeOut__Output as _kpfl_v1_ShareEnvelopeOut__Output } from './kpfl/v1/ShareEnvelopeOut.js';
import type { ShareEnvelopes as _kpfl_v1_ShareEnvelopes, ShareEnvelopes__Output as _kpfl_v1_ShareEnvelopes__Output } from './kpfl/v1/ShareEnvelopes.js';
import type { StartKeyEpochRequest as _kpfl_v1_StartKeyEpochRequest, StartKeyEpochRequest__Output as _kpfl_v1_StartKeyEpochRequest__Output } from './kpfl/v1/StartKeyEpochRequest.js';
import type { SubmitUpdateHeader as _kpfl_v1_SubmitUpdateHeader, SubmitUpdateHeader__Output as _kpfl_v1_SubmitUpdateHeader__Output } from './kpfl/v1/SubmitUpdateHeader.js';
import type { SubmitUpdateMessage as _kpfl_v1_SubmitUpdateMessage, SubmitUpdateMessage__Output as _kpfl_v1_SubmitUpdateMessage__Output } from './kpfl/v1/SubmitUpdateMessage.js';
import type { Task as _kpfl_v1_Task, Task__Output as _kpfl_v1_Task__Output } from './kpfl/v1/Task.js';
import type { TrainingConfig as _kpfl_v1_TrainingConfig, TrainingConfig__Output as _kpfl_v1_TrainingConfig__Output } from './kpfl/v1/TrainingConfig.js';
import type { UnmaskAnnouncement as _kpfl_v1_UnmaskAnnouncement, UnmaskAnnouncement__Output as _kpfl_v1_UnmaskAnnouncement__Output } from './kpfl/v1/UnmaskAnnouncement.js';
import type { UpdateChunk as _kpfl_v1_UpdateChunk, UpdateChunk__Output as _kpfl_v1_UpdateChunk__Output } from './kpfl/v1/UpdateChunk.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  kpfl: {
    v1: {
      AdvertiseMaskKeysRequest: MessageTypeDefinition<_kpfl_v1_AdvertiseMaskKeysRequest, _kpfl_v1_AdvertiseMaskKeysRequest__Output>
      AdvertiseMaskKeysResponse: MessageTypeDefinition<_kpfl_v1_AdvertiseMaskKeysResponse, _kpfl_v1_AdvertiseMaskKeysResponse__Output>
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
      GetMaskAdvertisementsRequest: MessageTypeDefinition<_kpfl_v1_GetMaskAdvertisementsRequest, _kpfl_v1_GetMaskAdvertisementsRequest__Output>
      GetRoundCertificateRequest: MessageTypeDefinition<_kpfl_v1_GetRoundCertificateRequest, _kpfl_v1_GetRoundCertificateRequest__Output>
      GetShareEnvelopesRequest: MessageTypeDefinition<_kpfl_v1_GetShareEnvelopesRequest, _kpfl_v1_GetShareEnvelopesRequest__Output>
      GetTaskRequest: MessageTypeDefinition<_kpfl_v1_GetTaskRequest, _kpfl_v1_GetTaskRequest__Output>
      GetUnmaskAnnouncementRequest: MessageTypeDefinition<_kpfl_v1_GetUnmaskAnnouncementRequest, _kpfl_v1_GetUnmaskAnnouncementRequest__Output>
      KeyEnvelope: MessageTypeDefinition<_kpfl_v1_KeyEnvelope, _kpfl_v1_KeyEnvelope__Output>
      KeyEnvelopeIn: MessageTypeDefinition<_kpfl_v1_KeyEnvelopeIn, _kpfl_v1_KeyEnvelopeIn__Output>
      KeyEpoch: MessageTypeDefinition<_kpfl_v1_KeyEpoch, _kpfl_v1_KeyEpoch__Output>
      KeyRecipient: MessageTypeDefinition<_kpfl_v1_KeyRecipient, _kpfl_v1_KeyRecipient__Output>
      KeyRecipients: MessageTypeDefinition<_kpfl_v1_KeyRecipients, _kpfl_v1_KeyRecipients__Output>
      MaskAdvertisement: MessageTypeDefinition<_kpfl_v1_MaskAdvertisement, _kpfl_v1_MaskAdvertisement__Output>
      MaskAdvertisements: MessageTypeDefinition<_kpfl_v1_MaskAdvertisements, _kpfl_v1_MaskAdvertisements__Output>
      PutKeyEnvelopesRequest: MessageTypeDefinition<_kpfl_v1_PutKeyEnvelopesRequest, _kpfl_v1_PutKeyEnvelopesRequest__Output>
      PutKeyEnvelopesResponse: MessageTypeDefinition<_kpfl_v1_PutKeyEnvelopesResponse, _kpfl_v1_PutKeyEnvelopesResponse__Output>
      PutShareEnvelopesRequest: MessageTypeDefinition<_kpfl_v1_PutShareEnvelopesRequest, _kpfl_v1_PutShareEnvelopesRequest__Output>
      PutShareEnvelopesResponse: MessageTypeDefinition<_kpfl_v1_PutShareEnvelopesResponse, _kpfl_v1_PutShareEnvelopesResponse__Output>
      PutUnmaskResponseRequest: MessageTypeDefinition<_kpfl_v1_PutUnmaskResponseRequest, _kpfl_v1_PutUnmaskResponseRequest__Output>
      PutUnmaskResponseResponse: MessageTypeDefinition<_kpfl_v1_PutUnmaskResponseResponse, _kpfl_v1_PutUnmaskResponseResponse__Output>
      Receipt: MessageTypeDefinition<_kpfl_v1_Receipt, _kpfl_v1_Receipt__Output>
      ReportEvaluationRequest: MessageTypeDefinition<_kpfl_v1_ReportEvaluationRequest, _kpfl_v1_ReportEvaluationRequest__Output>
      ReportEvaluationResponse: MessageTypeDefinition<_kpfl_v1_ReportEvaluationResponse, _kpfl_v1_ReportEvaluationResponse__Output>
      ReportKeyEnvelopeRequest: MessageTypeDefinition<_kpfl_v1_ReportKeyEnvelopeRequest, _kpfl_v1_ReportKeyEnvelopeRequest__Output>
      ReportKeyEnvelopeResponse: MessageTypeDefinition<_kpfl_v1_ReportKeyEnvelopeResponse, _kpfl_v1_ReportKeyEnvelopeResponse__Output>
      ReportSecureRefusalRequest: MessageTypeDefinition<_kpfl_v1_ReportSecureRefusalRequest, _kpfl_v1_ReportSecureRefusalRequest__Output>
      ReportSecureRefusalResponse: MessageTypeDefinition<_kpfl_v1_ReportSecureRefusalResponse, _kpfl_v1_ReportSecureRefusalResponse__Output>
      RoundCertificate: MessageTypeDefinition<_kpfl_v1_RoundCertificate, _kpfl_v1_RoundCertificate__Output>
      ShareEnvelopeIn: MessageTypeDefinition<_kpfl_v1_ShareEnvelopeIn, _kpfl_v1_ShareEnvelopeIn__Output>
      ShareEnvelopeOut: MessageTypeDefinition<_kpfl_v1_ShareEnvelopeOut, _kpfl_v1_ShareEnvelopeOut__Output>
      ShareEnvelopes: MessageTypeDefinition<_kpfl_v1_ShareEnvelopes, _kpfl_v1_ShareEnvelopes__Output>
      StartKeyEpochRequest: MessageTypeDefinition<_kpfl_v1_StartKeyEpochRequest, _kpfl_v1_StartKeyEpochRequest__Output>
      SubmitUpdateHeader: MessageTypeDefinition<_kpfl_v1_SubmitUpdateHeader, _kpfl_v1_SubmitUpdateHeader__Output>
      SubmitUpdateMessage: MessageTypeDefinition<_kpfl_v1_SubmitUpdateMessage, _kpfl_v1_SubmitUpdateMessage__Output>
      Task: MessageTypeDefinition<_kpfl_v1_Task, _kpfl_v1_Task__Output>
      TaskKind: EnumTypeDefinition
      TrainingConfig: MessageTypeDefinition<_kpfl_v1_TrainingConfig, _kpfl_v1_TrainingConfig__Output>
      UnmaskAnnouncement: MessageTypeDefinition<_kpfl_v1_UnmaskAnnouncement, _kpfl_v1_UnmaskAnnouncement__Output>
      UpdateChunk: MessageTypeDefinition<_kpfl_v1_UpdateChunk, _kpfl_v1_UpdateChunk__Output>
    }
  }
}

