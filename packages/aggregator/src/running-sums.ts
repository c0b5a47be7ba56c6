import { createAccumulator, type SumAccumulator, validateUpdate } from '@kpfl/he';
import { type Db, listContributions, loadContributionChunks, type PlanRow } from '@kpfl/store';

interface RunningSum {
  acc: SumAccumulator;
  folded: Set<number>;
  /** Set when a fold may not match what was committed: the sum is rebuilt from Postgres at close. */
  dirty: boolean;
}

/**
 * The running encrypted sum of each open round, keyed by plan and round. Updated as contributions
 * arrive, so memory holds one sum per round, not one update per participant. The sum is a cache:
 * Postgres holds every accepted payload until publication, so a restarted aggregator (or another
 * worker process) rebuilds exactly the same sum by folding the stored payloads one at a time.
 */
export class RunningSums {
  private readonly sums = new Map<string, RunningSum>();

  /**
   * @param foldOnAccept false in a front end whose aggregation runs in separate worker processes:
   *   it only validates incoming updates, the worker folds them from Postgres at close.
   */
  constructor(private readonly foldOnAccept = true) {}

  async fold(plan: PlanRow, round: number, contributionId: number, chunks: Uint8Array[]): Promise<void> {
    if (!this.foldOnAccept) {
      await validateUpdate(chunks, {
        mode: plan.mode,
        paramsName: plan.he_params,
        chunkCount: plan.chunk_count,
      });
      return;
    }
    const sum = await this.get(plan, round);
    await sum.acc.add(chunks);
    sum.folded.add(contributionId);
  }

  /** Called when a fold happened but the transaction that stored the contribution did not commit. */
  markDirty(planId: string, round: number): void {
    const sum = this.sums.get(key(planId, round));
    if (sum) sum.dirty = true;
  }

  /** The sum over exactly the accepted contributions in Postgres, folding any this process has not seen. */
  async settle(
    db: Db,
    plan: PlanRow,
    round: number,
  ): Promise<{ chunks: Uint8Array[]; contributions: number }> {
    const accepted = await listContributions(db, plan.id, round);
    const acceptedIds = new Set(accepted.map((c) => c.id));
    let sum = this.sums.get(key(plan.id, round));
    if (sum && (sum.dirty || [...sum.folded].some((id) => !acceptedIds.has(id)))) {
      this.drop(plan.id, round);
      sum = undefined;
    }
    const current = sum ?? (await this.get(plan, round));
    for (const c of accepted) {
      if (current.folded.has(c.id)) continue;
      await current.acc.add(await loadContributionChunks(db, c.id));
      current.folded.add(c.id);
    }
    return { chunks: current.acc.result(), contributions: accepted.length };
  }

  drop(planId: string, round: number): void {
    const k = key(planId, round);
    this.sums.get(k)?.acc.dispose();
    this.sums.delete(k);
  }

  dropAll(): void {
    for (const sum of this.sums.values()) sum.acc.dispose();
    this.sums.clear();
  }

  private async get(plan: PlanRow, round: number): Promise<RunningSum> {
    const k = key(plan.id, round);
    let sum = this.sums.get(k);
    if (!sum) {
      const acc = await createAccumulator({
        mode: plan.mode,
        paramsName: plan.he_params,
        chunkCount: plan.chunk_count,
      });
      sum = { acc, folded: new Set(), dirty: false };
      this.sums.set(k, sum);
    }
    return sum;
  }
}

const key = (planId: string, round: number) => `${planId}#${round}`;
