/**
 * The hand-written WATCH/MULTI/EXEC loop the watch-loop contenders share, and its node-redis
 * connections (watch-loop, watch-loop-pipelined); watch-loop-ioredis.ts has ioredis's.
 */
import { WatchError } from 'redis';
import { connectClient } from '../redis-client.js';
import type { BenchClient, CellContext, ContenderCell, Op, OpResult, Write } from '../types.js';

/** Attempts a hand-written loop makes before it gives up on one operation. */
export const WATCH_LOOP_MAX_ATTEMPTS = 1000;

/** One worker's dedicated connection, as the loop uses it: the part written in each client's API. */
export interface WatchLoopConnection {
  /** WATCHes `op.keys` and GETs `op.reads`: the values read, in order. */
  read(op: Op): Promise<ReadonlyArray<string | null>>;
  unwatch(): Promise<unknown>;
  /** MULTI, an INCRBY per write, EXEC: false when EXEC aborted because a watched key changed. */
  commit(writes: readonly Write[]): Promise<boolean>;
}

/** A dedicated connection per worker (WATCH belongs to a connection), and how to close them all. */
export interface WatchLoopConnections {
  readonly perWorker: readonly WatchLoopConnection[];
  close(): Promise<void>;
}

/**
 * The hand-written optimistic loop people write: on the worker's dedicated connection, WATCH,
 * read, MULTI/EXEC, and when EXEC aborts retry at once, up to WATCH_LOOP_MAX_ATTEMPTS. What
 * `connect` opens decides the client and how the commands go out.
 */
export async function setupWatchLoop(ctx: CellContext, connect: (url: string, count: number) => Promise<WatchLoopConnections>): Promise<ContenderCell> {
  const connections = await connect(ctx.url, ctx.concurrency);
  return {
    async run(op: Op, worker: number): Promise<OpResult> {
      const c = connections.perWorker[worker]!;
      for (let attempt = 1; attempt <= WATCH_LOOP_MAX_ATTEMPTS; attempt++) {
        const writes = op.decide(await c.read(op));
        if (writes.length === 0) {
          await c.unwatch(); // refused: release the WATCH so it cannot abort this connection's next EXEC
          return { committed: true, attempts: attempt };
        }
        if (await c.commit(writes)) return { committed: true, attempts: attempt };
      }
      return { committed: false, attempts: WATCH_LOOP_MAX_ATTEMPTS };
    },
    teardown: () => connections.close(),
  };
}

/**
 * `count` connected duplicates of `base`, one per worker (WATCH belongs to a connection), of
 * either client library; their failures surface through their commands.
 */
export function connectedDuplicates<C extends { on(event: 'error', listener: () => void): unknown; connect(): Promise<unknown> }>(
  base: { duplicate(): C },
  count: number,
): Promise<C[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const c = base.duplicate(); // ioredis: lazyConnect, as the base
      c.on('error', () => {});
      await c.connect();
      return c;
    }),
  );
}

/**
 * node-redis connections, duplicates of one client: `pipelined` sends WATCH together with the
 * reads (two round trips per uncontended op) instead of awaiting WATCH first (three); an aborted
 * EXEC is a WatchError.
 */
export function nodeRedisWatchConnections(pipelined: boolean) {
  return async (url: string, count: number): Promise<WatchLoopConnections> => {
    const base = await connectClient(url);
    const clients = await connectedDuplicates<BenchClient>(base, count);
    const perWorker = clients.map(
      (c): WatchLoopConnection => ({
        async read(op) {
          if (pipelined) {
            const [, ...values] = await Promise.all([c.watch([...op.keys]), ...op.reads.map((k) => c.get(k))]);
            return values;
          }
          await c.watch([...op.keys]);
          return Promise.all(op.reads.map((k) => c.get(k)));
        },
        unwatch: () => c.unwatch(),
        async commit(writes) {
          const multi = c.multi();
          for (const w of writes) multi.incrBy(w.key, w.by);
          try {
            await multi.exec();
            return true;
          } catch (err) {
            if (err instanceof WatchError) return false;
            throw err;
          }
        },
      }),
    );
    return {
      perWorker,
      async close() {
        await Promise.all([...clients, base].map((c) => c.close()));
      },
    };
  };
}
