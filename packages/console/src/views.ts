import {
  type AuditVerdict,
  exportAudit,
  federationJwksFromDb,
  listContributions,
  listRoundsAudit,
  queryAuditLog,
  verifyAuditExport,
} from '@kpfl/audit';
import { digestOf, type JSONWebKeySet } from '@kpfl/kpt';
import {
  activePlan,
  auditHead,
  type Db,
  federationEvaluations,
  latestRound,
  listMembers,
  listPlans,
  roundBytes,
  roundPhaseEvents,
} from '@kpfl/store';

/**
 * What each page shows, read through the functions the rest of kpfl reads with: the Audit
 * service's views (@kpfl/audit) for rounds, contributions, the log and its verification, and the
 * store's read functions for the rest. Nothing here writes.
 */
export interface ViewContext {
  db: Db;
  federation: string;
  coordinatorJwks: JSONWebKeySet;
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

/** Members, plans, and the round in progress (live). */
export async function overview(c: ViewContext) {
  const [members, plans, plan, head] = await Promise.all([
    listMembers(c.db, c.federation),
    listPlans(c.db, c.federation),
    activePlan(c.db, c.federation),
    auditHead(c.db),
  ]);
  const r = plan ? await latestRound(c.db, plan.id) : undefined;
  return {
    federation: c.federation,
    head: head.seq,
    members: members.map((m) => ({
      id: m.id,
      roles: m.roles,
      status: m.status,
      lastSeenAt: iso(m.last_seen_at),
    })),
    plans: plans.map((p) => ({
      id: p.id,
      state: p.state,
      totalRounds: p.total_rounds,
      mode: p.mode,
      minParticipants: p.min_participants,
      fraction: p.fraction,
      deadlineSeconds: p.deadline_seconds,
      createdAt: iso(p.created_at),
      finishedAt: iso(p.finished_at),
    })),
    live: plan
      ? {
          planId: plan.id,
          planState: plan.state,
          totalRounds: plan.total_rounds,
          round: r?.round ?? 0,
          state: r?.state ?? null,
          accepted: r?.contributions ?? 0,
          sampled: r?.sampled.length ?? 0,
          openedAt: iso(r?.opened_at),
          deadlineAt: iso(r?.deadline_at),
        }
      : null,
  };
}

/**
 * Per round: the Audit service's round view, the time spent in each phase (from the round's
 * `round.*` audit events, so any phase the state machine logs is shown), and the accepted bytes.
 */
export async function rounds(c: ViewContext) {
  const [rows, events, bytes] = await Promise.all([
    listRoundsAudit(c.db, { federation: c.federation }),
    roundPhaseEvents(c.db, c.federation),
    roundBytes(c.db, c.federation),
  ]);
  const key = (p: string, r: number) => `${p}\u0000${r}`;
  const byRound = new Map<string, { event: string; at: string }[]>();
  for (const e of events) {
    const k = key(e.planId, e.round);
    byRound.set(k, [...(byRound.get(k) ?? []), { event: e.event, at: e.at }]);
  }
  const bytesOf = new Map(bytes.map((b) => [key(b.planId, b.round), b.bytes]));
  return rows.map((r) => {
    const evs = byRound.get(key(r.planId, r.round)) ?? [];
    const phases = evs.map((e, i) => {
      const next = evs[i + 1];
      return {
        phase: e.event.replace(/^round\./, ''),
        at: e.at,
        seconds: next ? (Date.parse(next.at) - Date.parse(e.at)) / 1000 : null,
      };
    });
    return {
      planId: r.planId,
      round: r.round,
      state: r.state,
      sampled: r.sampled,
      accepted: r.accepted,
      refused: r.refused,
      phases,
      bytes: bytesOf.get(key(r.planId, r.round)) ?? 0,
      certificateSigners: r.certificateSigners,
      aggregateDigest: r.aggregateDigest,
      failureReason: r.failureReason,
    };
  });
}

/**
 * Accuracy and loss per round from the participants' evaluation reports: per plan, the rounds
 * reported, one series per member (null where it did not report) and the example-weighted mean.
 * Reports over zero examples are left out.
 */
export async function evaluations(c: ViewContext) {
  // A report over no examples (what a participant sends for the initial model before it has
  // evaluated anything) measures nothing: it is not plotted.
  const reports = (await federationEvaluations(c.db, c.federation)).filter((r) => r.examples > 0);
  const plans = new Map<string, typeof reports>();
  for (const r of reports) plans.set(r.planId, [...(plans.get(r.planId) ?? []), r]);
  return [...plans].map(([planId, rows]) => {
    const roundsOf = [...new Set(rows.map((r) => r.round))].sort((a, b) => a - b);
    const members = [...new Set(rows.map((r) => r.member))].sort();
    const at = (m: string, round: number) => rows.find((r) => r.member === m && r.round === round);
    const mean = (field: 'accuracy' | 'loss') =>
      roundsOf.map((round) => {
        const rs = rows.filter((r) => r.round === round);
        const n = rs.reduce((s, r) => s + r.examples, 0);
        return n > 0 ? rs.reduce((s, r) => s + r[field] * r.examples, 0) / n : null;
      });
    return {
      planId,
      rounds: roundsOf,
      members: members.map((m) => ({
        member: m,
        accuracy: roundsOf.map((round) => at(m, round)?.accuracy ?? null),
        loss: roundsOf.map((round) => at(m, round)?.loss ?? null),
      })),
      mean: { accuracy: mean('accuracy'), loss: mean('loss') },
    };
  });
}

export interface ContributionQuery {
  round?: string;
  member?: string;
  status?: string;
  cursor?: string;
}

/** One page of contributions as the Audit service's ListContributions gives them, with each receipt's digest. */
export async function contributions(c: ViewContext, q: ContributionQuery) {
  const page = await listContributions(c.db, {
    federation: c.federation,
    round: q.round || undefined,
    member: q.member || undefined,
    status: (q.status || undefined) as 'accepted' | 'refused' | undefined,
    cursor: q.cursor || undefined,
    limit: 100,
  });
  return {
    ...page,
    rows: page.rows.map((r) => ({ ...r, receiptDigest: r.receipt ? digestOf(r.receipt) : null })),
  };
}

export interface AuditLogQuery {
  event?: string;
  member?: string;
  round?: string;
  afterSeq?: string;
}

/** One page of the audit log, as the Audit service's QueryLog gives it. */
export async function auditLog(c: ViewContext, q: AuditLogQuery) {
  return queryAuditLog(c.db, {
    federation: c.federation,
    event: (q.event || undefined) as never,
    member: q.member || undefined,
    round: q.round || undefined,
    afterSeq: q.afterSeq || undefined,
    limit: 50,
  });
}

export type VerifyStage = 'export' | 'verify' | 'done';
export type Progress = (p: { stage: VerifyStage; rows?: number; done?: boolean }) => void;

/**
 * `kpfl audit verify` over the database: the export an auditor would download, verified by
 * verifyAuditExport against the federation JWKS the Audit service publishes; `progress` is told
 * each stage.
 */
export async function verifyChain(c: ViewContext, progress: Progress = () => {}): Promise<AuditVerdict> {
  return (await exportAndVerify(c, progress)).verdict;
}

async function exportAndVerify(c: ViewContext, progress: Progress = () => {}) {
  progress({ stage: 'export' });
  const jwks = await federationJwksFromDb(c.db, c.federation, c.coordinatorJwks);
  const doc = await exportAudit(c.db, { federation: c.federation, jwks });
  progress({ stage: 'verify', rows: doc.log.length });
  const verdict = await verifyAuditExport(doc, { jwks });
  progress({ stage: 'done', rows: doc.log.length, done: true });
  return { doc, verdict };
}

/**
 * One contribution's verification: the whole `kpfl audit verify` run (a contribution is only as
 * good as the chain that records it), reporting the issues that name this contribution and the
 * chain's own.
 */
export async function verifyContribution(
  c: ViewContext,
  who: { planId: string; round: number; member: string },
) {
  const { doc, verdict: v } = await exportAndVerify(c);
  const found = doc.contributions.some(
    (x) => x.planId === who.planId && x.round === who.round && x.member === who.member,
  );
  const where = `contribution of ${who.member} to plan ${who.planId} round ${who.round}`;
  const mine = v.errors.filter((e) => e.where === where || e.reason.startsWith(where));
  const chain = v.errors.filter((e) => e.where === undefined && e.seq !== undefined);
  return {
    ...who,
    found,
    ok: found && mine.length === 0 && chain.length === 0,
    issues: [
      ...(found ? [] : [{ kind: 'missing', where, reason: `${where} is not in the export` }]),
      ...mine,
      ...chain,
    ].slice(0, 10),
    checked: v.checked,
  };
}
