export {
  type FederationMode,
  type LocalFederation,
  type LocalFederationOptions,
  type LocalPlan,
  type LocalRun,
  type ParticipantResult,
  startLocalFederation,
} from './local-federation.js';
export { deleteRedisPrefix } from './redis-prefix.js';
