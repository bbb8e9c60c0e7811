/**
 * Lock hand-over latency: the time from a holder's release to the next waiter holding the lock,
 * measured side by side in one run for redis-transact's lock (waiters woken by a release
 * notification) and for redlock at its defaults (waiters poll every 200 ± 100 ms).
 *
 *   npm run bench:handoff -- [--rounds 40]
 *
 * Each round: a holder takes the lock, a waiter starts waiting and is given time to be waiting
 * (it is queued, or has made its first try), then the holder releases; the waiter's acquisition
 * is timed from just before the release call on a monotonic clock.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import Redlock from 'redlock';
import { createClient } from 'redis';
import { createTransactor } from './library.js';
import { startEmbeddedRedis } from '../examples/support/embedded-redis.js';
import { quantile } from './measure.js';

interface Contender {
  readonly name: string;
  acquire(resource: string): Promise<() => Promise<unknown>>;
  close(): Promise<void>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { rounds: { type: 'string' } } });
  const rounds = Number(values.rounds ?? 40);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: must be a positive integer, got ${values.rounds}`);
  const server = process.env.REDIS_URL ? undefined : await startEmbeddedRedis();
  const url = process.env.REDIS_URL ?? server!.url;

  const client = createClient({ url });
  await client.connect();
  const tx = createTransactor(client);
  const ioredis = new Redis(url);
  const redlock = new Redlock([ioredis]);
  const contenders: Contender[] = [
    {
      name: 'redis-transact tx.lock (release notification)',
      acquire: async (resource) => {
        const lock = await tx.lock([resource], { ttlMs: 10_000, acquireTimeoutMs: 30_000 });
        return () => lock.release();
      },
      close: () => tx.close(),
    },
    {
      name: 'redlock@4 at its defaults (polls every 200 ± 100 ms)',
      acquire: async (resource) => {
        const lock = await redlock.lock(`${resource}:redlock`, 10_000);
        return () => lock.unlock();
      },
      close: async () => {
        await ioredis.quit();
      },
    },
  ];

  console.log(`# lock hand-over latency (${rounds} rounds each, one redis-server, ${new Date().toISOString()})\n`);
  console.log('| lock | p50 ms | p90 ms | p99 ms | max ms |');
  console.log('| --- | --: | --: | --: | --: |');
  for (const contender of contenders) {
    const latencies: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const resource = `handoff:${round}`;
      const release = await contender.acquire(resource);
      let heldAt = 0;
      const waiter = contender.acquire(resource).then((next) => {
        heldAt = performance.now();
        return next;
      });
      // Let the waiter make its first try and settle into waiting: the hand-over is what is timed.
      await sleep(20 + Math.random() * 30);
      const releasedAt = performance.now();
      await release();
      const releaseNext = await waiter;
      latencies.push(heldAt - releasedAt);
      await releaseNext();
    }
    const sorted = latencies.sort((a, b) => a - b);
    const fmt = (ms: number) => ms.toFixed(ms < 10 ? 2 : 0);
    console.log(
      `| ${contender.name} | ${fmt(quantile(sorted, 0.5))} | ${fmt(quantile(sorted, 0.9))} | ${fmt(quantile(sorted, 0.99))} | ${fmt(sorted[sorted.length - 1]!)} |`,
    );
    await contender.close();
  }
  await client.close();
  await server?.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
