/**
 * The one vocabulary of roles and capabilities: the coordinator issues session tokens with
 * `capabilitiesOf(roles)`, and every authorization check names a `Capability`. The strings are on the
 * wire (tokens in flight carry them): never rename one, only add.
 */

export const ROLES = ['participant', 'operator', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const CAPABILITIES = Object.freeze({
  /** GetTask: what the member should do now. */
  readTask: 'task:read',
  /** DownloadAggregate, GetRoundCertificate: read published rounds. */
  downloadModel: 'model:download',
  /** SubmitUpdate: contribute to the round the token is bound to. */
  submitRound: 'submit:round',
  /** ReportEvaluation: report the global model's digest and accuracy. */
  reportEvaluation: 'evaluation:report',
  /** CountersignRoundCertificate: add the member's signature to a round certificate. */
  signCertificate: 'certificate:sign',
  /** The kpfl.v1.Audit service: read-only audit queries and export. */
  readAudit: 'audit:read',
  /** GetKeyEpoch, GetKeyRecipients, GetKeyEnvelope: read the HE key epoch and one's own envelope. */
  readKey: 'key:read',
  /** PutKeyEnvelopes: deliver the consortium HE key of an epoch to other members, as JWEs. */
  deliverKey: 'key:deliver',
  /**
   * Secure rounds' key-exchange steps: advertise round keys, relay shares, read the unmask
   * announcement, respond to it.
   */
  secureStep: 'secagg:step',
  /** Schedule and cancel training plans. */
  writePlan: 'plan:write',
} as const);

export type Capability = (typeof CAPABILITIES)[keyof typeof CAPABILITIES];

/** What each role may do: the session token of a member with these roles carries exactly these. */
export const ROLE_CAPABILITIES: Readonly<Record<Role, readonly Capability[]>> = Object.freeze({
  participant: Object.freeze([
    CAPABILITIES.readTask,
    CAPABILITIES.downloadModel,
    CAPABILITIES.submitRound,
    CAPABILITIES.reportEvaluation,
    CAPABILITIES.signCertificate,
    CAPABILITIES.readKey,
    CAPABILITIES.deliverKey,
    CAPABILITIES.secureStep,
  ]),
  auditor: Object.freeze([CAPABILITIES.readAudit]),
  operator: Object.freeze([CAPABILITIES.writePlan, CAPABILITIES.readAudit]),
});

function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** The capabilities granted by these roles, each once, in vocabulary order; unknown roles grant nothing. */
export function capabilitiesOf(roles: readonly string[]): Capability[] {
  const granted = new Set(roles.filter(isRole).flatMap((r) => ROLE_CAPABILITIES[r]));
  return Object.values(CAPABILITIES).filter((c) => granted.has(c));
}
