import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { AuditClient as _kpfl_v1_AuditClient, AuditDefinition as _kpfl_v1_AuditDefinition } from './kpfl/v1/Audit.js';
import type { AuditPage as _kpfl_v1_AuditPage, AuditPage__Output as _kpfl_v1_AuditPage__Output } from './kpfl/v1/AuditPage.js';
import type { AuditQuery as _kpfl_v1_AuditQuery, AuditQuery__Output as _kpfl_v1_AuditQuery__Output } from './kpfl/v1/AuditQuery.js';
import type { ExportChunk as _kpfl_v1_ExportChunk, ExportChunk__Output as _kpfl_v1_ExportChunk__Output } from './kpfl/v1/ExportChunk.js';
import type { ExportRequest as _kpfl_v1_ExportRequest, ExportRequest__Output as _kpfl_v1_ExportRequest__Output } from './kpfl/v1/ExportRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  kpfl: {
    v1: {
      Audit: SubtypeConstructor<typeof grpc.Client, _kpfl_v1_AuditClient> & { service: _kpfl_v1_AuditDefinition }
      AuditPage: MessageTypeDefinition<_kpfl_v1_AuditPage, _kpfl_v1_AuditPage__Output>
      AuditQuery: MessageTypeDefinition<_kpfl_v1_AuditQuery, _kpfl_v1_AuditQuery__Output>
      ExportChunk: MessageTypeDefinition<_kpfl_v1_ExportChunk, _kpfl_v1_ExportChunk__Output>
      ExportRequest: MessageTypeDefinition<_kpfl_v1_ExportRequest, _kpfl_v1_ExportRequest__Output>
    }
  }
}

