/**
 * How the `kpfl` command reports what ends it, and the parsers of its option values.
 *
 * Errors: anything that is a KpflError (every package's error classes extend it) is printed as one
 * line, `kpfl: <message>`, and the command exits with the error's exitCode (2 a mistake in the
 * input, 3 a service that did not answer). A connection failure from a driver (ECONNREFUSED from
 * pg, ioredis or a socket) becomes an UnavailableError first. Anything else is a bug: "unexpected
 * error", the stack, exit code 1. Nothing here looks at an error's name.
 *
 * Parsers: every option that takes a value has a parser (or commander's `.choices()`), so a bad
 * value is refused while the command line is parsed, before anything runs. Each parser is tagged
 * with the kind of value it takes (`OptionKind`), which test/cli-options.test.ts reads to try a
 * malformed value of that kind on every option of every command.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { EXIT_CODES, type ExitCode, KpflError } from '@kpfl/common';
import { ID_PATTERN } from '@kpfl/kpt';
import { ModelConfigError, parseDenseModelName, parsePartitionSpec } from '@kpfl/model';
import { isRoleName } from '@kpfl/store';
import { StrategyError, strategyFromSpec, strategyNames } from '@kpfl/strategy';
import type { ZodError, ZodType } from 'zod';

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

// ---------------------------------------------------------------------------------------------------
// Option value parsers

/** The kinds of values options take; the options test derives a malformed value from each. */
export type OptionKind =
  | 'digest'
  | 'int'
  | 'number'
  | 'duration'
  | 'time'
  | 'id'
  | 'id-list'
  | 'plan-id'
  | 'model-name'
  | 'schema'
  | 'redis-prefix'
  | 'host'
  | 'host-list'
  | 'host-port'
  | 'postgres-url'
  | 'redis-url'
  | 'input-path'
  | 'output-file'
  | 'output-dir'
  | 'partition'
  | 'partition-list'
  | 'server-optimizer'
  | 'int-list'
  | 'choice-list'
  | 'role-list'
  | 'column-name'
  | 'name-list'
  | 'image-size';

/** A commander argParser tagged with the kind of value it accepts. */
export type OptionParser<T> = ((value: string, previous?: unknown) => T) & {
  readonly kind: OptionKind;
  /** For 'int', 'number' and 'int-list': a value it accepts (the options test uses it as its positive control). */
  readonly example?: string;
  /** For 'choice-list': the accepted items. */
  readonly choices?: readonly string[];
};

function tagged<T>(
  kind: OptionKind,
  fn: (value: string) => T,
  extra: { example?: string; choices?: readonly string[] } = {},
): OptionParser<T> {
  return Object.assign((value: string) => fn(value), { kind, ...extra });
}

export function parseIntOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER): OptionParser<number> {
  return tagged(
    'int',
    (value) => {
      const n = /^\s*[-+]?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
        throw new UserError(`${name} must be an integer ${range}, got "${value}"`);
      }
      return n;
    },
    { example: String(min) },
  );
}

export function parseFloatOption(
  name: string,
  min = 0,
  max = Number.POSITIVE_INFINITY,
  o: { exclusiveMin?: boolean } = {},
): OptionParser<number> {
  return tagged(
    'number',
    (value) => {
      const n = value.trim() === '' ? Number.NaN : Number(value);
      if (!Number.isFinite(n) || n < min || n > max || (o.exclusiveMin && n === min)) {
        const range = o.exclusiveMin
          ? `> ${min}${max === Number.POSITIVE_INFINITY ? '' : ` and <= ${max}`}`
          : `in [${min}, ${max}]`;
        throw new UserError(`${name} must be a number ${range}, got "${value}"`);
      }
      return n;
    },
    { example: String(o.exclusiveMin ? Math.min(max, min + 1) : min) },
  );
}

/** A SHA-256 digest as kpfl writes them: 'sha256:' + 64 lowercase hex digits. */
export function parseDigestOption(name: string): OptionParser<string> {
  return tagged('digest', (value) => {
    if (!/^sha256:[0-9a-f]{64}$/.test(value))
      throw new UserError(
        `${name} must be 'sha256:' followed by 64 lowercase hex digits, got "${value.slice(0, 80)}"`,
      );
    return value;
  });
}

/** A TCP port, 0-65535. */
export function parsePortOption(name: string): OptionParser<number> {
  return parseIntOption(name, 0, 65535);
}

/** "120s", "2m", "1h", "500ms" or a number of seconds; returns seconds. */
export function parseDuration(name: string): OptionParser<number> {
  return tagged('duration', (value) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
    if (!m) throw new UserError(`${name} must be a duration like 90s, 2m or 1h, got "${value}"`);
    const n = Number(m[1]);
    const unit = m[2] ?? 's';
    const seconds = unit === 'ms' ? n / 1000 : unit === 's' ? n : unit === 'm' ? n * 60 : n * 3600;
    if (seconds <= 0) throw new UserError(`${name} must be positive, got "${value}"`);
    return seconds;
  });
}

const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-](\d{2}):?(\d{2}))?)?$/;

/**
 * Whether `s` is an ISO 8601 date or date-time that exists on the calendar. JavaScript's Date rolls
 * 2025-02-30 over to March 2 and accepts hour 24; this does not.
 */
export function isIsoTime(s: string): boolean {
  const m = ISO_TIME.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mo < 1 || mo > 12 || d < 1 || d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return false;
  if (m[4] !== undefined && (Number(m[4]) > 23 || Number(m[5]) > 59)) return false;
  if (m[6] !== undefined && Number(m[6]) > 59) return false;
  if (m[8] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return false;
  return !Number.isNaN(new Date(s).getTime());
}

/** An ISO 8601 date or time (e.g. 2025-01-31 or 2025-01-31T12:00:00Z); returns the text as given. */
export function parseIsoTime(name: string): OptionParser<string> {
  return tagged('time', (value) => {
    const t = value.trim();
    if (!isIsoTime(t)) {
      throw new UserError(
        `${name} must be a real ISO 8601 date or time, e.g. 2025-01-31 or 2025-01-31T12:00:00Z, got "${value}"`,
      );
    }
    return t;
  });
}

const ID_RULE = 'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 64 characters';

/** A value a zod schema checks (the same schema the config file uses), refused with the schema's message. */
export function parseWithSchema(
  kind: OptionKind,
  name: string,
  schema: ZodType<string>,
): OptionParser<string> {
  return tagged(kind, (value) => {
    const r = schema.safeParse(value);
    if (!r.success) throw new UserError(`${name}: "${value}": ${firstZodIssue(r.error)}`);
    return r.data;
  });
}

/** A federation, member or auditor id. */
export function parseIdOption(name: string): OptionParser<string> {
  return tagged('id', (value) => {
    if (!ID_PATTERN.test(value))
      throw new UserError(`${name}: "${value}" is not a valid id (use ${ID_RULE})`);
    return value;
  });
}

/** "a,b,c": ids separated by commas (spaces around them are dropped); returns the text as given. */
export function parseIdListOption(name: string): OptionParser<string> {
  return tagged('id-list', (value) => {
    for (const id of value.split(',').map((s) => s.trim())) {
      if (id !== '' && !ID_PATTERN.test(id))
        throw new UserError(`${name}: "${id}" is not a valid id (use ${ID_RULE})`);
    }
    return value;
  });
}

const PLAN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** "a,b": Postgres role names (lower case, digits, _), as `kpfl migrate --grant` takes them. */
export function parseRoleListOption(name: string): OptionParser<string[]> {
  return tagged('role-list', (value) => {
    const roles = value.split(',').map((s) => s.trim());
    for (const r of roles) {
      if (!isRoleName(r))
        throw new UserError(
          `${name}: "${r}" is not a role name (lower-case letters, digits and _, at most 63)`,
        );
    }
    return roles;
  });
}

/** A plan id (it becomes part of BullMQ job ids, so no ':' and no spaces). */
export function parsePlanId(name: string): OptionParser<string> {
  return tagged('plan-id', (value) => {
    if (!PLAN_ID.test(value)) {
      throw new UserError(
        `${name}: "${value}" is not a valid plan id (letters, digits, ".", "_" and "-", starting with a letter or digit, at most 128 characters)`,
      );
    }
    return value;
  });
}

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A built-in model (mlp, cnn, dense:F-H-...-C) or the name a plugin registers. */
export function parseModelName(name: string): OptionParser<string> {
  return tagged('model-name', (value) => {
    try {
      if (parseDenseModelName(value)) return value;
    } catch (e) {
      if (e instanceof ModelConfigError)
        throw new UserError(`${name}: ${e.message}`, undefined, { cause: e });
      throw e;
    }
    if (!MODEL_NAME.test(value))
      throw new UserError(
        `${name}: "${value}" is not a model name (mlp, cnn, dense:F-H-...-C, or a plugin's model name)`,
      );
    return value;
  });
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function parseSchemaName(name: string): OptionParser<string> {
  return tagged('schema', (value) => {
    if (!SCHEMA_NAME.test(value)) {
      throw new UserError(
        `${name} must be a Postgres schema name matching ${SCHEMA_NAME} (lower-case letters, digits, _), got "${value}"`,
      );
    }
    return value;
  });
}

export function parseRedisPrefix(name: string): OptionParser<string> {
  return tagged('redis-prefix', (value) => {
    if (!/^[^\s{}]+$/.test(value)) {
      throw new UserError(
        `${name} must be a Redis key prefix without spaces or braces, e.g. kpfl:consortium, got "${value}"`,
      );
    }
    return value;
  });
}

const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._:-]+)$/;
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/** A host name or IP address to bind or to name in a certificate. */
export function parseHostOption(name: string): OptionParser<string> {
  return tagged('host', (value) => {
    if (!HOST.test(value)) throw new UserError(`${name} must be a host name or IP address, got "${value}"`);
    return value;
  });
}

/** Host names or IP addresses separated by commas; returns the text as given. */
export function parseHostListOption(name: string): OptionParser<string> {
  return tagged('host-list', (value) => {
    const hosts = value.split(',').map((h) => h.trim());
    if (hosts.some((h) => !HOST.test(h))) {
      throw new UserError(`${name}: expected host names or IP addresses separated by commas, got "${value}"`);
    }
    return value;
  });
}

export function parseHostPort(name: string, example = '127.0.0.1:50051'): OptionParser<string> {
  return tagged('host-port', (value) => {
    const m = HOST_PORT.exec(value);
    if (!m || Number(m[2]) > 65535)
      throw new UserError(`${name} must be host:port (e.g. ${example}), got "${value}"`);
    return value;
  });
}

/** A URL with one of the schemes; the message never echoes the value (it may hold a password). */
function parseUrlOption(
  kind: 'postgres-url' | 'redis-url',
  name: string,
  schemes: string[],
  example: string,
) {
  return tagged(kind, (value) => {
    let ok = false;
    try {
      const u = new URL(value);
      ok = schemes.includes(u.protocol.slice(0, -1)) && u.host !== '';
    } catch {
      ok = false;
    }
    if (!ok) throw new UserError(`${name} must be a ${schemes.join(':// or ')}:// URL, e.g. ${example}`);
    return value;
  });
}

export function parsePostgresUrl(name: string): OptionParser<string> {
  return parseUrlOption(
    'postgres-url',
    name,
    ['postgres', 'postgresql'],
    'postgres://kpfl@127.0.0.1:5432/kpfl',
  );
}

export function parseRedisUrl(name: string): OptionParser<string> {
  return parseUrlOption('redis-url', name, ['redis', 'rediss'], 'redis://127.0.0.1:6379');
}

/**
 * A file or directory that must exist (a kit, a dataset, a config file, an export). `name` is the
 * flag ("--kit: kits/x does not exist") or what the argument is ("config file kits/x.yaml does not exist").
 */
export function existingPath(name: string): OptionParser<string> {
  return tagged('input-path', (value) => {
    if (value === '' || !existsSync(value))
      throw new UserError(`${name}${name.startsWith('-') ? ':' : ''} ${value || '""'} does not exist`);
    return value;
  });
}

/** The closest existing ancestor of a path that does not exist yet. */
function existingAncestor(path: string): string {
  let p = dirname(resolve(path));
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  return p;
}

/**
 * A file the command writes. It must not be a directory; its directory must exist, or, with
 * `mkdir`, be creatable (its closest existing ancestor is a directory). With `stdout`, '-' is stdout.
 */
export function outputFile(
  name: string,
  o: { mkdir?: boolean; stdout?: boolean } = {},
): OptionParser<string> {
  return tagged('output-file', (value) => {
    if (o.stdout && value === '-') return value;
    if (value === '') throw new UserError(`${name}: expected a file name`);
    if (existsSync(value) && statSync(value).isDirectory())
      throw new UserError(`${name}: ${value} is a directory; give a file name`);
    const parent = dirname(resolve(value));
    if (!o.mkdir && !(existsSync(parent) && statSync(parent).isDirectory()))
      throw new UserError(`${name}: directory ${dirname(value)} does not exist`);
    if (!statSync(existingAncestor(value)).isDirectory())
      throw new UserError(`${name}: cannot create ${value}: ${existingAncestor(value)} is not a directory`);
    return value;
  });
}

/** A directory the command creates or writes into: not a file, and creatable. */
export function outputDir(name: string): OptionParser<string> {
  return tagged('output-dir', (value) => {
    if (value === '') throw new UserError(`${name}: expected a directory`);
    if (existsSync(value)) {
      if (!statSync(value).isDirectory()) throw new UserError(`${name}: ${value} is a file, not a directory`);
    } else if (!statSync(existingAncestor(value)).isDirectory()) {
      throw new UserError(`${name}: cannot create ${value}: ${existingAncestor(value)} is not a directory`);
    }
    return value;
  });
}

/** Runs a parser of @kpfl/model and names the option in its message. */
function modelSetting<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ModelConfigError || err instanceof StrategyError)
      throw new UserError(`${name}: ${err.message}`, EXIT_CODES.usage, { cause: err });
    throw err;
  }
}

/** 'iid' | 'shards:N' | 'dirichlet:ALPHA' (checked by @kpfl/model); returns the text as given. */
export function parsePartitionOption(name: string): OptionParser<string> {
  return tagged('partition', (value) => {
    modelSetting(name, () => parsePartitionSpec(value));
    return value;
  });
}

/** Partition specs separated by commas. */
export function parsePartitionList(name: string): OptionParser<string> {
  return tagged('partition-list', (value) => {
    for (const p of value.split(',')) modelSetting(name, () => parsePartitionSpec(p.trim()));
    return value;
  });
}

/** A registered strategy's spec, 'fedavg' | 'fedadam:lr=0.01,...' (checked by @kpfl/strategy); returns the text as given. */
export function parseServerOptimizerOption(name: string): OptionParser<string> {
  return tagged('server-optimizer', (value) => {
    modelSetting(name, () => strategyFromSpec(value));
    return value;
  });
}

/** Help text for a strategy spec option: every registered name, and where the parameters are. */
export function serverOptimizerHelp(prefix = ''): string {
  return `${prefix}${strategyNames().join(' | ')}, each with optional name:key=value,... parameters (README "Server optimizers")`;
}

/** "1,5,10": positive integers separated by commas. */
export function parseIntList(name: string, min = 1): OptionParser<number[]> {
  const one = parseIntOption(name, min);
  return tagged('int-list', (value) => value.split(',').map((s) => one(s.trim())), { example: String(min) });
}

/** Items of `choices` separated by commas, in the order given. */
export function parseChoiceList<T extends string>(name: string, choices: readonly T[]): OptionParser<T[]> {
  return tagged(
    'choice-list',
    (value) => {
      const items = value.split(',').map((s) => s.trim());
      for (const m of items) {
        if (!(choices as readonly string[]).includes(m))
          throw new UserError(`${name} takes ${choices.join(', ')} separated by commas; got "${m}"`);
      }
      return items as T[];
    },
    { choices },
  );
}
