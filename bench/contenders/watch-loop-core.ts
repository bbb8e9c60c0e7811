import { WatchError } from 'redis';
import { connectClient } from '../redis-client.js';
import type { BenchClient, CellContext, ContenderCell, Op, OpResult } from '../types.js';

/** Attempts a hand-written loop makes before it gives up on one operation. */
export const WATCH_LOOP_MAX_ATTEMPTS = 1000;

/**
 * The hand-written optimistic loop people write with node-redis: a dedicated connection per
 * worker (WATCH belongs to a connection), WATCH, read, MULTI/EXEC, and on WatchError retry at
 * once. `pipelined` sends WATCH together with the reads (two round trips per uncontended op)
 * instead of awaiting WATCH first (three).
 */
export async function setupWatchLoop(ctx: CellContext, pipelined: boolean): Promise<ContenderCell> {
  const base = await connectClient(ctx.url);
  const connections: BenchClient[] = await Promise.all(
    Array.from({ length: ctx.concurrency }, async () => {
      const c = base.duplicate();
      c.on('error', () => {});
      await c.connect();
      return c;
    }),
  );

  async function read(c: BenchClient, op: Op): Promise<Array<string | null>> {
    if (pipelined) {
      const [, ...values] = await Promise.all([c.watch([...op.keys]), ...op.reads.map((k) => c.get(k))]);
      return values;
    }
    await c.watch([...op.keys]);
    return Promise.all(op.reads.map((k) => c.get(k)));
  }

  return {
    async run(op: Op, worker: number): Promise<OpResult> {
      const c = connections[worker]!;
      for (let attempt = 1; attempt <= WATCH_LOOP_MAX_ATTEMPTS; attempt++) {
        const writes = op.decide(await read(c, op));
        if (writes.length === 0) {
          await c.unwatch(); // refused: release the WATCH so it cannot abort this connection's next EXEC
          return { committed: true, attempts: attempt };
        }
        const multi = c.multi();
        for (const w of writes) multi.incrBy(w.key, w.by);
        try {
          await multi.exec();
          return { committed: true, attempts: attempt };
        } catch (err) {
          if (!(err instanceof WatchError)) throw err;
        }
      }
      return { committed: false, attempts: WATCH_LOOP_MAX_ATTEMPTS };
    },
    async teardown() {
      await Promise.all([...connections, base].map((c) => c.close()));
    },
  };
}
