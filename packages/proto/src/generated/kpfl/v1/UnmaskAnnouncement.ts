// Original file: protos/kpfl/v1/aggregator.proto


export interface UnmaskAnnouncement {
  'round'?: (number);
  'announcement'?: (string);
}

export interface UnmaskAnnouncement__Output {
  'round': (number);
  'announcement': (string);
}
