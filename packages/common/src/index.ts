export { clip, MAX_ECHO_CHARS } from './bounded.js';
export { EXIT_CODES, type ExitCode, isKpflError, KpflError } from './errors.js';
