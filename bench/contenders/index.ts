import type { Contender, ContenderName } from '../types.js';
import { lua } from './lua.js';
import { npmLock } from './npm-lock.js';
import { transactAuto, transactAutoIoredis } from './transact-auto.js';
import { transactLock, transactLockIoredis, transactLockOnce } from './transact-lock.js';
import { transactOptimistic, transactOptimisticIoredis, transactOptimisticOnce } from './transact-optimistic.js';
import { watchLoop } from './watch-loop.js';
import { watchLoopIoredis } from './watch-loop-ioredis.js';
import { watchLoopPipelined } from './watch-loop-pipelined.js';

/** Every contender by name. */
export const CONTENDERS: Readonly<Record<ContenderName, Contender>> = {
  'watch-loop': watchLoop,
  'watch-loop-pipelined': watchLoopPipelined,
  lua,
  'npm-lock': npmLock,
  'transact-optimistic': transactOptimistic,
  'transact-optimistic-once': transactOptimisticOnce,
  'transact-lock': transactLock,
  'transact-lock-once': transactLockOnce,
  'transact-auto': transactAuto,
  'watch-loop-ioredis': watchLoopIoredis,
  'transact-optimistic-ioredis': transactOptimisticIoredis,
  'transact-lock-ioredis': transactLockIoredis,
  'transact-auto-ioredis': transactAutoIoredis,
};
