import { IOREDIS } from './transact-clients.js';
import { transactContender } from './transact-core.js';

/** redis-transact's lock mode: n/a until the library accepts `{ mode: 'lock' }`. */
export const transactLock = transactContender('transact-lock', "redis-transact tx.transact(keys, fn, { mode: 'lock' })", { mode: 'lock' });

/** The same with exactly-once commits: one more watched key (the commit marker) and one more queued command per attempt. */
export const transactLockOnce = transactContender(
  'transact-lock-once',
  "redis-transact tx.transact(keys, fn, { mode: 'lock', exactlyOnce: true }) (markers live the default markerTtlMs)",
  { mode: 'lock', exactlyOnce: true },
);

/** The same on an ioredis `Redis` instance. */
export const transactLockIoredis = transactContender('transact-lock-ioredis', 'as transact-lock, on an ioredis Redis instance', { mode: 'lock', client: IOREDIS });
