/**
 * withLock around work outside Redis, with the fencing token passed on.
 *
 *   npx tsx examples/with-lock-fencing.ts
 *
 * Two workers write the same report to a store that is not Redis (here an in-memory stand-in for
 * a database or object store). Worker A stalls past its lease (think: a long GC pause) while
 * worker B takes the lock and writes. When A wakes up and writes, the store refuses it: A's
 * fencing token is older than the last one it accepted. The lock alone cannot prevent A's late
 * write; the fencing token can, if the store checks it.
 */
import { createClient } from 'redis';
import { createTransactor } from '../lib/index.js';
import { startEmbeddedRedis } from './support/embedded-redis.js';

/** A store that accepts a write only with a fencing token at least as new as the last one. */
class FencedStore {
  #lastToken = 0;
  readonly writes: string[] = [];

  write(value: string, fencingToken: number): void {
    if (fencingToken < this.#lastToken) {
      throw new Error(`refused "${value}": fencing token ${fencingToken} is older than ${this.#lastToken}`);
    }
    this.#lastToken = fencingToken;
    this.writes.push(value);
  }
}

async function main(): Promise<void> {
  const embedded = process.env.REDIS_URL ? undefined : await startEmbeddedRedis();
  const client = createClient({ url: process.env.REDIS_URL ?? embedded!.url });
  await client.connect();
  const tx = createTransactor(client);
  const store = new FencedStore();
  const resource = `report:${Date.now()}`;

  let bTookOver!: () => void;
  const takeover = new Promise<void>((resolve) => (bTookOver = resolve));

  const workerA = tx.withLock(
    [resource],
    async (lock) => {
      console.log(`A holds the lock, fencing token ${lock.fencingToken}, valid for ${Math.round(lock.validityMs)} ms`);
      await takeover; // A stalls; its lease (200 ms, not renewed) runs out meanwhile
      console.log(`A wakes up; lock.signal.aborted = ${lock.signal.aborted} (${String((lock.signal.reason as Error | undefined)?.message)})`);
      store.write('report by A', lock.fencingToken);
    },
    { ttlMs: 200, autoExtend: false },
  );

  const workerB = tx.withLock([resource], (lock) => {
    console.log(`B holds the lock, fencing token ${lock.fencingToken}`);
    store.write('report by B', lock.fencingToken);
    bTookOver();
  });

  const [a, b] = await Promise.allSettled([workerA, workerB]);
  console.log(`A: ${a.status === 'rejected' ? `failed: ${(a.reason as Error).message}` : 'done'}`);
  console.log(`B: ${b.status}`);
  console.log(`store holds: ${JSON.stringify(store.writes)}`);

  await tx.close();
  await client.close();
  await embedded?.stop();
  process.exitCode = store.writes.length === 1 && store.writes[0] === 'report by B' ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
