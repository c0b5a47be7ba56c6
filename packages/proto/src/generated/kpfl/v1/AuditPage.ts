// Original file: protos/kpfl/v1/audit.proto


export interface AuditPage {
  'rowsJson'?: (string);
  'nextCursor'?: (string);
}

export interface AuditPage__Output {
  'rowsJson': (string);
  'nextCursor': (string);
}
