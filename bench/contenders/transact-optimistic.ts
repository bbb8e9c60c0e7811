import { IOREDIS } from './transact-clients.js';
import { TRANSACT_RETRY, transactContender } from './transact-core.js';

/** redis-transact's optimistic mode (WATCH/MULTI/EXEC with its retry policy). */
export const transactOptimistic = transactContender(
  'transact-optimistic',
  `redis-transact tx.transact(keys, fn, { mode: 'optimistic' }) (no mode option if unsupported), maxAttempts ${TRANSACT_RETRY.maxAttempts}, default backoff`,
  { mode: 'optimistic' },
);

/** The same with exactly-once commits: one more watched key (the commit marker) and one more queued command per attempt. */
export const transactOptimisticOnce = transactContender(
  'transact-optimistic-once',
  "redis-transact tx.transact(keys, fn, { mode: 'optimistic', exactlyOnce: true }), otherwise as transact-optimistic (markers live the default markerTtlMs)",
  { mode: 'optimistic', exactlyOnce: true },
);

/** The same on an ioredis `Redis` instance: the transactor's own duplicates of it, fn in ioredis's API. */
export const transactOptimisticIoredis = transactContender(
  'transact-optimistic-ioredis',
  'as transact-optimistic, on an ioredis Redis instance (createTransactor(redis): dedicated duplicates of it, t.write its typed pipeline)',
  { mode: 'optimistic', client: IOREDIS },
);
