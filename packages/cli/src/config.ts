/**
 * One configuration file per role (aggregator, worker, participant), YAML or JSON.
 *
 * A file has exactly one top-level key, the role, holding that role's settings:
 *
 *   aggregator:
 *     kit: /kit
 *     listen: 0.0.0.0:50051
 *
 * Every setting has the same name as the command-line flag (camelCase: --metrics-port is
 * metricsPort) and most have an environment variable. Precedence, highest first:
 * command-line flag > environment variable > config file > built-in default.
 * Relative paths in a file are relative to the file's directory; relative paths in flags and
 * environment variables are relative to the working directory.
 *
 * Errors name the key (`aggregator.listen: expected host:port ...`) and where the bad value came
 * from (file, environment variable or flag); they are ConfigErrors, printed without a stack trace.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { DEFAULT_MAX_INFLIGHT_MIB, DEFAULT_REDIS_URL, DEFAULT_SESSIONS_PER_MINUTE } from '@kpfl/aggregator';
import { KpflError } from '@kpfl/common';
import { BACKEND_ORDER, parsePartitionSpec } from '@kpfl/model';
import { DEFAULT_DATABASE_URL } from '@kpfl/store';
import { Option } from 'commander';
import { LineCounter, parseDocument } from 'yaml';
import { type ZodIssue, z } from 'zod';
import { dataSettingsSchema, refineDataSettings } from './data-options.js';
import { DEFAULT_DATASET } from './paths.js';
import { parsePostgresUrl, parseRedisUrl, parseSchemaName } from './user-error.js';

export const ROLES = ['aggregator', 'worker', 'participant'] as const;
export type Role = (typeof ROLES)[number];

/** A configuration problem the operator can fix: one line per bad key, exit code 2, no stack trace. */
export class ConfigError extends KpflError<'CONFIG_INVALID'> {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly issues: string[] = [],
    options?: { cause?: unknown },
  ) {
    super('CONFIG_INVALID', message, options);
  }
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const BACKENDS = ['auto', ...BACKEND_ORDER] as const;

const hostPort = (example: string) =>
  z.string().refine((s) => HOST_PORT.test(s) && Number(HOST_PORT.exec(s)![2]) <= 65535, {
    message: `expected host:port (e.g. ${example})`,
  });
const port = z
  .number({ invalid_type_error: 'expected a port number 0-65535' })
  .int('expected a port number 0-65535')
  .min(0, 'expected a port number 0-65535')
  .max(65535, 'expected a port number 0-65535');
const intAtLeast = (min: number) =>
  z
    .number({ invalid_type_error: `expected an integer >= ${min}` })
    .int(`expected an integer >= ${min}`)
    .min(min, `expected an integer >= ${min}`);
const path = z.string().min(1, 'expected a non-empty path');
const schemaName = z
  .string()
  .regex(
    SCHEMA_NAME,
    `expected a Postgres schema name matching ${SCHEMA_NAME} (lower-case letters, digits, _)`,
  );
const redisPrefix = z
  .string()
  .regex(
    /^[^\s{}]+$/,
    'expected a non-empty Redis key prefix without spaces or braces, e.g. kpfl:consortium',
  );
const databaseUrl = z
  .string()
  .regex(/^postgres(ql)?:\/\/\S+$/, 'expected a postgres:// URL, e.g. postgres://kpfl@postgres:5432/kpfl');
const redisUrl = z
  .string()
  .regex(/^rediss?:\/\/\S+$/, 'expected a redis:// or rediss:// URL, e.g. redis://redis:6379');
const logLevel = z.enum(LOG_LEVELS);
const aggregatorSchema = z
  .object({
    kit: path,
    listen: hostPort('0.0.0.0:50051'),
    insecure: z.boolean(),
    metricsPort: port.optional(),
    metricsHost: z.string().min(1, 'expected a host or IP to bind, e.g. 0.0.0.0').optional(),
    worker: z.boolean(),
    schema: schemaName,
    redisPrefix: redisPrefix.optional(),
    databaseUrl: databaseUrl.optional(),
    redisUrl: redisUrl.optional(),
    logLevel: logLevel.optional(),
    maxInflightMib: intAtLeast(1),
    sessionsPerMinute: intAtLeast(1),
  })
  .strict();

const workerSchema = z
  .object({
    kit: path,
    schema: schemaName,
    redisPrefix: redisPrefix.optional(),
    databaseUrl: databaseUrl.optional(),
    redisUrl: redisUrl.optional(),
    logLevel: logLevel.optional(),
    healthFile: path.optional(),
  })
  .strict();

const participantSchema = z
  .object({
    kit: path,
    aggregator: hostPort('aggregator:50051'),
    insecure: z.boolean(),
    dataset: path,
    partition: z
      .string()
      .refine(
        (s) => {
          try {
            parsePartitionSpec(s);
            return true;
          } catch {
            return false;
          }
        },
        { message: 'expected iid, shards:N or dirichlet:ALPHA' },
      )
      .optional(),
    clients: intAtLeast(1).optional(),
    clientIndex: intAtLeast(0).optional(),
    seed: intAtLeast(0),
    backend: z.enum(BACKENDS),
    testLimit: intAtLeast(1).optional(),
    modelFile: path.optional(),
    saveModel: path.optional(),
    json: z.boolean().optional(),
    plugin: path.optional(),
    healthFile: path.optional(),
    logLevel: logLevel.optional(),
  })
  .merge(dataSettingsSchema)
  .strict()
  .superRefine((c, ctx) => {
    refineDataSettings(c, ctx);
    if (c.clientIndex !== undefined && c.clientIndex >= (c.clients ?? 1)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['clientIndex'],
        message: `expected an index below clients (${c.clients ?? 1})`,
      });
    }
  });

export type AggregatorConfig = z.infer<typeof aggregatorSchema>;
export type WorkerConfig = z.infer<typeof workerSchema>;
export type ParticipantConfig = z.infer<typeof participantSchema>;
/** The flags of a role command as commander hands them to its action: any subset of the role's keys, and --config. */
export type RoleFlags<R extends Role> = Partial<RoleConfigs[R]> & { config?: string };

export interface RoleConfigs {
  aggregator: AggregatorConfig;
  worker: WorkerConfig;
  participant: ParticipantConfig;
}

type Kind = 'string' | 'int' | 'bool' | 'path';

/** One setting: its type, the flag and environment variable that set it, its default. */
export interface KeySpec {
  kind: Kind;
  /** Command-line flag (as shown by --help). */
  flag: string;
  env?: string;
  default?: unknown;
  /** Holds a password or key: redacted when printed. */
  secret?: boolean;
}

const common = {
  kit: { kind: 'path', flag: '--kit', env: 'KPFL_KIT' },
  schema: { kind: 'string', flag: '--schema', env: 'KPFL_SCHEMA', default: 'kpfl' },
  redisPrefix: { kind: 'string', flag: '--redis-prefix', env: 'KPFL_REDIS_PREFIX' },
  databaseUrl: { kind: 'string', flag: '--database-url', env: 'DATABASE_URL', secret: true },
  redisUrl: { kind: 'string', flag: '--redis-url', env: 'REDIS_URL', secret: true },
  logLevel: { kind: 'string', flag: '--log-level', env: 'KPFL_LOG_LEVEL' },
  healthFile: { kind: 'path', flag: '--health-file', env: 'KPFL_HEALTH_FILE' },
} satisfies Record<string, KeySpec>;

/** Every key of every role: the schema, the CLI and the deployment files agree on these. */
export const CONFIG_KEYS: { [R in Role]: { [K in keyof RoleConfigs[R]]-?: KeySpec } } = {
  aggregator: {
    kit: common.kit,
    listen: { kind: 'string', flag: '--listen', env: 'KPFL_LISTEN', default: '0.0.0.0:50051' },
    insecure: { kind: 'bool', flag: '--insecure', env: 'KPFL_INSECURE', default: false },
    metricsPort: { kind: 'int', flag: '--metrics-port', env: 'KPFL_METRICS_PORT' },
    metricsHost: { kind: 'string', flag: '--metrics-host', env: 'KPFL_METRICS_HOST' },
    worker: { kind: 'bool', flag: '--no-worker', env: 'KPFL_RUN_WORKER', default: true },
    schema: common.schema,
    redisPrefix: common.redisPrefix,
    databaseUrl: common.databaseUrl,
    redisUrl: common.redisUrl,
    logLevel: common.logLevel,
    maxInflightMib: {
      kind: 'int',
      flag: '--max-inflight-mib',
      env: 'KPFL_MAX_INFLIGHT_MIB',
      default: DEFAULT_MAX_INFLIGHT_MIB,
    },
    sessionsPerMinute: {
      kind: 'int',
      flag: '--sessions-per-minute',
      env: 'KPFL_SESSIONS_PER_MINUTE',
      default: DEFAULT_SESSIONS_PER_MINUTE,
    },
  },
  worker: {
    kit: common.kit,
    schema: common.schema,
    redisPrefix: common.redisPrefix,
    databaseUrl: common.databaseUrl,
    redisUrl: common.redisUrl,
    logLevel: common.logLevel,
    healthFile: common.healthFile,
  },
  participant: {
    kit: common.kit,
    aggregator: { kind: 'string', flag: '--aggregator', env: 'KPFL_AGGREGATOR', default: '127.0.0.1:50051' },
    insecure: { kind: 'bool', flag: '--insecure', env: 'KPFL_INSECURE', default: false },
    dataset: { kind: 'path', flag: '--dataset', env: 'KPFL_DATASET', default: DEFAULT_DATASET },
    dataFormat: { kind: 'string', flag: '--data-format', env: 'KPFL_DATA_FORMAT' },
    labelColumn: { kind: 'string', flag: '--label-column', env: 'KPFL_LABEL_COLUMN' },
    featureColumns: { kind: 'string', flag: '--feature-columns', env: 'KPFL_FEATURE_COLUMNS' },
    classes: { kind: 'string', flag: '--classes', env: 'KPFL_CLASSES' },
    imageSize: { kind: 'string', flag: '--image-size', env: 'KPFL_IMAGE_SIZE' },
    channels: { kind: 'int', flag: '--channels', env: 'KPFL_CHANNELS' },
    standardize: { kind: 'string', flag: '--standardize', env: 'KPFL_STANDARDIZE' },
    partition: { kind: 'string', flag: '--partition', env: 'KPFL_PARTITION' },
    clients: { kind: 'int', flag: '--clients', env: 'KPFL_CLIENTS' },
    clientIndex: { kind: 'int', flag: '--client-index', env: 'KPFL_CLIENT_INDEX' },
    seed: { kind: 'int', flag: '--seed', env: 'KPFL_SEED', default: 1 },
    backend: { kind: 'string', flag: '--backend', env: 'KPFL_BACKEND', default: 'auto' },
    testLimit: { kind: 'int', flag: '--test-limit', env: 'KPFL_TEST_LIMIT' },
    modelFile: { kind: 'path', flag: '--model-file', env: 'KPFL_MODEL_FILE' },
    saveModel: { kind: 'path', flag: '--save-model', env: 'KPFL_SAVE_MODEL' },
    json: { kind: 'bool', flag: '--json' },
    plugin: { kind: 'path', flag: '--plugin', env: 'KPFL_PLUGIN' },
    healthFile: common.healthFile,
    logLevel: common.logLevel,
  },
};

/**
 * The environment variables of the operator commands (rounds, audit, members, demo), which have no
 * config file: a flag wins, then its variable, then the default. commander reads the variable named
 * here (Option.env) and runs the option's parser on it, so a bad value in the environment is refused
 * like a bad flag. With CONFIG_KEYS, this is every environment variable the CLI reads; nothing
 * outside this file names one, and libraries are always handed the values.
 */
export const OPERATOR_ENV = {
  federation: 'KPFL_FEDERATION',
  schema: common.schema.env,
  redisPrefix: common.redisPrefix.env,
  aggregator: CONFIG_KEYS.participant.aggregator.env!,
  databaseUrl: common.databaseUrl.env,
  redisUrl: common.redisUrl.env,
} as const;

/** The environment a child `kpfl` process (the demo's participants) inherits: this one's. */
export function childEnvironment(): NodeJS.ProcessEnv {
  return { ...process.env };
}

/** Defaults of the operator settings that have one. */
export const OPERATOR_DEFAULTS = {
  schema: common.schema.default,
  databaseUrl: DEFAULT_DATABASE_URL,
  redisUrl: DEFAULT_REDIS_URL,
} as const;

/**
 * An option of an operator command that its environment variable (OPERATOR_ENV) also sets, parsed
 * by `parse` in both cases; a refused value from the environment names the variable.
 */
export function operatorOption<T>(
  key: keyof typeof OPERATOR_ENV,
  flags: string,
  description: string,
  parse: (value: string) => T,
): Option {
  const name = OPERATOR_ENV[key];
  const fromEnv = (value: string, err: unknown) =>
    err instanceof KpflError && process.env[name] === value
      ? Object.assign(err, { message: `${err.message} (from environment variable ${name})` })
      : err;
  const parser = Object.assign(
    (value: string) => {
      try {
        return parse(value);
      } catch (err) {
        throw fromEnv(value, err);
      }
    },
    parse, // its tags (kind, example), for the options test
  );
  return new Option(flags, description).env(name).argParser(parser);
}

/** `--schema`, with KPFL_SCHEMA and its default: the one definition every operator command adds. */
export function schemaOption(description = 'Postgres schema'): Option {
  return operatorOption('schema', '--schema <name>', description, parseSchemaName('--schema')).default(
    OPERATOR_DEFAULTS.schema,
  );
}

/** `--database-url`, with DATABASE_URL and its default. */
export function databaseUrlOption(description = 'Postgres connection URL'): Option {
  return operatorOption(
    'databaseUrl',
    '--database-url <url>',
    description,
    parsePostgresUrl('--database-url'),
  ).default(OPERATOR_DEFAULTS.databaseUrl);
}

/** `--redis-url`, with REDIS_URL and its default. */
export function redisUrlOption(description = 'Redis connection URL'): Option {
  return operatorOption('redisUrl', '--redis-url <url>', description, parseRedisUrl('--redis-url')).default(
    OPERATOR_DEFAULTS.redisUrl,
  );
}

const SCHEMAS: { [R in Role]: z.ZodType<RoleConfigs[R], z.ZodTypeDef, unknown> } = {
  aggregator: aggregatorSchema,
  worker: workerSchema,
  participant: participantSchema,
};

/** The default of a key, for help texts (so that --help and the config layer agree). */
export function defaultOf<R extends Role>(role: R, key: keyof RoleConfigs[R] & string): unknown {
  return (CONFIG_KEYS[role] as Record<string, KeySpec>)[key]?.default;
}

/** ' [env NAME]' for help texts: the environment variable that sets a key. */
export function envNote(role: Role, key: string): string {
  const spec = (CONFIG_KEYS[role] as Record<string, KeySpec>)[key];
  return spec?.env ? ` [env ${spec.env}]` : '';
}

export const CONFIG_OPTION_HELP =
  'read settings from this YAML or JSON file (precedence: flags > environment > file > defaults; validate with `kpfl config check FILE`)';

/** Where a value came from, for error messages. */
type Source =
  | { kind: 'default' }
  | { kind: 'file'; file: string }
  | { kind: 'env'; name: string }
  | { kind: 'flag'; flag: string };

export interface LoadOptions {
  /** The config file (YAML or JSON); optional. */
  file?: string;
  /** Values given on the command line (only those the user actually typed). */
  cli?: Record<string, unknown>;
  /** Environment to read overrides from; default process.env. Pass {} to ignore the environment. */
  env?: NodeJS.ProcessEnv;
}

export interface Loaded<R extends Role> {
  role: R;
  config: RoleConfigs[R];
  /** Where each set key came from: 'default' | 'file' | 'env:NAME' | 'flag:--x'. */
  sources: Record<string, string>;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** Converts an environment variable's text to the key's type; leaves it as text when it does not parse (the schema then names the problem). */
function fromEnv(kind: Kind, text: string): unknown {
  const t = text.trim();
  if (kind === 'int') return /^-?\d+$/.test(t) ? Number(t) : t;
  if (kind === 'bool') {
    if (TRUE.has(t.toLowerCase())) return true;
    if (FALSE.has(t.toLowerCase())) return false;
    return t;
  }
  return text;
}

/** Reads a config file and returns the settings under its role key. */
export function readConfigFile(
  file: string,
  expected?: Role,
): { role: Role; values: Record<string, unknown> } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT' ? `config file ${file} does not exist` : `cannot read config file ${file} (${code})`,
    );
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = lineCounter.linePos(e.pos[0]);
    throw new ConfigError(
      `config file ${file} is not valid YAML or JSON (line ${at.line}, column ${at.col}): ${e.message.split('\n')[0]}`,
    );
  }
  const data: unknown = doc.toJS();
  const roles = ROLES.join(', ');
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(
      `config file ${file} must be a mapping with one top-level key naming the role (${roles})`,
    );
  }
  const keys = Object.keys(data);
  const unknown = keys.filter((k) => !(ROLES as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new ConfigError(
      `config file ${file}: ${unknown[0]}: unknown top-level key; expected exactly one of ${roles}`,
      [`${unknown[0]}: unknown top-level key`],
    );
  }
  if (keys.length !== 1) {
    throw new ConfigError(
      `config file ${file} must have exactly one top-level key (${roles}), it has ${keys.length === 0 ? 'none' : keys.join(', ')}`,
    );
  }
  const role = keys[0] as Role;
  if (expected && role !== expected) {
    throw new ConfigError(
      `config file ${file} is a ${role} config; \`kpfl ${expected}\` needs one whose top-level key is ${expected}:`,
    );
  }
  const values = (data as Record<string, unknown>)[role];
  if (values === null || values === undefined) return { role, values: {} };
  if (typeof values !== 'object' || Array.isArray(values)) {
    throw new ConfigError(`config file ${file}: ${role}: expected a mapping of settings`, [
      `${role}: expected a mapping of settings`,
    ]);
  }
  return { role, values: values as Record<string, unknown> };
}

/**
 * The effective configuration of a role: defaults, then the file, then the environment, then
 * the command line. Throws ConfigError listing every bad key.
 */
export function loadRoleConfig<R extends Role>(role: R, o: LoadOptions = {}): Loaded<R> {
  const specs = CONFIG_KEYS[role] as Record<string, KeySpec>;
  const env = o.env ?? process.env;
  const values: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  for (const [key, spec] of Object.entries(specs)) {
    if (spec.default !== undefined) {
      values[key] = spec.default;
      sources[key] = { kind: 'default' };
    }
  }
  if (o.file) {
    const { values: fromFile } = readConfigFile(o.file, role);
    const base = dirname(resolve(o.file));
    for (const [key, v] of Object.entries(fromFile)) {
      const spec = specs[key];
      values[key] =
        spec?.kind === 'path' && typeof v === 'string' && v !== '' && !isAbsolute(v) ? resolve(base, v) : v;
      sources[key] = { kind: 'file', file: o.file };
    }
  }
  for (const [key, spec] of Object.entries(specs)) {
    const text = spec.env ? env[spec.env] : undefined;
    if (spec.env && text !== undefined && text !== '') {
      values[key] = fromEnv(spec.kind, text);
      sources[key] = { kind: 'env', name: spec.env };
    }
  }
  for (const [key, v] of Object.entries(o.cli ?? {})) {
    if (v === undefined || !(key in specs)) continue;
    values[key] = v;
    sources[key] = { kind: 'flag', flag: specs[key]!.flag };
  }
  const parsed = SCHEMAS[role].safeParse(values);
  if (!parsed.success) {
    const lines = parsed.error.issues.flatMap((issue) => describeIssue(role, issue, values, sources));
    const where = o.file ? ` in ${o.file}` : '';
    throw new ConfigError(
      lines.length === 1
        ? `invalid ${role} config${where}: ${lines[0]}`
        : `invalid ${role} config${where}:\n  ${lines.join('\n  ')}`,
      lines,
    );
  }
  const out: Record<string, string> = {};
  for (const [k, s] of Object.entries(sources))
    out[k] = s.kind === 'env' ? `env:${s.name}` : s.kind === 'flag' ? `flag:${s.flag}` : s.kind;
  return { role, config: parsed.data as RoleConfigs[R], sources: out };
}

/** The known key closest to a misspelt one (edit distance <= 2), if any. */
function closest(word: string, known: string[]): string | undefined {
  const dist = (a: string, b: string) => {
    const d = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0]!;
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = d[j]!;
        d[j] = Math.min(
          d[j]! + 1,
          d[j - 1]! + 1,
          prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
        );
        prev = cur;
      }
    }
    return d[b.length]!;
  };
  let best: { k: string; d: number } | undefined;
  for (const k of known) {
    const d = dist(word, k);
    if (d <= 2 && (!best || d < best.d)) best = { k, d };
  }
  return best?.k;
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function origin(s: Source | undefined): string {
  if (!s) return '';
  if (s.kind === 'env') return ` (from environment variable ${s.name})`;
  if (s.kind === 'flag') return ` (from ${s.flag})`;
  return '';
}

function describeIssue(
  role: Role,
  issue: ZodIssue,
  values: Record<string, unknown>,
  sources: Record<string, Source>,
): string[] {
  const specs = CONFIG_KEYS[role] as Record<string, KeySpec>;
  if (issue.code === z.ZodIssueCode.unrecognized_keys) {
    return issue.keys.map((k) => {
      const near = closest(k, Object.keys(specs));
      return `${role}.${k}: unknown key${near ? ` (did you mean ${near}?)` : ''}; known keys: ${Object.keys(specs).join(', ')}`;
    });
  }
  const key = String(issue.path[0] ?? '');
  const name = key ? `${role}.${key}` : role;
  const value = values[key];
  const from = origin(sources[key]);
  if (issue.code === z.ZodIssueCode.invalid_type && issue.received === 'undefined') {
    const spec = specs[key];
    const how = [spec?.flag, spec?.env].filter(Boolean).join(', ');
    return [`${name}: required (set ${how} or ${name} in the config file)`];
  }
  let message: string;
  switch (issue.code) {
    case z.ZodIssueCode.invalid_type:
      // Our schemas give some types their own message; zod's default one starts with "Expected".
      message = !issue.message.startsWith('Expected')
        ? issue.message
        : issue.expected === 'number'
          ? 'expected a number'
          : issue.expected === 'boolean'
            ? 'expected true or false'
            : `expected ${issue.expected}`;
      break;
    case z.ZodIssueCode.invalid_enum_value:
      message = `expected one of ${issue.options.join(', ')}`;
      break;
    default:
      message = issue.message;
  }
  return [`${name}: ${message}, got ${show(value)}${from}`];
}

/** The settings with secrets (credentials in URLs) redacted, for printing. */
export function redacted<R extends Role>(role: R, config: RoleConfigs[R]): Record<string, unknown> {
  const specs = CONFIG_KEYS[role] as Record<string, KeySpec>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
    out[k] = specs[k]?.secret && typeof v === 'string' ? v.replace(/\/\/([^@/]*)@/, '//***@') : v;
  }
  return out;
}

/**
 * The options the user actually typed on the command line (commander also fills in defaults;
 * those must not override a config file).
 */
export function explicitOptions(cmd: {
  options: readonly { attributeName(): string }[];
  getOptionValueSource(key: string): string | undefined;
  getOptionValue(key: string): unknown;
}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const opt of cmd.options) {
    const key = opt.attributeName();
    if (key === 'config') continue;
    if (cmd.getOptionValueSource(key) === 'cli') out[key] = cmd.getOptionValue(key);
  }
  return out;
}

/**
 * Touches `file` now and every `intervalMs`: a liveness signal for processes that serve no HTTP
 * (the container HEALTHCHECK checks the file's age). The timer does not keep the process alive.
 */
export function startHeartbeat(file: string, intervalMs = 10_000): () => void {
  mkdirSync(dirname(file), { recursive: true });
  const beat = () => {
    try {
      writeFileSync(file, `${new Date().toISOString()}\n`);
    } catch {
      // A read-only or full disk makes the health check fail, which is the right signal.
    }
  };
  beat();
  const timer = setInterval(beat, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
