/** A mistake the user can fix: printed as one line, exit code 2, never a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Errors from our libraries whose message is already written for the operator. */
const OPERATOR_FACING = new Set([
  'UserError',
  'DatasetError',
  'HeError',
  'KptError',
  'StoreError',
  'RpcError',
  'RoundError',
  'AggregatorError',
  'ConfigError',
  'BackendUnavailableError',
  'ZodError',
]);

export function describeError(err: unknown): { message: string; exitCode: number; userFacing: boolean } {
  const e = err as { name?: string; message?: string; exitCode?: number; code?: string; stack?: string };
  if (e?.name === 'StoreError' && e.code === 'UNAVAILABLE') {
    return { message: e.message ?? '', exitCode: 3, userFacing: true };
  }
  if (e?.name && OPERATOR_FACING.has(e.name))
    return { message: e.message ?? String(err), exitCode: e.exitCode ?? 2, userFacing: true };
  if (e?.code === 'ECONNREFUSED')
    return { message: `cannot connect: ${e.message}`, exitCode: 3, userFacing: true };
  return { message: e?.stack ?? String(err), exitCode: 1, userFacing: false };
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

/** Runs a parser of user input from a library; its plain Error becomes a UserError (one line, exit 2). */
export function asUserInput<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Error && err.name === 'Error') throw new UserError(err.message);
    throw err;
  }
}
