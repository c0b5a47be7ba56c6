// Original file: protos/kpfl/v1/audit.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AuditPage as _kpfl_v1_AuditPage, AuditPage__Output as _kpfl_v1_AuditPage__Output } from '../../kpfl/v1/AuditPage.js';
import type { AuditQuery as _kpfl_v1_AuditQuery, AuditQuery__Output as _kpfl_v1_AuditQuery__Output } from '../../kpfl/v1/AuditQuery.js';
import type { ExportChunk as _kpfl_v1_ExportChunk, ExportChunk__Output as _kpfl_v1_ExportChunk__Output } from '../../kpfl/v1/ExportChunk.js';
import type { ExportRequest as _kpfl_v1_ExportRequest, ExportRequest__Output as _kpfl_v1_ExportRequest__Output } from '../../kpfl/v1/ExportRequest.js';

export interface AuditClient extends grpc.Client {
  Export(argument: _kpfl_v1_ExportRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kpfl_v1_ExportChunk__Output>;
  Export(argument: _kpfl_v1_ExportRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kpfl_v1_ExportChunk__Output>;
  export(argument: _kpfl_v1_ExportRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_kpfl_v1_ExportChunk__Output>;
  export(argument: _kpfl_v1_ExportRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_kpfl_v1_ExportChunk__Output>;
  
  ListContributions(argument: _kpfl_v1_AuditQuery, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  ListContributions(argument: _kpfl_v1_AuditQuery, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  ListContributions(argument: _kpfl_v1_AuditQuery, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  ListContributions(argument: _kpfl_v1_AuditQuery, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  listContributions(argument: _kpfl_v1_AuditQuery, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  listContributions(argument: _kpfl_v1_AuditQuery, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  listContributions(argument: _kpfl_v1_AuditQuery, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  listContributions(argument: _kpfl_v1_AuditQuery, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  
  ListRounds(argument: _kpfl_v1_AuditQuery, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  ListRounds(argument: _kpfl_v1_AuditQuery, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  ListRounds(argument: _kpfl_v1_AuditQuery, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  ListRounds(argument: _kpfl_v1_AuditQuery, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  listRounds(argument: _kpfl_v1_AuditQuery, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  listRounds(argument: _kpfl_v1_AuditQuery, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  listRounds(argument: _kpfl_v1_AuditQuery, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  listRounds(argument: _kpfl_v1_AuditQuery, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  
  QueryLog(argument: _kpfl_v1_AuditQuery, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  QueryLog(argument: _kpfl_v1_AuditQuery, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  QueryLog(argument: _kpfl_v1_AuditQuery, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  QueryLog(argument: _kpfl_v1_AuditQuery, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  queryLog(argument: _kpfl_v1_AuditQuery, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  queryLog(argument: _kpfl_v1_AuditQuery, metadata: grpc.Metadata, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  queryLog(argument: _kpfl_v1_AuditQuery, options: grpc.CallOptions, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  queryLog(argument: _kpfl_v1_AuditQuery, callback: grpc.requestCallback<_kpfl_v1_AuditPage__Output>): grpc.ClientUnaryCall;
  
}

export interface AuditHandlers extends grpc.UntypedServiceImplementation {
  Export: grpc.handleServerStreamingCall<_kpfl_v1_ExportRequest__Output, _kpfl_v1_ExportChunk>;
  
  ListContributions: grpc.handleUnaryCall<_kpfl_v1_AuditQuery__Output, _kpfl_v1_AuditPage>;
  
  ListRounds: grpc.handleUnaryCall<_kpfl_v1_AuditQuery__Output, _kpfl_v1_AuditPage>;
  
  QueryLog: grpc.handleUnaryCall<_kpfl_v1_AuditQuery__Output, _kpfl_v1_AuditPage>;
  
}

export interface AuditDefinition extends grpc.ServiceDefinition {
  Export: MethodDefinition<_kpfl_v1_ExportRequest, _kpfl_v1_ExportChunk, _kpfl_v1_ExportRequest__Output, _kpfl_v1_ExportChunk__Output>
  ListContributions: MethodDefinition<_kpfl_v1_AuditQuery, _kpfl_v1_AuditPage, _kpfl_v1_AuditQuery__Output, _kpfl_v1_AuditPage__Output>
  ListRounds: MethodDefinition<_kpfl_v1_AuditQuery, _kpfl_v1_AuditPage, _kpfl_v1_AuditQuery__Output, _kpfl_v1_AuditPage__Output>
  QueryLog: MethodDefinition<_kpfl_v1_AuditQuery, _kpfl_v1_AuditPage, _kpfl_v1_AuditQuery__Output, _kpfl_v1_AuditPage__Output>
}
