import { createClient } from 'redis';
import { createRedlock, InvalidOptionsError, LockUnavailableError, type Redlock } from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { useRedisNodes } from '../support/redis-nodes';
import { waitFor } from '../support/redis';

const nodes = useRedisNodes(5);
const redlock = (options?: Parameters<typeof createRedlock>[1]): Redlock => nodes.redlock(options);

/** Runs `holders` lockers that each take the lock `rounds` times and record who is inside. */
async function exclusionCheck(holders: number, rounds: number) {
  let inside = 0;
  let mostInside = 0;
  const fences: number[] = [];
  await Promise.all(
    Array.from({ length: holders }, async () => {
      const r = redlock();
      for (let i = 0; i < rounds; i++) {
        await r.withLock(['ledger'], async (lock) => {
          inside++;
          mostInside = Math.max(mostInside, inside);
          fences.push(lock.fencingToken);
          await nodes.clients[0]!.ping().catch(() => undefined); // real I/O inside the critical section
          await new Promise((resolve) => setImmediate(resolve));
          inside--;
        }, { acquireTimeoutMs: 30_000 });
      }
    }),
  );
  return { mostInside, fences };
}

// Taking, excluding and releasing on a majority, for each client library: spec/clients/redlock.spec.ts.
describe('createRedlock over 5 independent servers', () => {
  it('takes a free lock on the very first try of a new Redlock (acquireTimeoutMs 0)', async () => {
    // A generous node timeout: what is checked is that the first try works (scripts, connections), not how fast.
    const lock = await redlock({ nodeTimeoutMs: 5_000 }).lock(['fresh'], { acquireTimeoutMs: 0 });
    expect(lock.fencingToken).toBeGreaterThan(0);
    await lock.release();
  });

  it('keeps working, and exclusive, with 2 of 5 servers stopped', async () => {
    await Promise.all([nodes.servers[3]!.stop(), nodes.servers[4]!.stop()]);

    const lock = await redlock().lock(['payout:2']);
    await expect(redlock().lock(['payout:2'], { acquireTimeoutMs: 0 })).rejects.toBeInstanceOf(LockUnavailableError);
    await lock.release();
    const { mostInside, fences } = await exclusionCheck(3, 5);

    expect(mostInside).toBe(1);
    expect(fences.every((f, i) => i === 0 || f > fences[i - 1]!)).toBe(true);
  });

  it('fails with LockUnavailableError (reason quorum) with 3 of 5 stopped', async () => {
    await Promise.all([nodes.servers[2]!.stop(), nodes.servers[3]!.stop(), nodes.servers[4]!.stop()]);

    const failure = redlock().lock(['payout:3'], { acquireTimeoutMs: 300 });

    await expect(failure).rejects.toBeInstanceOf(LockUnavailableError);
    await expect(failure).rejects.toMatchObject({ reason: 'quorum', message: expect.stringContaining('only 2 of 5 Redis nodes answered (3 needed)') });
    expect(await nodes.clients[0]!.exists(resourceKeys('payout:3').lock)).toBe(0); // nothing left half-held
  });

  it('releases on nodes that seemed to fail (their reply was only late)', async () => {
    await nodes.clients[0]!.sendCommand(['CLIENT', 'PAUSE', '400', 'ALL']); // node 0 stalls: its reply comes too late
    const r = redlock({ nodeTimeoutMs: 50 });

    const lock = await r.lock(['payout:4'], { ttlMs: 120_000 }); // a leftover would outlive the test
    await lock.release();

    const probe = createClient({ url: nodes.servers[0]!.url });
    await probe.connect();
    // Once node 0 wakes, it runs the late acquire and then the release: nothing is left behind.
    await waitFor(async () => (await probe.exists(resourceKeys('payout:4').lock)) === 0 && (await probe.ping()) === 'PONG', 'node 0 to catch up');
    expect(await probe.exists(resourceKeys('payout:4').lock)).toBe(0);
    await probe.close();
  });

  it('close() lets a withLock in flight finish and release on every node', async () => {
    const r = redlock();
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let inside!: () => void;
    const entered = new Promise<void>((resolve) => (inside = resolve));
    const call = r.withLock(['payout:close'], async () => {
      inside();
      await finished;
      return 'done';
    });
    await entered;
    const closing = r.close();
    await expect(r.lock(['payout:other'])).rejects.toThrow('the transactor is closed');
    finish();
    await expect(call).resolves.toBe('done');
    await closing;
    expect(await Promise.all(nodes.clients.map((c) => c.exists(resourceKeys('payout:close').lock)))).toEqual([0, 0, 0, 0, 0]);
  });

  it('validates its clients and options', () => {
    expect(() => createRedlock([], {})).toThrow(InvalidOptionsError);
    expect(() => createRedlock([{}] as never)).toThrow('clients[0]: must be a node-redis client');
    expect(() => createRedlock(nodes.clients, { nodeTimeoutMs: 0 })).toThrow('options.nodeTimeoutMs: must be a positive number of milliseconds, got 0');
    expect(() => createRedlock(nodes.clients, { ttlMs: -1 })).toThrow('options.ttlMs: must be a positive number of milliseconds');
  });

  it('refuses a node timeout longer than a Node timer can wait (it would fire after 1 ms), and takes the longest one', async () => {
    expect(() => createRedlock(nodes.clients, { nodeTimeoutMs: 2 ** 31 })).toThrow(
      'options.nodeTimeoutMs: must be at most 2147483647 (the longest timer Node can set), got 2147483648',
    );
    const lock = await redlock({ nodeTimeoutMs: 2 ** 31 - 1 }).lock(['payout:5'], { acquireTimeoutMs: 0 });
    expect(await lock.release()).toBe(true);
  });
});
