import { transactContender } from './transact-core.js';

/** redis-transact's lock mode: n/a until the library accepts `{ mode: 'lock' }`. */
export const transactLock = transactContender('transact-lock', 'lock', "redis-transact tx.transact(keys, fn, { mode: 'lock' })");
