import type { Contender } from '../types.js';
import { nodeRedisWatchConnections, setupWatchLoop, WATCH_LOOP_MAX_ATTEMPTS } from './watch-loop-core.js';

/** The textbook loop: `await WATCH`, then GET, then MULTI/EXEC: three round trips when uncontended. */
export const watchLoop: Contender = {
  name: 'watch-loop',
  summary: `hand-written node-redis loop, connection per worker: await WATCH, GET, MULTI/EXEC, retry at once (≤ ${WATCH_LOOP_MAX_ATTEMPTS} attempts)`,
  setup: (ctx) => setupWatchLoop(ctx, nodeRedisWatchConnections(false)),
};
