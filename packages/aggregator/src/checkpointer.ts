import { signCheckpoint } from '@kpfl/audit';
import type { IdentityKey } from '@kpfl/kpt';
import type { Db } from '@kpfl/store';
import type { Logger } from './logger.js';

/**
 * Signs the audit chain head periodically (besides after every publication), so an edit of recent
 * rows is pinned by a checkpoint an auditor may already hold. Idle chains are not re-signed.
 */
export function startCheckpointer(
  db: Db,
  key: IdentityKey,
  federation: string,
  log: Logger,
  intervalMs = 60_000,
): () => Promise<void> {
  const sign = async () => {
    try {
      const cp = await signCheckpoint(db, key, federation);
      if (cp) log.info({ seq: cp.seq, event: 'checkpoint.signed' }, 'audit checkpoint signed');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'audit checkpoint failed; will retry');
    }
  };
  const timer = setInterval(sign, intervalMs);
  timer.unref();
  // On shutdown: one last checkpoint over everything this process appended.
  return async () => {
    clearInterval(timer);
    await sign();
  };
}
