import { AT_SQL } from './audit.js';
import type { Queryable } from './db.js';

/**
 * Read models of the web console (@kpfl/console) that no other view gives: each round's life as
 * its audit events (phase timings, whatever phases the state machine has), bytes per round, and
 * the participants' evaluation reports. Read-only.
 */

/** One `round.*` audit event: a round entering a phase (or ending), with its time. */
export interface RoundPhaseEvent {
  planId: string;
  round: number;
  /** The event name, e.g. 'round.opened' (new phases of the state machine appear as they are logged). */
  event: string;
  /** UTC, six fraction digits, as the audit log renders it. */
  at: string;
  seq: number;
}

/** Every `round.*` event of a federation, in log order. */
export async function roundPhaseEvents(db: Queryable, federation: string): Promise<RoundPhaseEvent[]> {
  const { rows } = await db.query<RoundPhaseEvent & { seq: string }>(
    `SELECT plan_id AS "planId", round, event, ${AT_SQL} AS at, seq FROM audit_log
     WHERE federation = $1 AND event LIKE 'round.%' AND plan_id IS NOT NULL AND round IS NOT NULL
     ORDER BY seq`,
    [federation],
  );
  return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
}

/** Accepted update bytes per round of a federation. */
export async function roundBytes(
  db: Queryable,
  federation: string,
): Promise<{ planId: string; round: number; bytes: number }[]> {
  const { rows } = await db.query<{ planId: string; round: number; bytes: string }>(
    `SELECT c.plan_id AS "planId", c.round, sum(c.bytes) AS bytes
     FROM contributions c JOIN plans p ON p.id = c.plan_id
     WHERE p.federation = $1 GROUP BY c.plan_id, c.round ORDER BY c.plan_id, c.round`,
    [federation],
  );
  return rows.map((r) => ({ ...r, bytes: Number(r.bytes) }));
}

/** A participant's evaluation report of the model after a round (ReportEvaluation). */
export interface EvaluationReport {
  planId: string;
  round: number;
  member: string;
  accuracy: number;
  loss: number;
  examples: number;
}

/** Every evaluation report of a federation's plans, by plan, round and member. */
export async function federationEvaluations(db: Queryable, federation: string): Promise<EvaluationReport[]> {
  const { rows } = await db.query<EvaluationReport>(
    `SELECT e.plan_id AS "planId", e.round, e.member, e.accuracy, e.loss, e.examples
     FROM evaluations e JOIN plans p ON p.id = e.plan_id
     WHERE p.federation = $1 ORDER BY p.created_at, e.plan_id, e.round, e.member`,
    [federation],
  );
  return rows;
}
