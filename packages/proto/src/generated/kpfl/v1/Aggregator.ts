// Original file: protos/kpfl/v1/aggregator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AdvertiseMaskKeysRequest as _kpfl_v1_AdvertiseMaskKeysRequest, AdvertiseMaskKeysRequest__Output as _kpfl_v1_AdvertiseMaskKeysRequest__Output } from '../../kpfl/v1/AdvertiseMaskKeysRequest.js';
import type { AdvertiseMaskKeysResponse as _kpfl_v1_AdvertiseMaskKeysResponse, AdvertiseMaskKeysResponse__Output as _kpfl_v1_AdvertiseMaskKeysResponse__Output } from '../../kpfl/v1/AdvertiseMaskKeysResponse.js';
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
import type { GetMaskAdvertisementsRequest as _kpfl_v1_GetMaskAdvertisementsRequest, GetMaskAdvertisementsRequest__Output as _kpfl_v1_GetMaskAdvertisementsRequest__Output } from '../../kpfl/v1/GetMaskAdvertisementsRequest.js';
import type { GetRoundCertificateRequest as _kpfl_v1_GetRoundCertificateRequest, GetRoundCertificateRequest__Output as _kpfl_v1_GetRoundCertificateRequest__Output } from '../../kpfl/v1/GetRoundCertificateRequest.js';
import type { GetShareEnvelopesRequest as _kpfl_v1_GetShareEnvelopesRequest, GetShareEnvelopesRequest__Output as _kpfl_v1_GetShareEnvelopesRequest__Output } from '../../kpfl/v1/GetShareEnvelopesRequest.js';
import type { GetTaskRequest as _kpfl_v1_GetTaskRequest, GetTaskRequest__Output as _kpfl_v1_GetTaskRequest__Output } from '../../kpfl/v1/GetTaskRequest.js';
import type { GetUnmaskAnnouncementRequest as _kpfl_v1_GetUnmaskAnnouncementRequest, GetUnmaskAnnouncementRequest__Output as _kpfl_v1_GetUnmaskAnnouncementRequest__Output } from '../../kpfl/v1/GetUnmaskAnnouncementRequest.js';
import type { KeyEnvelope as _kpfl_v1_KeyEnvelope, KeyEnvelope__Output as _kpfl_v1_KeyEnvelope__Output } from '../../kpfl/v1/KeyEnvelope.js';
import type { KeyEpoch as _kpfl_v1_KeyEpoch, KeyEpoch__Output as _kpfl_v1_KeyEpoch__Output } from '../../kpfl/v1/KeyEpoch.js';
import type { KeyRecipients as _kpfl_v1_KeyRecipients, KeyRecipients__Output as _kpfl_v1_KeyRecipients__Output } from '../../kpfl/v1/KeyRecipients.js';
import type { MaskAdvertisements as _kpfl_v1_MaskAdvertisements, MaskAdvertisements__Output as _kpfl_v1_MaskAdvertisements__Output } from '../../kpfl/v1/MaskAdvertisements.js';
import type { PutKeyEnvelopesRequest as _kpfl_v1_PutKeyEnvelopesRequest, PutKeyEnvelopesRequest__Output as _kpfl_v1_PutKeyEnvelopesRequest__Output } from '../../kpfl/v1/PutKeyEnvelopesRequest.js';
import type { PutKeyEnvelopesResponse as _kpfl_v1_PutKeyEnvelopesResponse, PutKeyEnvelopesResponse__Output as _kpfl_v1_PutKeyEnvelopesResponse__Output } from '../../kpfl/v1/PutKeyEnvelopesResponse.js';
import type { PutShareEnvelopesRequest as _kpfl_v1_PutShareEnvelopesRequest, PutShareEnvelopesRequest__Output as _kpfl_v1_PutShareEnvelopesRequest__Output } from '../../kpfl/v1/PutShareEnvelopesRequest.js';
import type { PutShareEnvelopesResponse as _kpfl_v1_PutShareEnvelopesResponse, PutShareEnvelopesResponse__Output as _kpfl_v1_PutShareEnvelopesResponse__Output } from '../../kpfl/v1/PutShareEnvelopesResponse.js';
import type { PutUnmaskResponseRequest as _kpfl_v1_PutUnmaskResponseRequest, PutUnmaskResponseRequest__Output as _kpfl_v1_PutUnmaskResponseRequest__Output } from '../../kpfl/v1/PutUnmaskResponseRequest.js';
import type { PutUnmaskResponseResponse as _kpfl_v1_PutUnmaskResponseResponse, PutUnmaskResponseResponse__Output as _kpfl_v1_PutUnmaskResponseResponse__Output } from '../../kpfl/v1/PutUnmaskResponseResponse.js';
import type { Receipt as _kpfl_v1_Receipt, Receipt__Output as _kpfl_v1_Receipt__Output } from '../../kpfl/v1/Receipt.js';
import type { ReportEvaluationRequest as _kpfl_v1_ReportEvaluationRequest, ReportEvaluationRequest__Output as _kpfl_v1_ReportEvaluationRequest__Output } from '../../kpfl/v1/ReportEvaluationRequest.js';
import type { ReportEvaluationResponse as _kpfl_v1_ReportEvaluationResponse, ReportEvaluationResponse__Output as _kpfl_v1_ReportEvaluationResponse__Output } from '../../kpfl/v1/ReportEvaluationResponse.js';
import type { ReportKeyEnvelopeRequest as _kpfl_v1_ReportKeyEnvelopeRequest, ReportKeyEnvelopeRequest__Output as _kpfl_v1_ReportKeyEnvelopeRequest__Output } from '../../kpfl/v1/ReportKeyEnvelopeRequest.js';
import type { ReportKeyEnvelopeResponse as _kpfl_v1_ReportKeyEnvelopeResponse, ReportKeyEnvelopeResponse__Output as _kpfl_v1_ReportKeyEnvelopeResponse__Output } from '../../kpfl/v1/ReportKeyEnvelopeResponse.js';
import type { ReportSecureRefusalRequest as _kpfl_v1_ReportSecureRefusalRequest, ReportSecureRefusalRequest__Output as _kpfl_v1_ReportSecureRefusalRequest__Output } from '../../kpfl/v1/ReportSecureRefusalRequest.js';
import type { ReportSecureRefusalResponse as _kpfl_v1_ReportSecureRefusalResponse, ReportSecureRefusalResponse__Output as _kpfl_v1_ReportSecureRefusalResponse__Output } from '../../kpfl/v1/ReportSecureRefusalResponse.js';
import type { RoundCertificate as _kpfl_v1_RoundCertificate, RoundCertificate__Output as _kpfl_v1_RoundCertificate__Output } from '../../kpfl/v1/RoundCertificate.js';
import type { ShareEnvelopes as _kpfl_v1_ShareEnvelopes, ShareEnvelopes__Output as _kpfl_v1_ShareEnvelopes__Output } from '../../kpfl/v1/ShareEnvelopes.js';
import type { StartKeyEpochRequest as _kpfl_v1_StartKeyEpochRequest, StartKeyEpochRequest__Output as _kpfl_v1_StartKeyEpochRequest__Output } from '../../kpfl/v1/StartKeyEpochRequest.js';
import type { SubmitUpdateMessage as _kpfl_v1_SubmitUpdateMessage, SubmitUpdateMessage__Output as _kpfl_v1_SubmitUpdateMessage__Output } from '../../kpfl/v1/SubmitUpdateMessage.js';
import type { Task as _kpfl_v1_Task, Task__Output as _kpfl_v1_Task__Output } from '../../kpfl/v1/Task.js';
import type { UnmaskAnnouncement as _kpfl_v1_UnmaskAnnouncement, UnmaskAnnouncement__Output as _kpfl_v1_UnmaskAnnouncement__Output } from '../../kpfl/v1/UnmaskAnnouncement.js';

export interface AggregatorClient extends grpc.Client {
  AdvertiseMaskKeys(argument: _kpfl_v1_AdvertiseMaskKeysRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AdvertiseMaskKeysResponse__Output>): grpc.ClientUnaryCall;
  AdvertiseMaskKeys(argument: _kpfl_v1_AdvertiseMaskKeysRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_AdvertiseMaskKeysResponse__Output>): grpc.ClientUnaryCall;
  AdvertiseMaskKeys(argument: _kpfl_v1_AdvertiseMaskKeysRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AdvertiseMaskKeysResponse__Output>): grpc.ClientUnaryCall;
  AdvertiseMaskKeys(argument: _kpfl_v1_AdvertiseMaskKeysRequest, callback: grpc.requestCallback<_kpfl_v1_AdvertiseMaskKeysResponse__Output>): grpc.ClientUnaryCall;
  advertiseMaskKeys(argument: _kpfl_v1_AdvertiseMaskKeysRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AdvertiseMaskKeysResponse__Output>): grpc.ClientUnaryCall;
  advertiseMaskKeys(argument: _kpfl_v1_AdvertiseMaskKeysRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_AdvertiseMaskKeysResponse__Output>): grpc.ClientUnaryCall;
  advertiseMaskKeys(argument: _kpfl_v1_AdvertiseMaskKeysRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AdvertiseMaskKeysResponse__Output>): grpc.ClientUnaryCall;
  advertiseMaskKeys(argument: _kpfl_v1_AdvertiseMaskKeysRequest, callback: grpc.requestCallback<_kpfl_v1_AdvertiseMaskKeysResponse__Output>): grpc.ClientUnaryCall;
  
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
  
  GetMaskAdvertisements(argument: _kpfl_v1_GetMaskAdvertisementsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_MaskAdvertisements__Output>): grpc.ClientUnaryCall;
  GetMaskAdvertisements(argument: _kpfl_v1_GetMaskAdvertisementsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_MaskAdvertisements__Output>): grpc.ClientUnaryCall;
  GetMaskAdvertisements(argument: _kpfl_v1_GetMaskAdvertisementsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_MaskAdvertisements__Output>): grpc.ClientUnaryCall;
  GetMaskAdvertisements(argument: _kpfl_v1_GetMaskAdvertisementsRequest, callback: grpc.requestCallback<_kpfl_v1_MaskAdvertisements__Output>): grpc.ClientUnaryCall;
  getMaskAdvertisements(argument: _kpfl_v1_GetMaskAdvertisementsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_MaskAdvertisements__Output>): grpc.ClientUnaryCall;
  getMaskAdvertisements(argument: _kpfl_v1_GetMaskAdvertisementsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_MaskAdvertisements__Output>): grpc.ClientUnaryCall;
  getMaskAdvertisements(argument: _kpfl_v1_GetMaskAdvertisementsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_MaskAdvertisements__Output>): grpc.ClientUnaryCall;
  getMaskAdvertisements(argument: _kpfl_v1_GetMaskAdvertisementsRequest, callback: grpc.requestCallback<_kpfl_v1_MaskAdvertisements__Output>): grpc.ClientUnaryCall;
  
  GetRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  GetRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  GetRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  GetRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  getRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  getRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  getRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  getRoundCertificate(argument: _kpfl_v1_GetRoundCertificateRequest, callback: grpc.requestCallback<_kpfl_v1_RoundCertificate__Output>): grpc.ClientUnaryCall;
  
  GetShareEnvelopes(argument: _kpfl_v1_GetShareEnvelopesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ShareEnvelopes__Output>): grpc.ClientUnaryCall;
  GetShareEnvelopes(argument: _kpfl_v1_GetShareEnvelopesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_ShareEnvelopes__Output>): grpc.ClientUnaryCall;
  GetShareEnvelopes(argument: _kpfl_v1_GetShareEnvelopesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ShareEnvelopes__Output>): grpc.ClientUnaryCall;
  GetShareEnvelopes(argument: _kpfl_v1_GetShareEnvelopesRequest, callback: grpc.requestCallback<_kpfl_v1_ShareEnvelopes__Output>): grpc.ClientUnaryCall;
  getShareEnvelopes(argument: _kpfl_v1_GetShareEnvelopesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ShareEnvelopes__Output>): grpc.ClientUnaryCall;
  getShareEnvelopes(argument: _kpfl_v1_GetShareEnvelopesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_ShareEnvelopes__Output>): grpc.ClientUnaryCall;
  getShareEnvelopes(argument: _kpfl_v1_GetShareEnvelopesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ShareEnvelopes__Output>): grpc.ClientUnaryCall;
  getShareEnvelopes(argument: _kpfl_v1_GetShareEnvelopesRequest, callback: grpc.requestCallback<_kpfl_v1_ShareEnvelopes__Output>): grpc.ClientUnaryCall;
  
  GetTask(argument: _kpfl_v1_GetTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  GetTask(argument: _kpfl_v1_GetTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  GetTask(argument: _kpfl_v1_GetTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  GetTask(argument: _kpfl_v1_GetTaskRequest, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  getTask(argument: _kpfl_v1_GetTaskRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  getTask(argument: _kpfl_v1_GetTaskRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  getTask(argument: _kpfl_v1_GetTaskRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  getTask(argument: _kpfl_v1_GetTaskRequest, callback: grpc.requestCallback<_kpfl_v1_Task__Output>): grpc.ClientUnaryCall;
  
  GetUnmaskAnnouncement(argument: _kpfl_v1_GetUnmaskAnnouncementRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_UnmaskAnnouncement__Output>): grpc.ClientUnaryCall;
  GetUnmaskAnnouncement(argument: _kpfl_v1_GetUnmaskAnnouncementRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_UnmaskAnnouncement__Output>): grpc.ClientUnaryCall;
  GetUnmaskAnnouncement(argument: _kpfl_v1_GetUnmaskAnnouncementRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_UnmaskAnnouncement__Output>): grpc.ClientUnaryCall;
  GetUnmaskAnnouncement(argument: _kpfl_v1_GetUnmaskAnnouncementRequest, callback: grpc.requestCallback<_kpfl_v1_UnmaskAnnouncement__Output>): grpc.ClientUnaryCall;
  getUnmaskAnnouncement(argument: _kpfl_v1_GetUnmaskAnnouncementRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_UnmaskAnnouncement__Output>): grpc.ClientUnaryCall;
  getUnmaskAnnouncement(argument: _kpfl_v1_GetUnmaskAnnouncementRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_UnmaskAnnouncement__Output>): grpc.ClientUnaryCall;
  getUnmaskAnnouncement(argument: _kpfl_v1_GetUnmaskAnnouncementRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_UnmaskAnnouncement__Output>): grpc.ClientUnaryCall;
  getUnmaskAnnouncement(argument: _kpfl_v1_GetUnmaskAnnouncementRequest, callback: grpc.requestCallback<_kpfl_v1_UnmaskAnnouncement__Output>): grpc.ClientUnaryCall;
  
  PutKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  PutKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  PutKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  PutKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  putKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  putKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  putKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  putKeyEnvelopes(argument: _kpfl_v1_PutKeyEnvelopesRequest, callback: grpc.requestCallback<_kpfl_v1_PutKeyEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  
  PutShareEnvelopes(argument: _kpfl_v1_PutShareEnvelopesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutShareEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  PutShareEnvelopes(argument: _kpfl_v1_PutShareEnvelopesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_PutShareEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  PutShareEnvelopes(argument: _kpfl_v1_PutShareEnvelopesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutShareEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  PutShareEnvelopes(argument: _kpfl_v1_PutShareEnvelopesRequest, callback: grpc.requestCallback<_kpfl_v1_PutShareEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  putShareEnvelopes(argument: _kpfl_v1_PutShareEnvelopesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutShareEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  putShareEnvelopes(argument: _kpfl_v1_PutShareEnvelopesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_PutShareEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  putShareEnvelopes(argument: _kpfl_v1_PutShareEnvelopesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutShareEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  putShareEnvelopes(argument: _kpfl_v1_PutShareEnvelopesRequest, callback: grpc.requestCallback<_kpfl_v1_PutShareEnvelopesResponse__Output>): grpc.ClientUnaryCall;
  
  PutUnmaskResponse(argument: _kpfl_v1_PutUnmaskResponseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutUnmaskResponseResponse__Output>): grpc.ClientUnaryCall;
  PutUnmaskResponse(argument: _kpfl_v1_PutUnmaskResponseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_PutUnmaskResponseResponse__Output>): grpc.ClientUnaryCall;
  PutUnmaskResponse(argument: _kpfl_v1_PutUnmaskResponseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutUnmaskResponseResponse__Output>): grpc.ClientUnaryCall;
  PutUnmaskResponse(argument: _kpfl_v1_PutUnmaskResponseRequest, callback: grpc.requestCallback<_kpfl_v1_PutUnmaskResponseResponse__Output>): grpc.ClientUnaryCall;
  putUnmaskResponse(argument: _kpfl_v1_PutUnmaskResponseRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutUnmaskResponseResponse__Output>): grpc.ClientUnaryCall;
  putUnmaskResponse(argument: _kpfl_v1_PutUnmaskResponseRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_PutUnmaskResponseResponse__Output>): grpc.ClientUnaryCall;
  putUnmaskResponse(argument: _kpfl_v1_PutUnmaskResponseRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_PutUnmaskResponseResponse__Output>): grpc.ClientUnaryCall;
  putUnmaskResponse(argument: _kpfl_v1_PutUnmaskResponseRequest, callback: grpc.requestCallback<_kpfl_v1_PutUnmaskResponseResponse__Output>): grpc.ClientUnaryCall;
  
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
  
  ReportSecureRefusal(argument: _kpfl_v1_ReportSecureRefusalRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ReportSecureRefusalResponse__Output>): grpc.ClientUnaryCall;
  ReportSecureRefusal(argument: _kpfl_v1_ReportSecureRefusalRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_ReportSecureRefusalResponse__Output>): grpc.ClientUnaryCall;
  ReportSecureRefusal(argument: _kpfl_v1_ReportSecureRefusalRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ReportSecureRefusalResponse__Output>): grpc.ClientUnaryCall;
  ReportSecureRefusal(argument: _kpfl_v1_ReportSecureRefusalRequest, callback: grpc.requestCallback<_kpfl_v1_ReportSecureRefusalResponse__Output>): grpc.ClientUnaryCall;
  reportSecureRefusal(argument: _kpfl_v1_ReportSecureRefusalRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ReportSecureRefusalResponse__Output>): grpc.ClientUnaryCall;
  reportSecureRefusal(argument: _kpfl_v1_ReportSecureRefusalRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_ReportSecureRefusalResponse__Output>): grpc.ClientUnaryCall;
  reportSecureRefusal(argument: _kpfl_v1_ReportSecureRefusalRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_ReportSecureRefusalResponse__Output>): grpc.ClientUnaryCall;
  reportSecureRefusal(argument: _kpfl_v1_ReportSecureRefusalRequest, callback: grpc.requestCallback<_kpfl_v1_ReportSecureRefusalResponse__Output>): grpc.ClientUnaryCall;
  
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
  AdvertiseMaskKeys: grpc.handleUnaryCall<_kpfl_v1_AdvertiseMaskKeysRequest__Output, _kpfl_v1_AdvertiseMaskKeysResponse>;
  
  Authenticate: grpc.handleUnaryCall<_kpfl_v1_AuthenticateRequest__Output, _kpfl_v1_AuthenticateResponse>;
  
  CountersignRoundCertificate: grpc.handleUnaryCall<_kpfl_v1_CountersignRequest__Output, _kpfl_v1_RoundCertificate>;
  
  DownloadAggregate: grpc.handleServerStreamingCall<_kpfl_v1_DownloadAggregateRequest__Output, _kpfl_v1_AggregateChunk>;
  
  GetChallenge: grpc.handleUnaryCall<_kpfl_v1_GetChallengeRequest__Output, _kpfl_v1_GetChallengeResponse>;
  
  GetKeyEnvelope: grpc.handleUnaryCall<_kpfl_v1_GetKeyEnvelopeRequest__Output, _kpfl_v1_KeyEnvelope>;
  
  GetKeyEpoch: grpc.handleUnaryCall<_kpfl_v1_GetKeyEpochRequest__Output, _kpfl_v1_KeyEpoch>;
  
  GetKeyRecipients: grpc.handleUnaryCall<_kpfl_v1_GetKeyRecipientsRequest__Output, _kpfl_v1_KeyRecipients>;
  
  GetMaskAdvertisements: grpc.handleUnaryCall<_kpfl_v1_GetMaskAdvertisementsRequest__Output, _kpfl_v1_MaskAdvertisements>;
  
  GetRoundCertificate: grpc.handleUnaryCall<_kpfl_v1_GetRoundCertificateRequest__Output, _kpfl_v1_RoundCertificate>;
  
  GetShareEnvelopes: grpc.handleUnaryCall<_kpfl_v1_GetShareEnvelopesRequest__Output, _kpfl_v1_ShareEnvelopes>;
  
  GetTask: grpc.handleUnaryCall<_kpfl_v1_GetTaskRequest__Output, _kpfl_v1_Task>;
  
  GetUnmaskAnnouncement: grpc.handleUnaryCall<_kpfl_v1_GetUnmaskAnnouncementRequest__Output, _kpfl_v1_UnmaskAnnouncement>;
  
  PutKeyEnvelopes: grpc.handleUnaryCall<_kpfl_v1_PutKeyEnvelopesRequest__Output, _kpfl_v1_PutKeyEnvelopesResponse>;
  
  PutShareEnvelopes: grpc.handleUnaryCall<_kpfl_v1_PutShareEnvelopesRequest__Output, _kpfl_v1_PutShareEnvelopesResponse>;
  
  PutUnmaskResponse: grpc.handleUnaryCall<_kpfl_v1_PutUnmaskResponseRequest__Output, _kpfl_v1_PutUnmaskResponseResponse>;
  
  ReportEvaluation: grpc.handleUnaryCall<_kpfl_v1_ReportEvaluationRequest__Output, _kpfl_v1_ReportEvaluationResponse>;
  
  ReportKeyEnvelope: grpc.handleUnaryCall<_kpfl_v1_ReportKeyEnvelopeRequest__Output, _kpfl_v1_ReportKeyEnvelopeResponse>;
  
  ReportSecureRefusal: grpc.handleUnaryCall<_kpfl_v1_ReportSecureRefusalRequest__Output, _kpfl_v1_ReportSecureRefusalResponse>;
  
  StartKeyEpoch: grpc.handleUnaryCall<_kpfl_v1_StartKeyEpochRequest__Output, _kpfl_v1_KeyEpoch>;
  
  SubmitUpdate: grpc.handleClientStreamingCall<_kpfl_v1_SubmitUpdateMessage__Output, _kpfl_v1_Receipt>;
  
}

export interface AggregatorDefinition extends grpc.ServiceDefinition {
  AdvertiseMaskKeys: MethodDefinition<_kpfl_v1_AdvertiseMaskKeysRequest, _kpfl_v1_AdvertiseMaskKeysResponse, _kpfl_v1_AdvertiseMaskKeysRequest__Output, _kpfl_v1_AdvertiseMaskKeysResponse__Output>
  Authenticate: MethodDefinition<_kpfl_v1_AuthenticateRequest, _kpfl_v1_AuthenticateResponse, _kpfl_v1_AuthenticateRequest__Output, _kpfl_v1_AuthenticateResponse__Output>
  CountersignRoundCertificate: MethodDefinition<_kpfl_v1_CountersignRequest, _kpfl_v1_RoundCertificate, _kpfl_v1_CountersignRequest__Output, _kpfl_v1_RoundCertificate__Output>
  DownloadAggregate: MethodDefinition<_kpfl_v1_DownloadAggregateRequest, _kpfl_v1_AggregateChunk, _kpfl_v1_DownloadAggregateRequest__Output, _kpfl_v1_AggregateChunk__Output>
  GetChallenge: MethodDefinition<_kpfl_v1_GetChallengeRequest, _kpfl_v1_GetChallengeResponse, _kpfl_v1_GetChallengeRequest__Output, _kpfl_v1_GetChallengeResponse__Output>
  GetKeyEnvelope: MethodDefinition<_kpfl_v1_GetKeyEnvelopeRequest, _kpfl_v1_KeyEnvelope, _kpfl_v1_GetKeyEnvelopeRequest__Output, _kpfl_v1_KeyEnvelope__Output>
  GetKeyEpoch: MethodDefinition<_kpfl_v1_GetKeyEpochRequest, _kpfl_v1_KeyEpoch, _kpfl_v1_GetKeyEpochRequest__Output, _kpfl_v1_KeyEpoch__Output>
  GetKeyRecipients: MethodDefinition<_kpfl_v1_GetKeyRecipientsRequest, _kpfl_v1_KeyRecipients, _kpfl_v1_GetKeyRecipientsRequest__Output, _kpfl_v1_KeyRecipients__Output>
  GetMaskAdvertisements: MethodDefinition<_kpfl_v1_GetMaskAdvertisementsRequest, _kpfl_v1_MaskAdvertisements, _kpfl_v1_GetMaskAdvertisementsRequest__Output, _kpfl_v1_MaskAdvertisements__Output>
  GetRoundCertificate: MethodDefinition<_kpfl_v1_GetRoundCertificateRequest, _kpfl_v1_RoundCertificate, _kpfl_v1_GetRoundCertificateRequest__Output, _kpfl_v1_RoundCertificate__Output>
  GetShareEnvelopes: MethodDefinition<_kpfl_v1_GetShareEnvelopesRequest, _kpfl_v1_ShareEnvelopes, _kpfl_v1_GetShareEnvelopesRequest__Output, _kpfl_v1_ShareEnvelopes__Output>
  GetTask: MethodDefinition<_kpfl_v1_GetTaskRequest, _kpfl_v1_Task, _kpfl_v1_GetTaskRequest__Output, _kpfl_v1_Task__Output>
  GetUnmaskAnnouncement: MethodDefinition<_kpfl_v1_GetUnmaskAnnouncementRequest, _kpfl_v1_UnmaskAnnouncement, _kpfl_v1_GetUnmaskAnnouncementRequest__Output, _kpfl_v1_UnmaskAnnouncement__Output>
  PutKeyEnvelopes: MethodDefinition<_kpfl_v1_PutKeyEnvelopesRequest, _kpfl_v1_PutKeyEnvelopesResponse, _kpfl_v1_PutKeyEnvelopesRequest__Output, _kpfl_v1_PutKeyEnvelopesResponse__Output>
  PutShareEnvelopes: MethodDefinition<_kpfl_v1_PutShareEnvelopesRequest, _kpfl_v1_PutShareEnvelopesResponse, _kpfl_v1_PutShareEnvelopesRequest__Output, _kpfl_v1_PutShareEnvelopesResponse__Output>
  PutUnmaskResponse: MethodDefinition<_kpfl_v1_PutUnmaskResponseRequest, _kpfl_v1_PutUnmaskResponseResponse, _kpfl_v1_PutUnmaskResponseRequest__Output, _kpfl_v1_PutUnmaskResponseResponse__Output>
  ReportEvaluation: MethodDefinition<_kpfl_v1_ReportEvaluationRequest, _kpfl_v1_ReportEvaluationResponse, _kpfl_v1_ReportEvaluationRequest__Output, _kpfl_v1_ReportEvaluationResponse__Output>
  ReportKeyEnvelope: MethodDefinition<_kpfl_v1_ReportKeyEnvelopeRequest, _kpfl_v1_ReportKeyEnvelopeResponse, _kpfl_v1_ReportKeyEnvelopeRequest__Output, _kpfl_v1_ReportKeyEnvelopeResponse__Output>
  ReportSecureRefusal: MethodDefinition<_kpfl_v1_ReportSecureRefusalRequest, _kpfl_v1_ReportSecureRefusalResponse, _kpfl_v1_ReportSecureRefusalRequest__Output, _kpfl_v1_ReportSecureRefusalResponse__Output>
  StartKeyEpoch: MethodDefinition<_kpfl_v1_StartKeyEpochRequest, _kpfl_v1_KeyEpoch, _kpfl_v1_StartKeyEpochRequest__Output, _kpfl_v1_KeyEpoch__Output>
  SubmitUpdate: MethodDefinition<_kpfl_v1_SubmitUpdateMessage, _kpfl_v1_Receipt, _kpfl_v1_SubmitUpdateMessage__Output, _kpfl_v1_Receipt__Output>
}
