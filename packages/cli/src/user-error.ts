/**
 * How the `kpfl` command reports what ends it.
 *
 * Anything that is a KpflError (every package's error classes extend it) is printed as one line,
 * `kpfl: <message>`, and the command exits with the error's exitCode (2 a mistake in the input, 3 a
 * service that did not answer). A connection failure from a driver (ECONNREFUSED from pg, ioredis
 * or a socket) becomes an UnavailableError first. Anything else is a bug: "unexpected error", the
 * stack, exit code 1. Nothing here looks at an error's name.
 */
import { EXIT_CODES, type ExitCode, KpflError } from '@kpfl/common';
import type { ZodError } from 'zod';

export type UserErrorCode = 'USAGE' | 'UNAVAILABLE' | 'FAILED';

const CODE_OF_EXIT: Record<ExitCode, UserErrorCode> = { 1: 'FAILED', 2: 'USAGE', 3: 'UNAVAILABLE' };

/** A mistake the user can fix (or an outcome the command reports): one line, its exit code (default 2). */
export class UserError extends KpflError<UserErrorCode> {
  override readonly name = 'UserError';
  constructor(message: string, exitCode: ExitCode = EXIT_CODES.usage, options?: { cause?: unknown }) {
    super(CODE_OF_EXIT[exitCode], message, { cause: options?.cause, exitCode });
  }
}

/** A service the command needs (Postgres, Redis, the aggregator) did not answer: exit code 3. */
export class UnavailableError extends KpflError<'UNAVAILABLE'> {
  override readonly name = 'UnavailableError';
  /** 'Postgres', 'Redis', 'the aggregator', or host:port when the service is not known. */
  readonly service: string;
  constructor(service: string, message: string, options?: { cause?: unknown }) {
    super('UNAVAILABLE', message, { cause: options?.cause, exitCode: EXIT_CODES.unavailable });
    this.service = service;
  }
}

/** Errors of a socket that could not reach its peer (Node system error codes). */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
]);
const WELL_KNOWN_PORTS: Record<number, string> = { 5432: 'Postgres', 6379: 'Redis' };

/**
 * A driver's connection failure (pg, ioredis and net throw Node system errors, or an AggregateError
 * of them when a name resolves to several addresses) as an UnavailableError naming the service.
 */
export function connectionFailure(err: unknown): UnavailableError | undefined {
  const e = err as { code?: unknown; address?: unknown; port?: unknown; errors?: unknown[] } | null;
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || !CONNECTION_CODES.has(e.code)) {
    return undefined;
  }
  const first = (Array.isArray(e.errors) ? e.errors[0] : e) as { address?: unknown; port?: unknown };
  const port = typeof first?.port === 'number' ? first.port : undefined;
  const where =
    typeof first?.address === 'string'
      ? `${first.address}${port !== undefined ? `:${port}` : ''}`
      : undefined;
  const service = (port !== undefined && WELL_KNOWN_PORTS[port]) || where || 'a service';
  const at = where && service !== where ? ` at ${where}` : '';
  return new UnavailableError(
    service,
    `cannot connect to ${service}${at} (${e.code}); start it or check its address`,
    {
      cause: err,
    },
  );
}

/** A connection URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/** The KpflError that `err` is (or stands for), or undefined when `err` is a bug. */
export function asKpflError(err: unknown): KpflError | undefined {
  if (err instanceof KpflError) return err;
  return connectionFailure(err);
}

export function describeError(err: unknown): { message: string; exitCode: number; userFacing: boolean } {
  const e = asKpflError(err);
  if (e) return { message: e.message, exitCode: e.exitCode, userFacing: true };
  const stack = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  return { message: stack, exitCode: EXIT_CODES.internal, userFacing: false };
}

/** What the CLI prints on stderr for an error that ended a command, and its exit code. */
export function reportError(err: unknown): { text: string; exitCode: number } {
  const d = describeError(err);
  return {
    text: d.userFacing ? `kpfl: ${d.message}\n` : `kpfl: unexpected error\n${d.message}\n`,
    exitCode: d.exitCode,
  };
}

/**
 * Runs a check of a service (checkRedis, checkPostgres, a first query) and reports any failure that
 * is not already a KpflError as `service` being unavailable (exit code 3).
 */
export async function requireService<T>(service: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof KpflError) throw err;
    const message = (err as Error)?.message ?? String(err);
    throw new UnavailableError(
      service,
      message.toLowerCase().includes(service.toLowerCase()) ? message : `cannot reach ${service}: ${message}`,
      { cause: err },
    );
  }
}

/**
 * The first problem zod found, as `path.to.field: what is wrong` (e.g. `identity.privateJwk: required`):
 * what a user needs to fix a file or a module, in one line.
 */
export function firstZodIssue(error: ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  let what: string;
  if (issue.code === 'invalid_type' && issue.received === 'undefined') what = 'required';
  else if (issue.code === 'invalid_type' && issue.message.startsWith('Expected'))
    what = `expected ${issue.expected}, got ${issue.received}`;
  else if (issue.code === 'unrecognized_keys')
    what = `unknown key ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  else if (issue.code === 'invalid_literal') what = `expected ${JSON.stringify(issue.expected)}`;
  else if (issue.code === 'invalid_enum_value') what = `expected one of ${issue.options.join(', ')}`;
  else what = issue.message;
  return path ? `${path}: ${what}` : what;
}

export function parseIntOption(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new UserError(`${name} must be an integer >= ${min}, got "${value}"`);
    return n;
  };
}

export function parseFloatOption(name: string, min = 0, max = Number.POSITIVE_INFINITY) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new UserError(`${name} must be a number in [${min}, ${max}], got "${value}"`);
    return n;
  };
}

/** "120s", "2m", "1h" or a number of seconds. */
export function parseDuration(name: string) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
    if (!m) throw new UserError(`${name} must be a duration like 90s, 2m or 1h, got "${value}"`);
    const n = Number(m[1]);
    const unit = m[2] ?? 's';
    const seconds = unit === 'ms' ? n / 1000 : unit === 's' ? n : unit === 'm' ? n * 60 : n * 3600;
    if (seconds <= 0) throw new UserError(`${name} must be positive`);
    return seconds;
  };
}
