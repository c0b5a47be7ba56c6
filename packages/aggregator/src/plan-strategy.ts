import type { PlanRow } from '@kpfl/store';
import { type ServerStrategy, strategyFromSpec } from '@kpfl/strategy';

/**
 * The strategy a plan names (its training.serverOptimizer spec). Plans stored before the field
 * existed carry '', which has always meant FedAvg.
 */
export function planStrategy(plan: Pick<PlanRow, 'training'>): ServerStrategy {
  return strategyFromSpec(plan.training.serverOptimizer || 'fedavg');
}
