import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one aggregator process, on its own registry (no global state between tests). */
export class Metrics {
  readonly registry = new Registry();
  private readonly rounds = new Counter({
    name: 'kpfl_round_transitions_total',
    help: 'Round state transitions, by the state entered',
    labelNames: ['state'],
    registers: [this.registry],
  });
  private readonly submissions = new Counter({
    name: 'kpfl_submissions_total',
    help: 'Update submissions, by outcome and refusal reason',
    labelNames: ['outcome', 'reason'],
    registers: [this.registry],
  });
  private readonly bytes = new Counter({
    name: 'kpfl_received_bytes_total',
    help: 'Update payload bytes received',
    registers: [this.registry],
  });
  private readonly aggregation = new Histogram({
    name: 'kpfl_aggregation_seconds',
    help: 'Time to settle and publish a round aggregate',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly roundsByState = new Gauge({
    name: 'kpfl_rounds',
    help: 'Rounds in Postgres, by state',
    labelNames: ['state'],
    registers: [this.registry],
  });
  private readonly refusals = new Counter({
    name: 'kpfl_refusals_total',
    help: 'Refused RPCs of every service, by method and reason',
    labelNames: ['rpc', 'reason'],
    registers: [this.registry],
  });
  /** Bytes reserved by SubmitUpdate streams still arriving (at most the budget). */
  readonly inflightBytes = new Gauge({
    name: 'kpfl_submission_inflight_bytes',
    help: 'Update bytes reserved by SubmitUpdate streams still arriving',
    registers: [this.registry],
  });
  readonly inflightBudget = new Gauge({
    name: 'kpfl_submission_inflight_budget_bytes',
    help: 'The most update bytes SubmitUpdate streams may hold at once (--max-inflight-mib)',
    registers: [this.registry],
  });
  readonly submitStreams = new Gauge({
    name: 'kpfl_submission_streams',
    help: 'SubmitUpdate streams open (one per member at most)',
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'kpfl_queue_jobs',
    help: 'Round jobs in the BullMQ queue, by state',
    labelNames: ['state'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'kpfl_process_' });
  }

  roundTransition(state: string): void {
    this.rounds.inc({ state });
  }
  submission(outcome: 'accepted' | 'refused', reason = ''): void {
    this.submissions.inc({ outcome, reason });
  }
  refusal(rpc: string, reason: string): void {
    this.refusals.inc({ rpc, reason });
  }
  received(bytes: number): void {
    this.bytes.inc(bytes);
  }
  aggregationSeconds(s: number): void {
    this.aggregation.observe(s);
  }
}
