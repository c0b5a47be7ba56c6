import pino from 'pino';

export type Logger = pino.Logger;

/**
 * One JSON line per event. Services log to stderr (stdout is left to the CLI's human output);
 * the demo sends each process's log to a file instead.
 */
export function createLogger(name: string, opts: { level?: string; file?: string } = {}): Logger {
  const level = opts.level ?? 'info';
  const dest = opts.file
    ? pino.destination({ dest: opts.file, sync: false, mkdir: true })
    : pino.destination(2);
  return pino({ name, level, base: { svc: name } }, dest);
}
