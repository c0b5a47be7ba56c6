/**
 * The base of every error kpfl throws on purpose: something a user, an operator or a peer caused
 * and can act on. Like jose's JOSEError, each package extends it with its own class and its own
 * stable `code`s; callers match on `instanceof` and `code`, never on a name or a message.
 *
 * Anything thrown that is not a KpflError is a bug in kpfl (or a dependency) and is reported as one.
 */

/** What the `kpfl` command exits with: scripts branch on these. */
export const EXIT_CODES = Object.freeze({
  /** A bug: not a KpflError. The CLI prints the stack. */
  internal: 1,
  /** A mistake in the input (option, file, request): fix it and run again. */
  usage: 2,
  /** A service kpfl needs (Postgres, Redis, the aggregator) did not answer: start it or wait. */
  unavailable: 3,
});

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

export class KpflError<Code extends string = string> extends Error {
  /** Stable, machine-readable: tests, logs, metrics labels and clients match on it. */
  readonly code: Code;
  /** What the CLI exits with when this error ends a command (default: a usage mistake). */
  readonly exitCode: ExitCode;

  constructor(code: Code, message: string, options?: { cause?: unknown; exitCode?: ExitCode }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options?.exitCode ?? EXIT_CODES.usage;
  }

  toJSON(): { name: string; code: Code; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

export function isKpflError(err: unknown): err is KpflError {
  return err instanceof KpflError;
}
