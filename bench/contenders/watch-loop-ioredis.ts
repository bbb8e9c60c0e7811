import type { Redis } from 'ioredis';
import { connectIoredis } from '../redis-client.js';
import type { Contender } from '../types.js';
import { connectedDuplicates, setupWatchLoop, WATCH_LOOP_MAX_ATTEMPTS, type WatchLoopConnection, type WatchLoopConnections } from './watch-loop-core.js';

/**
 * The hand-written loop as a careful ioredis user writes it: a dedicated connection per worker
 * (duplicates of one `Redis`; WATCH belongs to a connection), WATCH and the GETs in one pipeline
 * (one write, one round trip), then `multi()` (MULTI, the INCRBYs and EXEC in one write): two
 * round trips per uncontended op. The baseline of the ioredis table.
 */
export const watchLoopIoredis: Contender = {
  name: 'watch-loop-ioredis',
  summary: `hand-written ioredis loop, duplicate connection per worker: pipeline().watch().get() in one round trip, multi().exec(), retry at once on null (≤ ${WATCH_LOOP_MAX_ATTEMPTS} attempts)`,
  setup: (ctx) => setupWatchLoop(ctx, ioredisWatchConnections),
};

/** The first error of a pipeline's `[err, reply]` pairs, thrown; else the replies. */
function repliesOf(results: Array<[Error | null, unknown]>): unknown[] {
  for (const [err] of results) if (err) throw err;
  return results.map(([, reply]) => reply);
}

async function ioredisWatchConnections(url: string, count: number): Promise<WatchLoopConnections> {
  const base = await connectIoredis(url);
  const clients: Redis[] = await connectedDuplicates(base, count);
  const perWorker = clients.map(
    (c): WatchLoopConnection => ({
      async read(op) {
        const pipeline = c.pipeline().watch(...op.keys);
        for (const k of op.reads) pipeline.get(k);
        const [, ...values] = repliesOf((await pipeline.exec()) ?? []);
        return values as Array<string | null>;
      },
      unwatch: () => c.unwatch(),
      async commit(writes) {
        const multi = c.multi();
        for (const w of writes) multi.incrby(w.key, w.by);
        const results = await multi.exec();
        if (results === null) return false; // a watched key changed: EXEC aborted
        repliesOf(results);
        return true;
      },
    }),
  );
  return {
    perWorker,
    async close() {
      await Promise.all([...clients, base].map((c) => c.quit()));
    },
  };
}
