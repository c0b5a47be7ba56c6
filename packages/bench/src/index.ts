/**
 * @kpfl/bench: the benchmark suites behind `kpfl bench` — he (CKKS codec vs the reference parameters),
 * convergence (FedAvg on MNIST against the FedAvg paper), overhead (one round: plain vs he vs local
 * training, split by stage, bytes on the wire) and scale (10 / 100 / 1,000 simulated participants against
 * an aggregator process), secure (mode secure vs he vs plain: bytes, round time, mask-and-share and
 * unmask cost at 10 / 100 / 1,000 simulated members, accuracy), streams (the aggregator's memory under
 * many slow SubmitUpdate streams) — and the accuracy-per-round HTML report.
 */
export {
  type ConvergenceOptions,
  type ConvergenceResult,
  type ConvergenceRun,
  type ConvergenceSetting,
  type CurvePoint,
  formatConvergence,
  PAPER_SETTINGS,
  runConvergence,
  SIMULATION_NOTE,
  settingName,
} from './convergence.js';
export type { BenchEnv, MemberKitLike } from './env.js';
export { formatHeSuite, type HeSuiteOptions, type HeSuiteResult, runHeSuite } from './he.js';
export {
  formatOverhead,
  type OverheadMode,
  type OverheadModeSummary,
  type OverheadOptions,
  type OverheadResult,
  type OverheadRound,
  runOverhead,
  STAGES,
  type StageTimes,
} from './overhead.js';
export { FEDAVG_PAPER, type PaperReference, paperReference } from './paper.js';
export { CountingProxy } from './proxy.js';
export {
  type AccuracyPoint,
  type AccuracyReportOptions,
  type AccuracySeries,
  accuracyChartSvg,
  accuracyReportHtml,
  writeAccuracyReport,
} from './report.js';
export {
  formatScale,
  runScale,
  type ScaleDbFigures,
  type ScaleOptions,
  type ScaleResult,
  type ScaleRun,
} from './scale.js';
export {
  type DemoMode,
  formatSecure,
  measureMasks,
  measureUnmask,
  runSecureSuite,
  SECURE_ANCHORS,
  SECURE_PARTS,
  type SecureAccuracy,
  type SecureBytesRow,
  type SecureDemoOutcome,
  type SecureDemoRequest,
  type SecureDemoRunner,
  type SecureMaskRow,
  type SecurePart,
  type SecureRoundRun,
  type SecureSuiteEnv,
  type SecureSuiteOptions,
  type SecureSuiteResult,
  type SecureUnmaskRow,
  type UnmaskedSum,
} from './secure.js';
export {
  formatStreams,
  runStreams,
  type StreamsOptions,
  type StreamsResult,
  type StreamsRun,
} from './streams.js';
export { formatTable, type MachineInfo, machineInfo, procMemory } from './util.js';
