import { redisConnection } from '@kpfl/aggregator';

/** Deletes every Redis key under `prefix:` (the BullMQ queues and nonces of a throwaway federation). */
export async function deleteRedisPrefix(prefix: string, redisUrl?: string): Promise<void> {
  const redis = redisConnection(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit().catch(() => {});
  }
}
