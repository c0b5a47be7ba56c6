/**
 * A set of single-use keys that expire. The aggregator may back it by Redis (SET key NX EXAT) or
 * Postgres (INSERT ... ON CONFLICT DO NOTHING) so that replay protection survives restarts and is
 * shared between aggregator replicas; kpt only needs this interface.
 */
export interface ReplayStore {
  /**
   * Record `key` as used until `expiresAt` (Unix seconds). Resolve true if it was not recorded
   * before, false if it was (a replay). Must be atomic.
   */
  markUsed(key: string, expiresAt: number): boolean | Promise<boolean>;
}

/** In-process ReplayStore. Entries are dropped once expired, so memory stays bounded by the live ones. */
export class MemoryReplayStore implements ReplayStore {
  readonly #entries = new Map<string, number>();
  readonly #clock: () => number;
  #lastPrune = 0;

  constructor(opts: { now?: () => number } = {}) {
    this.#clock = opts.now ?? Date.now;
  }

  markUsed(key: string, expiresAt: number): boolean {
    const now = Math.floor(this.#clock() / 1000);
    this.#prune(now);
    const until = this.#entries.get(key);
    if (until !== undefined && until >= now) return false;
    this.#entries.set(key, expiresAt);
    return true;
  }

  has(key: string): boolean {
    const until = this.#entries.get(key);
    return until !== undefined && until >= Math.floor(this.#clock() / 1000);
  }

  get size(): number {
    return this.#entries.size;
  }

  #prune(now: number): void {
    if (now === this.#lastPrune) return;
    this.#lastPrune = now;
    for (const [k, until] of this.#entries) if (until < now) this.#entries.delete(k);
  }
}
