/**
 * @kpfl/audit — what auditors use: contribution and round views over the store, signed checkpoints
 * of the audit chain, a self-contained export and its offline verification, and output formatting
 * for `kpfl audit`. Knows nothing of gRPC.
 */
export {
  AUDIT_EVENTS,
  type AuditEntry,
  AuditError,
  type AuditErrorCode,
  type AuditEvent,
  type AuditPage,
  type AuditRow,
  appendAudit,
  auditHead,
  canonicalJson,
  computeAuditHash,
  GENESIS_HASH,
} from '@kpfl/store';
export { CHECKPOINT_TYP, type CheckpointPayload, signCheckpoint, verifyCheckpoint } from './checkpoint.js';
export {
  type AuditExport,
  EXPORT_FORMAT,
  EXPORT_VERSION,
  type ExportCertificate,
  type ExportContribution,
  type ExportRound,
  exportAudit,
  federationJwksFromDb,
} from './export.js';
export {
  type AuditLogFilter,
  auditLogFilterSchema,
  type ContributionFilter,
  contributionFilterSchema,
  parseFilter,
  type RoundFilter,
  roundFilterSchema,
} from './filters.js';
export {
  CONTRIBUTION_COLUMNS,
  type FormatOptions,
  formatRows,
  formatVerdict,
  OUTPUT_FORMATS,
  type OutputFormat,
  ROUND_COLUMNS,
} from './format.js';
export {
  type AuditIssue,
  type AuditIssueKind,
  type AuditVerdict,
  type VerifyOptions,
  verifyAuditDb,
  verifyAuditExport,
} from './verify.js';
export {
  type ContributionAuditRow,
  type ContributionPage,
  listContributions,
  listRoundsAudit,
  queryAuditLog,
  type RoundAuditRow,
} from './views.js';
