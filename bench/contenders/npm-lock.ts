import Redlock from 'redlock';
import { connectIoredis } from '../redis-client.js';
import type { Contender, Op, OpResult } from '../types.js';

/**
 * How long a lock lives if its holder never releases it. redlock has no default TTL (every
 * `lock` call names one); 1 s is the value its README uses, and far longer than an op here.
 */
export const LOCK_TTL_MS = 1000;

function isLockError(err: unknown): err is Redlock.LockError {
  return err instanceof Redlock.LockError;
}

/**
 * The most used npm Redis lock library, `redlock` (4.x, npm's `latest`), AT ITS DEFAULTS: retry
 * count 10, retry delay 200 ms ± 100 ms jitter, drift factor 0.01. It wants a callback-style
 * client, so it gets one shared ioredis client (as its README shows), which also does the reads
 * and the write. Per op: lock the op's keys (one multi-key lock), GET, MULTI/EXEC, unlock.
 */
export const npmLock: Contender = {
  name: 'npm-lock',
  summary: `redlock@4 at its defaults (10 retries, 200 ± 100 ms apart) on one ioredis client: lock, GET, MULTI/EXEC, unlock (TTL ${LOCK_TTL_MS} ms)`,
  async setup(ctx) {
    const redis = await connectIoredis(ctx.url);
    const redlock = new Redlock([redis]);
    // redlock counts a server error as a lost vote (a failed lock); a benchmark must not
    // mistake a broken connection for contention, so such an error fails the cell.
    let clientError: Error | undefined;
    redlock.on('clientError', (err: unknown) => {
      clientError ??= err instanceof Error ? err : new Error(String(err));
    });
    const throwIfClientError = (): void => {
      if (clientError) throw clientError;
    };

    return {
      async run(op: Op): Promise<OpResult> {
        throwIfClientError();
        let lock: Redlock.Lock;
        try {
          lock = await redlock.lock(op.keys.map((k) => `${k}:lock`), LOCK_TTL_MS);
        } catch (err) {
          throwIfClientError();
          if (isLockError(err)) return { committed: false, attempts: err.attempts };
          throw err;
        }
        try {
          const values = await Promise.all(op.reads.map((k) => redis.get(k)));
          const writes = op.decide(values);
          if (writes.length > 0) {
            const multi = redis.multi();
            for (const w of writes) multi.incrby(w.key, w.by);
            await multi.exec();
          }
          return { committed: true, attempts: lock.attempts };
        } finally {
          // An unlock that fails (the lock expired first) cannot undo the write; the invariant
          // check is what tells whether the expiry let someone else in.
          await lock.unlock().catch(() => {});
        }
      },
      async teardown() {
        await redis.quit();
      },
    };
  },
};
