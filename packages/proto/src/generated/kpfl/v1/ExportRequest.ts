// Original file: protos/kpfl/v1/audit.proto


export interface ExportRequest {
}

export interface ExportRequest__Output {
}
