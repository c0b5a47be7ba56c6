// Original file: protos/kpfl/v1/audit.proto


export interface AuditQuery {
  'planId'?: (string);
  'round'?: (number);
  'member'?: (string);
  'from'?: (string);
  'to'?: (string);
  'status'?: (string);
  'event'?: (string);
  'cursor'?: (string);
  'limit'?: (number);
}

export interface AuditQuery__Output {
  'planId': (string);
  'round': (number);
  'member': (string);
  'from': (string);
  'to': (string);
  'status': (string);
  'event': (string);
  'cursor': (string);
  'limit': (number);
}
