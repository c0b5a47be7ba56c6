export { federationJwks } from './certificates.js';
export { RpcError, toServiceError } from './errors.js';
export { createLogger, type Logger } from './logger.js';
export { Metrics } from './metrics.js';
export { type PlanRequest, schedulePlan } from './plans.js';
export { RoundEngine } from './round-engine.js';
export { sampleParticipants } from './sampling.js';
export { checkRedis, DEFAULT_REDIS_URL, RoundQueue, redisConnection } from './scheduler.js';
export * from './server.js';
