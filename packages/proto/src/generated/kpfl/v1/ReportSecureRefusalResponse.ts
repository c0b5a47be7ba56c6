// Original file: protos/kpfl/v1/aggregator.proto


export interface ReportSecureRefusalResponse {
}

export interface ReportSecureRefusalResponse__Output {
}
