import type { Contender } from '../types.js';
import { nodeRedisWatchConnections, setupWatchLoop, WATCH_LOOP_MAX_ATTEMPTS } from './watch-loop-core.js';

/** The best hand-written loop: WATCH and GET in one write, then MULTI/EXEC: two round trips. The baseline of the ×loop ratios. */
export const watchLoopPipelined: Contender = {
  name: 'watch-loop-pipelined',
  summary: `as watch-loop, but WATCH and the GETs sent together (Promise.all): two round trips (≤ ${WATCH_LOOP_MAX_ATTEMPTS} attempts)`,
  setup: (ctx) => setupWatchLoop(ctx, nodeRedisWatchConnections(true)),
};
