// Original file: protos/kpfl/v1/aggregator.proto


export interface ReportKeyEnvelopeResponse {
}

export interface ReportKeyEnvelopeResponse__Output {
}
