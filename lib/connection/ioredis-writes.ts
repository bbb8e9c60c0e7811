/**
 * One socket write for what is sent together. ioredis writes each command to its socket as it is
 * made, one system call each; node-redis writes what it was given at once, once per turn of the
 * event loop. Corking an ioredis socket for a while gives the engine's batches one write each
 * again. Used by `ioredis-connection.ts` (a dedicated connection: the WATCH, a fence's probe and
 * fn's first reads; MULTI…EXEC, the write after it and the next transaction chained behind it)
 * and `ioredis-lock-connections.ts` (the lock scripts of concurrent calls).
 */
import type { IoredisClient, IoredisSocket } from './ioredis-types.js';

/**
 * How long writes are held: to the end of this tick (the current run of JavaScript, before any
 * reply can be read), to the end of this turn of the event loop (as node-redis does: also what
 * the callbacks of replies read in the same turn send), or `'by-turn'`: to the end of the turn
 * when sockets other than this one wrote in the last turn that had writes, else to the end of the
 * tick.
 *
 * Why `'by-turn'`: when many connections are busy, a socket written right after its own reply was
 * read finds the server idle and wakes it, one wake-up per reply (on 2 cores that cost half the
 * throughput at 32 calls at once); written back to back at the end of the turn, they wake it once.
 * With one connection busy there is nothing to write back to back, and the end of the tick comes
 * a little sooner (a few per cent at one call at a time).
 */
export type WriteGathering = 'tick' | 'loop-turn' | 'by-turn';

/** How many sockets were corked in this turn of the event loop, and in the last turn that had any. */
const corked = { thisTurn: 0, lastTurn: 0 };

function turnEnded(): void {
  corked.lastTurn = corked.thisTurn;
  corked.thisTurn = 0;
}

/**
 * Holds `client`'s socket writes for `until`, then writes them at once, in the order they were
 * made. Safe to call any number of times meanwhile.
 */
export function gatherWrites(client: IoredisClient, until: WriteGathering = 'tick'): void {
  const socket = client.stream;
  // Already corked: by an earlier call, which will write it all (ioredis never corks).
  if (!socket || socket.writableCorked > 0) return;
  socket.cork();
  if (until === 'by-turn') {
    // The turn's first: its count ends with the turn.
    if (corked.thisTurn++ === 0) setImmediate(turnEnded);
    until = corked.lastTurn > 1 ? 'loop-turn' : 'tick';
  }
  if (until === 'tick') process.nextTick(uncork, socket);
  else setImmediate(uncork, socket);
}

function uncork(socket: IoredisSocket): void {
  socket.uncork();
}
