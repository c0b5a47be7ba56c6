export { federationJwks } from './certificates.js';
export { RpcError, toServiceError } from './errors.js';
export { type CoordinatorKitLike, coordinatorKitOf, kitOptions, startLocalAggregator } from './kit.js';
export {
  DEFAULT_MAX_INFLIGHT_MIB,
  DEFAULT_SESSIONS_PER_MINUTE,
  InflightBudget,
  SessionRateLimiter,
  StreamSlots,
} from './limits.js';
export { createLogger, type Logger } from './logger.js';
export { Metrics } from './metrics.js';
export { type PlanRequest, schedulePlan } from './plans.js';
export { reconcile } from './reconciler.js';
export { RoundEngine, type RoundEngineHooks } from './round-engine.js';
export { RETRY_AFTER_TRAILER } from './rpc.js';
export { RunningSums } from './running-sums.js';
export {
  checkRedis,
  DEFAULT_REDIS_URL,
  RoundQueue,
  redisConnection,
} from './scheduler.js';
export * from './server.js';
export { maxChunkBytes, maxUpdateBytes } from './submission.js';
