export { EXIT_CODES, type ExitCode, isKpflError, KpflError } from './errors.js';
