/**
 * What bounds the resources one client can take from the aggregator:
 *
 * - `SessionRateLimiter`: session tokens a member may ask for per minute, counted in Redis so that
 *   every front end of the federation shares the count;
 * - `StreamSlots`: one SubmitUpdate stream per member at a time, per front end;
 * - `InflightBudget`: the update bytes all SubmitUpdate streams of a front end may hold at once.
 *
 * Each refuses with RESOURCE_EXHAUSTED (the client may retry later) and a message saying when.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RpcError } from './errors.js';
import type { Metrics } from './metrics.js';

export const DEFAULT_SESSIONS_PER_MINUTE = 60;
export const DEFAULT_MAX_INFLIGHT_MIB = 256;

const WINDOW_MS = 60_000;

/**
 * A sliding window in Redis, atomic across front ends: drop the attempts older than the window, and
 * record this one unless the window is full; the clock is Redis' own (TIME), so front ends with
 * skewed clocks still count alike. Returns {1, 0} when recorded, {0, ms until the oldest attempt
 * leaves the window} when refused (a refused attempt is not recorded: backing off works).
 */
const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
`;

/**
 * At most `perMinute` Authenticate attempts per member in any 60 seconds, counted in Redis (one
 * sorted set per member) so that every front end of the federation shares the count.
 */
export class SessionRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly perMinute: number,
  ) {
    if (!Number.isSafeInteger(perMinute) || perMinute < 1)
      throw new RangeError(`sessions per minute must be a positive integer, got ${perMinute}`);
  }

  /** Counts one attempt of `member`; throws RESOURCE_EXHAUSTED (with a retry hint) beyond the limit. */
  async take(member: string): Promise<void> {
    const [recorded, waitMs] = (await this.redis.eval(
      TAKE_SCRIPT,
      1,
      `${this.prefix}:sessions:${member}`,
      WINDOW_MS,
      this.perMinute,
      randomUUID(),
    )) as [number, number];
    if (recorded !== 1) {
      const retryAfterMs = Math.max(1, Math.ceil(waitMs));
      throw new RpcError(
        'RESOURCE_EXHAUSTED',
        'session_rate',
        `${member} asked for ${this.perMinute} sessions in the last minute, the most allowed; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
        retryAfterMs,
      );
    }
  }
}

/** One SubmitUpdate stream per member at a time, in this process. */
export class StreamSlots {
  private readonly open = new Set<string>();

  constructor(private readonly metrics?: Metrics) {}

  /** Takes `member`'s slot; returns its release (idempotent). Throws RESOURCE_EXHAUSTED when taken. */
  claim(member: string): () => void {
    if (this.open.has(member)) {
      throw new RpcError(
        'RESOURCE_EXHAUSTED',
        'concurrent_stream',
        `${member} already has a SubmitUpdate stream open on this aggregator; send one update at a time`,
      );
    }
    this.open.add(member);
    this.metrics?.submitStreams.set(this.open.size);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open.delete(member);
      this.metrics?.submitStreams.set(this.open.size);
    };
  }

  get size(): number {
    return this.open.size;
  }
}

/**
 * The update bytes this process holds for streams still arriving. A stream reserves the most its
 * plan's update can take before its first chunk is read, and gives it back when it ends, whatever
 * the outcome; a reservation that does not fit is refused.
 */
export class InflightBudget {
  private used = 0;

  constructor(
    readonly limitBytes: number,
    private readonly metrics?: Metrics,
  ) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 1)
      throw new RangeError(`the in-flight budget must be a positive number of bytes, got ${limitBytes}`);
    metrics?.inflightBudget.set(limitBytes);
    metrics?.inflightBytes.set(0);
  }

  get reservedBytes(): number {
    return this.used;
  }

  /** Reserves `bytes`; returns the release (idempotent). */
  reserve(bytes: number): () => void {
    if (bytes > this.limitBytes) {
      throw new RpcError(
        'FAILED_PRECONDITION',
        'update_exceeds_budget',
        `an update of this plan takes up to ${bytes} bytes, more than this aggregator's whole in-flight budget of ${this.limitBytes}: the operator must raise --max-inflight-mib`,
      );
    }
    if (this.used + bytes > this.limitBytes) {
      throw new RpcError(
        'RESOURCE_EXHAUSTED',
        'inflight_budget',
        `the aggregator is receiving ${this.used} bytes of updates already (budget ${this.limitBytes}); retry in a few seconds`,
        2_000,
      );
    }
    this.used += bytes;
    this.metrics?.inflightBytes.set(this.used);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
      this.metrics?.inflightBytes.set(this.used);
    };
  }
}
