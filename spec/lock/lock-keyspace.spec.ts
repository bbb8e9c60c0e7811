/**
 * What locks leave in Redis: a waiter's footprint is linear in its resources, everything a waiter
 * or holder writes expires, and the keys that stay are bounded (one hash per server; on a
 * cluster, per hash slot), however many distinct resources were ever locked.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createTransactor } from '../../lib';
import { LockKeyspace, resourceKeys, SERVER_COUNTERS } from '../../lib/lock/lock-keys';
import { useRedis, waitFor } from '../support/redis';

const redis = useRedis();

async function usedMemory(admin: Awaited<ReturnType<typeof redis.connect>>): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
}

/** Every key on the server with no TTL. */
async function lastingKeys(admin: Awaited<ReturnType<typeof redis.connect>>): Promise<string[]> {
  const lasting: string[] = [];
  for await (const keys of admin.scanIterator({ COUNT: 1000 })) {
    for (const key of keys) if ((await admin.pTTL(key)) === -1) lasting.push(key);
  }
  return lasting.sort();
}

describe('the lock keyspace', () => {
  it('costs one waiter server memory linear in its resources: 1,000 resources stay under 2 MB', async () => {
    const admin = await redis.connect();
    const holder = await redis.transactor();
    const waiterTx = await redis.transactor();
    const resources = Array.from({ length: 1_000 }, (_, i) => `wide:${i}`);
    const held = await holder.lock([resources[0]!], { ttlMs: 60_000 });
    const before = await usedMemory(admin);

    const stop = new AbortController();
    const waiting = waiterTx.lock(resources, { acquireTimeoutMs: 60_000, signal: stop.signal }).catch((err: unknown) => err);
    await waitFor(async () => (await admin.zCard(resourceKeys(resources.at(-1)!).queue)) === 1, 'the waiter to queue on every resource');

    expect((await usedMemory(admin)) - before).toBeLessThan(2 * 1024 * 1024);
    stop.abort();
    await waiting;
    await held.release();
  });

  it('leaves nothing of a waiter killed while it waits, once its TTLs pass', async () => {
    const admin = await redis.connect();
    const holder = await redis.transactor();
    const held = await holder.lock(['x', 'y'], { ttlMs: 60_000 });
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '..', 'support', 'lock-waiter.ts'), redis.url, 'x', 'y'], { stdio: 'ignore' });
    try {
      await waitFor(async () => (await admin.zCard(resourceKeys('y').queue)) === 1, 'the child to queue', 30_000);
      child.kill('SIGKILL');
      // Nothing it wrote lasts: every key but the server's counters (and the holder's locks) expires.
      expect(await lastingKeys(admin)).toEqual([SERVER_COUNTERS]);
      const waiterRecord = (await admin.zRange(resourceKeys('x').queue, 0, -1))[0]!;
      await waitFor(async () => (await admin.exists([waiterRecord, resourceKeys('x').queue, resourceKeys('y').expiry])) === 0, 'its records to expire');
    } finally {
      child.kill('SIGKILL');
      await held.release();
    }
  }, 30_000);

  it('keeps one lasting key however many distinct resources were locked, and tokens still increase per resource', async () => {
    const admin = await redis.connect();
    const tx = await redis.transactor();
    const first = await tx.lock(['order:0']);
    await first.release();
    for (let batch = 0; batch < 100; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const lock = await tx.lock([`order:${batch * 100 + i + 1}`]);
          await lock.release();
        }),
      );
    }
    expect(await lastingKeys(admin)).toEqual([SERVER_COUNTERS]);
    const again = await tx.lock(['order:0']);
    expect(again.fencingToken).toBeGreaterThan(first.fencingToken);
    await again.release();
  });

  it('issues tokens above those of earlier versions (per-resource counters), on a server that has them', async () => {
    const admin = await redis.connect();
    const tx = await redis.transactor();
    // What an earlier version left: a per-resource counter, small.
    await admin.hSet(`rtlock:fence:${resourceKeys('legacy').lock.slice('rtlock:lock:'.length)}`, 'fence', '41');
    const lock = await tx.lock(['legacy']);
    expect(lock.fencingToken).toBeGreaterThan(41);
    await lock.release();
  });

  it('names a waiter’s record by its token, in the slot of its first resource', () => {
    const keyspace = new LockKeyspace('app:');
    expect(keyspace.keys(['a', 'b'], 't1').at(-1)).toBe(keyspace.waiterKey(['a', 'b'], 't1'));
    expect(keyspace.waiterKey(['a', 'b'], 't1')).toMatch(/^app:rtlock:waiter:\{[^}]+\}:t1$/);
    expect(keyspace.keys(['a'], 't1')).toContain(`app:${SERVER_COUNTERS}`);
    expect(new LockKeyspace('app:', true).keys(['a'], 't1')).toContain(`app:${resourceKeys('a', 'app:').counters}`);
  });
});

describe('a lock keyspace shared with the transactor', () => {
  it('keeps the transactor’s own lock-mode calls to the same lasting key', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    for (let i = 0; i < 50; i++) await tx.transact([`k:${i}`], (t) => void t.write.set(`k:${i}`, '1'), { mode: 'lock' });
    await tx.close();
    expect((await lastingKeys(admin)).filter((k) => k.startsWith('rtlock:'))).toEqual([]);
  });
});
