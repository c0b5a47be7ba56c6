/**
 * @kpfl/console — the read-only web console of a federation for its operator and auditors: members,
 * rounds, accuracy, contributions (each verifiable), the audit log and its verification, metrics,
 * live over Server-Sent Events. Log-in proves a kit key over the gRPC Authenticate's challenge.
 */
export {
  COOKIE_NAME,
  type ConsoleRole,
  type ConsoleSession,
  consoleAudience,
  DEFAULT_SESSION_TTL_S,
  loginLink,
  OPERATOR_SUBJECT,
  proveKitKey,
} from './auth.js';
export { type Bundle, webBundle } from './bundle.js';
export { ConsoleError, type ConsoleErrorCode } from './errors.js';
export { type MetricFamily, type MetricsSummary, metricsFromUrl, parsePrometheusText } from './metrics.js';
export { type ConsoleOptions, isLoopback, type RunningConsole, startConsole } from './server.js';
