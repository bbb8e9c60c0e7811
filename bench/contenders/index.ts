import type { Contender, ContenderName } from '../types.js';
import { lua } from './lua.js';
import { npmLock } from './npm-lock.js';
import { transactAuto } from './transact-auto.js';
import { transactLock } from './transact-lock.js';
import { transactOptimistic } from './transact-optimistic.js';
import { watchLoop } from './watch-loop.js';
import { watchLoopPipelined } from './watch-loop-pipelined.js';

/** Every contender by name. */
export const CONTENDERS: Readonly<Record<ContenderName, Contender>> = {
  'watch-loop': watchLoop,
  'watch-loop-pipelined': watchLoopPipelined,
  lua,
  'npm-lock': npmLock,
  'transact-optimistic': transactOptimistic,
  'transact-lock': transactLock,
  'transact-auto': transactAuto,
};
