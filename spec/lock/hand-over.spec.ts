import type { Lock } from '../../lib';
import { runScript } from '../../lib/lock/run-script';
import { ACQUIRE, RELEASE } from '../../lib/lock/scripts';
import { LockKeyspace, resourceKeys, SERVER_COUNTERS } from '../../lib/lock/lock-keys';
import { commandCalls, useRedis, waitFor } from '../support/redis';

const redis = useRedis();
const keyspace = new LockKeyspace('');

/** Single-node ACQUIRE for `token` (10 s lease), straight through the script: no live waiter. */
function acquire(admin: ScriptAdmin, resources: string[], token: string, entryTtlMs = 60_000): Promise<[number, number, number?]> {
  return runScript(admin, ACQUIRE, keyspace.keys(resources, token), [token, '10000', String(entryTtlMs), '1']) as Promise<[number, number, number?]>;
}

function release(admin: ScriptAdmin, resources: string[], token: string): Promise<number> {
  return runScript(admin, RELEASE, keyspace.keys(resources, token), [token, '1', ...keyspace.channels(resources)]) as Promise<number>;
}

/** The record of `token` waiting for `resources` (the name it has in the queues). */
const record = (resources: string[], token: string) => keyspace.waiterKey(resources, token);

type ScriptAdmin = Awaited<ReturnType<typeof redis.connect>>;

/** Records what releases publish on `resources`' channels (in order, per resource). */
async function listenToReleases(resources: string[]): Promise<Record<string, string[]>> {
  const subscriber = await redis.connect();
  const heard: Record<string, string[]> = {};
  for (const [i, channel] of keyspace.channels(resources).entries()) {
    const messages: string[] = (heard[resources[i]!] = []);
    await subscriber.sSubscribe(channel, (message) => messages.push(message));
  }
  return heard;
}


describe('waiting for a lock: no reservation, hand-over at release', () => {
  it('gives a holder a free resource at once, though a waiter for it waits on that holder', async () => {
    const admin = await redis.connect();
    const caller1 = await redis.transactor();
    const caller2 = await redis.transactor();
    // Ends both waits at once if an expectation fails (else teardown waits out their timeouts).
    const stop = new AbortController();
    const b = await caller1.lock(['b'], { ttlMs: 60_000 });
    const waiting = caller2.lock(['a', 'b'], { acquireTimeoutMs: 60_000, signal: stop.signal });
    waiting.catch(() => {});
    try {
      await waitFor(async () => (await admin.zCard(resourceKeys('a').queue)) === 1, 'caller 2 to queue for a and b');

      // Caller 2 waits on caller 1 (for b); caller 1 now asks for free a. With a reservation it
      // would queue behind caller 2 on a: a wait-for cycle, broken only by b's release or the timeout.
      const nested = caller1.lock(['a'], { acquireTimeoutMs: 60_000, signal: stop.signal });
      nested.catch(() => {});
      let settled = false;
      const queuedBehind = waitFor(
        async () => settled || (await admin.zCard(resourceKeys('a').queue)) === 2,
        'the nested call to resolve or queue behind caller 2',
      ).then(() => 'queued behind the waiter');
      const first = await Promise.race([nested.then(() => 'acquired'), queuedBehind]);
      settled = true;
      await queuedBehind;

      expect(first).toBe('acquired');
      const a = await nested;
      expect(await admin.get(resourceKeys('a').lock)).toBe(a.token);
      expect(await admin.get(resourceKeys('b').lock)).toBe(b.token);
      expect(await admin.zRange(resourceKeys('b').queue, 0, -1)).toHaveLength(1); // caller 2 still waits
      await a.release();
      await b.release();
      const both = await waiting;
      expect(both.fencingToken).toBeGreaterThan(Math.max(a.fencingToken, b.fencingToken));
      await both.release();
    } finally {
      stop.abort();
    }
  });

  it('serves a waiter for several resources within N grants under a steady stream of N single-resource lockers', async () => {
    const N = 4;
    const CAP = 20 * N; // a safety net so that broken code ends the stream; never reached when correct
    const admin = await redis.connect();
    const gate = await (await redis.transactor()).lock(['a'], { ttlMs: 60_000 });
    let served = false;
    let streamGrants = 0;
    const workers = await Promise.all(Array.from({ length: N }, () => redis.transactor()));
    const stream = workers.map(async (worker) => {
      // lock, release, lock again at once: a newcomer right after every release.
      while (!served && streamGrants < CAP) {
        const lock: Lock = await worker.lock(['a'], { acquireTimeoutMs: 60_000 });
        streamGrants++;
        await lock.release();
      }
    });
    await waitFor(async () => (await admin.zCard(resourceKeys('a').queue)) === N, 'the stream to queue on a');
    const waiter = (await redis.transactor()).lock(['a', 'b'], { acquireTimeoutMs: 60_000 });
    await waitFor(async () => (await admin.zCard(resourceKeys('b').queue)) === 1, 'the waiter to queue on a and b');

    await gate.release();
    const both = await waiter;
    served = true;
    // Nobody had `a` while the gate held it, nor has it while the waiter does: every stream grant so far came while it waited.
    const grantsOfAWhileItWaited = streamGrants;

    // The N stream lockers queued ahead of it each get a once; every one of them that comes back
    // queues behind it, and the release that frees a hands a to it (b is free): N grants, no more.
    expect(grantsOfAWhileItWaited).toBeLessThanOrEqual(N);
    expect(streamGrants).toBeLessThan(CAP); // served while the stream still ran
    await both.release();
    await Promise.all(stream);
  });

  it('hands the lock to the first waiter at release: holder before it looks again, woken by its token', async () => {
    const admin = await redis.connect();
    const x = resourceKeys('x');
    const [taken, first] = await acquire(admin, ['x'], 'holder');
    expect(taken).toBe(1);
    const [busy, , ticket] = await acquire(admin, ['x'], 'w1');
    expect(busy).toBe(0);
    expect((await acquire(admin, ['x'], 'w2'))[0]).toBe(0);
    const heard = await listenToReleases(['x']);

    expect(await release(admin, ['x'], 'holder')).toBe(1);

    // Neither waiter has run anything since: the release itself made w1 the holder.
    expect(await admin.get(x.lock)).toBe('w1');
    expect(await admin.pTTL(x.lock)).toBeGreaterThan(0);
    expect(await admin.pTTL(x.lock)).toBeLessThanOrEqual(10_000); // w1's own lease
    expect(await admin.zRange(x.queue, 0, -1)).toEqual([record(['x'], 'w2')]);
    expect(await admin.zRange(x.expiry, 0, -1)).toEqual([record(['x'], 'w2')]);
    expect(await admin.exists([record(['x'], 'w1'), record(['x'], 'w2')])).toBe(1); // w1's went with the hand-over
    await waitFor(() => heard.x!.length > 0, 'the hand-over to be published');
    // Named with its place in line: a waiter that lost this grant and queued again holds another.
    expect(heard.x).toEqual([`w1:${ticket}`]);
    // w1 wakes, acquires again, finds itself holder: one fence bump for the grant (a lane's lock
    // takes the hand-over as its grant instead, lock-mode.spec.ts).
    const [again, second] = await acquire(admin, ['x'], 'w1');
    expect(again).toBe(1);
    expect(second).toBeGreaterThan(first);
    expect(Number(await admin.hGet(SERVER_COUNTERS, 'fence'))).toBe(second);
  });

  it('skips a waiter blocked on another resource, and hands it everything once all is free', async () => {
    const admin = await redis.connect();
    const [x, y] = [resourceKeys('x'), resourceKeys('y')];
    await acquire(admin, ['x'], 'hx');
    await acquire(admin, ['y'], 'hy');
    const [, , wxyTicket] = await acquire(admin, ['x', 'y'], 'wxy'); // first in line on x and y
    const [, , wxTicket] = await acquire(admin, ['x'], 'wx'); // behind it on x
    expect(wxTicket).toBeGreaterThan(wxyTicket!);
    const heard = await listenToReleases(['x', 'y']);

    await release(admin, ['x'], 'hx'); // wxy still needs y: skipped, not reserved for
    expect(await admin.get(x.lock)).toBe('wx');
    await release(admin, ['y'], 'hy'); // wxy now needs x (wx has it): nobody to hand y to
    expect(await admin.get(y.lock)).toBeNull();
    await release(admin, ['x'], 'wx'); // x and y free: wxy gets both

    expect([await admin.get(x.lock), await admin.get(y.lock)]).toEqual(['wxy', 'wxy']);
    expect(await admin.exists([x.queue, x.expiry, y.queue, y.expiry])).toBe(0);
    expect(await admin.exists(record(['x', 'y'], 'wxy'))).toBe(0);
    await waitFor(() => heard.x!.length === 2, 'the second hand-over of x to be published');
    // One subscriber connection: y's messages, had there been any, arrived before x's last one.
    expect(heard).toEqual({ x: [`wx:${wxTicket}`, `wxy:${wxyTicket}`], y: [] });
  });

  it('releases every resource before handing any over: a waiter for all of them is not overtaken piecemeal', async () => {
    const admin = await redis.connect();
    await acquire(admin, ['x', 'y'], 'holder');
    expect((await acquire(admin, ['x', 'y'], 'wxy'))[0]).toBe(0);
    expect((await acquire(admin, ['x'], 'wx'))[0]).toBe(0);

    expect(await release(admin, ['x', 'y'], 'holder')).toBe(2);

    expect(await admin.get(resourceKeys('x').lock)).toBe('wxy');
    expect(await admin.get(resourceKeys('y').lock)).toBe('wxy');
    expect(await admin.zRange(resourceKeys('x').queue, 0, -1)).toEqual([record(['x'], 'wx')]);
  });

  it('drops the hand-over record with the queue entry when a waiter’s entry expires', async () => {
    const admin = await redis.connect();
    const x = resourceKeys('x');
    await acquire(admin, ['x'], 'holder');
    await acquire(admin, ['x'], 'crashed', 10_000); // stops refreshing
    expect(await admin.exists(record(['x'], 'crashed'))).toBe(1);
    // Its entry runs out (as if 10 s had passed without a refresh).
    await admin.zAdd(x.expiry, { score: 0, value: record(['x'], 'crashed') });

    // Each later waiter's try prunes expired entries first, records with them.
    await acquire(admin, ['x'], 'alive');
    expect(await admin.zRange(x.queue, 0, -1)).toEqual([record(['x'], 'alive')]);
    expect(await admin.exists(record(['x'], 'crashed'))).toBe(0);
    await release(admin, ['x'], 'holder');
    expect(await admin.get(x.lock)).toBe('alive');
  });

  it('gives every record of a waiter a TTL: a waiter that dies leaves nothing for good', async () => {
    const admin = await redis.connect();
    const [x, y] = [resourceKeys('x'), resourceKeys('y')];
    await acquire(admin, ['x', 'y'], 'holder');
    await acquire(admin, ['x', 'y'], 'dies', 2_000);
    for (const key of [record(['x', 'y'], 'dies'), x.queue, x.expiry, y.queue, y.expiry]) {
      const ttl = await admin.pTTL(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(4_000); // twice the entry TTL
    }
    expect(await admin.pTTL(x.lock)).toBeGreaterThan(0);
    // Only the server's counters stay (one hash, never one per resource).
    const lasting = [];
    for (const key of await admin.keys('*')) if ((await admin.pTTL(key)) === -1) lasting.push(key);
    expect(lasting).toEqual([SERVER_COUNTERS]);
  });

  it('skips a queued waiter whose record it cannot read, and hands over to the next', async () => {
    const admin = await redis.connect();
    const x = resourceKeys('x');
    await acquire(admin, ['x'], 'holder');
    await acquire(admin, ['x'], 'unreadable');
    await acquire(admin, ['x'], 'w2');
    await admin.set(record(['x'], 'unreadable'), 'not msgpack: written by another version');

    expect(await release(admin, ['x'], 'holder')).toBe(1);

    expect(await admin.get(x.lock)).toBe('w2');
    expect(await admin.zRange(x.queue, 0, -1)).toEqual([record(['x'], 'unreadable')]); // it finds the lock by itself later
  });

  it('skips a queued waiter whose record expired, and hands over to the next', async () => {
    const admin = await redis.connect();
    const x = resourceKeys('x');
    await acquire(admin, ['x'], 'holder');
    await acquire(admin, ['x'], 'gone');
    await acquire(admin, ['x'], 'w2');
    await admin.del(record(['x'], 'gone'));

    expect(await release(admin, ['x'], 'holder')).toBe(1);

    expect(await admin.get(x.lock)).toBe('w2');
  });

  it('acquires an uncontended lock with one clock read (its token’s floor), releases it without one, touching no queue', async () => {
    const admin = await redis.connect();
    await admin.configResetStat();

    const [taken] = await acquire(admin, ['x'], 'solo');
    expect(taken).toBe(1);
    expect(await commandCalls(admin, 'time')).toBe(1);
    expect(await release(admin, ['x'], 'solo')).toBe(1);

    expect(await commandCalls(admin, 'time')).toBe(1);
    expect(await commandCalls(admin, 'zrangebyscore')).toBe(0);
    expect(await commandCalls(admin, 'zrange')).toBe(0);
  });
});
