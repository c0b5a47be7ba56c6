// Original file: protos/kpfl/v1/aggregator.proto


export interface GetUnmaskAnnouncementRequest {
  'round'?: (number);
}

export interface GetUnmaskAnnouncementRequest__Output {
  'round': (number);
}
