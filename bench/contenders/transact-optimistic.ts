import { TRANSACT_RETRY, transactContender } from './transact-core.js';

/** redis-transact's optimistic mode (WATCH/MULTI/EXEC with its retry policy); the default mode. */
export const transactOptimistic = transactContender(
  'transact-optimistic',
  'optimistic',
  `redis-transact tx.transact(keys, fn, { mode: 'optimistic' }) (no mode option if unsupported), maxAttempts ${TRANSACT_RETRY.maxAttempts}, default backoff`,
);
