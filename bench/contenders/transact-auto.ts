import { IOREDIS } from './transact-clients.js';
import { transactContender } from './transact-core.js';

/** redis-transact's auto mode (optimistic, switching to lock on contention): n/a until the library accepts `{ mode: 'auto' }`. */
export const transactAuto = transactContender('transact-auto', "redis-transact tx.transact(keys, fn, { mode: 'auto' })", { mode: 'auto' });

/** The same on an ioredis `Redis` instance. */
export const transactAutoIoredis = transactContender('transact-auto-ioredis', 'as transact-auto, on an ioredis Redis instance', { mode: 'auto', client: IOREDIS });
