import {
  createTransactor,
  LockLostError,
  LockUnavailableError,
} from '../../lib';
import { runScript } from '../../lib/lock/run-script';
import { ACQUIRE, EXTEND, RELEASE } from '../../lib/lock/scripts';
import { LockKeyspace, resourceKeys } from '../../lib/lock/lock-keys';
import { commandCalls, useRedis, waitFor } from '../support/redis';

const redis = useRedis();


// One holder at a time, waking a waiter, and locks refused after close(), for every client:
// spec/clients/locks.spec.ts and spec/clients/lifecycle.spec.ts; bad input: spec/clients/bad-input.spec.ts.
describe('tx.lock', () => {
  it('issues fencing tokens that strictly increase per resource, across multi-resource locks', async () => {
    const tx = createTransactor(await redis.connect());
    const tokens: number[] = [];
    for (const resources of [['a'], ['b'], ['b'], ['a', 'b'], ['a'], ['c', 'a']]) {
      const lock = await tx.lock(resources);
      tokens.push(lock.fencingToken);
      await lock.release();
    }
    // Each above the last of every resource it names (and, here on one server, above every earlier one).
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
    // At least the server's clock in microseconds: above any token an earlier version counted.
    const [seconds, micros] = await (await redis.connect()).sendCommand<[string, string]>(['TIME']);
    expect(tokens[0]).toBeGreaterThan(Number(seconds) * 1e6 + Number(micros) - 60e6);
    expect(tokens.every((t) => Number.isSafeInteger(t))).toBe(true);
    await tx.close();
  });

  it('takes several resources all or nothing', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    const holder = await tx.lock(['r2']);

    await expect(tx.lock(['r1', 'r2', 'r3'], { acquireTimeoutMs: 0 })).rejects.toBeInstanceOf(LockUnavailableError);

    expect(await admin.exists([resourceKeys('r1').lock, resourceKeys('r3').lock])).toBe(0);
    const r1 = await tx.lock(['r1'], { acquireTimeoutMs: 0 });
    await r1.release();
    await holder.release();
    await tx.close();
  });

  it('never releases or extends a lock it no longer holds', async () => {
    const admin = await redis.connect();
    const a = createTransactor(await redis.connect());
    const b = createTransactor(await redis.connect());
    const stale = await a.lock(['job:1'], { ttlMs: 50 });
    await waitFor(() => stale.signal.aborted, 'the first lease to run out');
    const current = await b.lock(['job:1']);

    expect(stale.signal.reason).toBeInstanceOf(LockLostError);
    await expect(stale.extend()).rejects.toBeInstanceOf(LockLostError);
    expect(await stale.release()).toBe(false);
    expect(await admin.get(resourceKeys('job:1').lock)).toBe(current.token);
    const currentTtl = await admin.pTTL(resourceKeys('job:1').lock);
    expect(currentTtl).toBeGreaterThan(1000); // the new holder's lease (default 10 s), not the stale one's 50 ms
    expect(currentTtl).toBeLessThanOrEqual(10_000);
    await current.release();
    await a.close();
    await b.close();
  });

  it('refuses a release or renewal by a foreign token', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    const held = await tx.lock(['acct:9'], { ttlMs: 30_000 });
    const keyspace = new LockKeyspace('');
    const foreign = 'f'.repeat(32);

    const released = await runScript(admin, RELEASE, keyspace.keys(['acct:9'], foreign), [foreign, '1', ...keyspace.channels(['acct:9'])]);
    const extended = await runScript(admin, EXTEND, keyspace.keys(['acct:9'], foreign), [foreign, '999999']);

    expect([released, extended]).toEqual([0, 0]);
    expect(await admin.get(resourceKeys('acct:9').lock)).toBe(held.token);
    // Still the holder's own lease: not stretched to the foreign 999999, not stripped (-1), not gone (-2).
    const ttl = await admin.pTTL(resourceKeys('acct:9').lock);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30_000);
    expect(await held.release()).toBe(true);
    await tx.close();
  });

  it('lets a crashed holder’s lock expire, then serves the waiter', async () => {
    const admin = await redis.connect();
    const crashed = createTransactor(await redis.connect());
    const waiter = createTransactor(await redis.connect());
    const dead = await crashed.lock(['cron:nightly'], { ttlMs: 300 });
    await admin.clientKill({ filter: 'SKIPME', skipMe: true }); // the holder's process is gone

    const next = await waiter.lock(['cron:nightly'], { acquireTimeoutMs: 5_000 });

    expect(next.fencingToken).toBeGreaterThan(dead.fencingToken);
    await next.release();
    await crashed.close();
    await waiter.close();
  });

  it('serves waiters first come, first served', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    const holder = await tx.lock(['q'], { ttlMs: 60_000 });
    const order: string[] = [];
    const waiters: Promise<void>[] = [];
    for (const name of ['first', 'second', 'third', 'fourth']) {
      waiters.push(
        tx.withLock(['q'], () => {
          order.push(name);
        }),
      );
      await waitFor(async () => (await admin.zCard(resourceKeys('q').queue)) === waiters.length, `${name} to queue`);
    }

    await holder.release();
    await Promise.all(waiters);

    expect(order).toEqual(['first', 'second', 'third', 'fourth']);
    await tx.close();
  });

  it('fails with reason aborted when the signal aborts the wait', async () => {
    const a = createTransactor(await redis.connect());
    const held = await a.lock(['x']);
    const controller = new AbortController();
    const waiting = a.lock(['x'], { signal: controller.signal });
    controller.abort(new Error('client went away'));

    await expect(waiting).rejects.toMatchObject({ code: 'ERR_LOCK_UNAVAILABLE', reason: 'aborted' });
    await held.release();
    await a.close();
  });

  it('keeps a waiter’s places in line consistent across its resources (no deadlock after an expired entry)', async () => {
    const admin = await redis.connect();
    const keyspace = new LockKeyspace('');
    const acquire = (resources: string[], token: string) =>
      runScript(admin, ACQUIRE, keyspace.keys(resources, token), [token, '10000', '60000', '1']) as Promise<[number, number]>;
    const [w1, w2] = [keyspace.waiterKey(['A', 'B'], 'w1'), keyspace.waiterKey(['A', 'B'], 'w2')];
    await acquire(['A', 'B'], 'holder');
    expect((await acquire(['A', 'B'], 'w1'))[0]).toBe(0); // queued on A and B
    await admin.zRem(resourceKeys('A').queue, w1); // its place on A expired (a stall)
    expect((await acquire(['A', 'B'], 'w2'))[0]).toBe(0); // w2 queues behind: A [w2], B [w1, w2]

    await acquire(['A', 'B'], 'w1'); // w1 comes back: it must give up B's place and queue again on both

    expect(await admin.zRange(resourceKeys('A').queue, 0, -1)).toEqual([w2, w1]);
    expect(await admin.zRange(resourceKeys('B').queue, 0, -1)).toEqual([w2, w1]);
  });
});

describe('tx.withLock', () => {
  it('renews the lease while fn runs past the TTL, and always releases', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    await admin.configResetStat();

    const value = await tx.withLock(['long-job'], async (lock) => {
      await waitFor(async () => (await commandCalls(admin, 'pexpire')) >= 3, 'three renewals');
      expect(lock.signal.aborted).toBe(false);
      expect(await admin.get(resourceKeys('long-job').lock)).toBe(lock.token);
      return lock.fencingToken;
    }, { ttlMs: 60 });

    expect(Number.isSafeInteger(value) && value > 0).toBe(true); // fn's value: the lock's fencing token
    expect(await admin.exists(resourceKeys('long-job').lock)).toBe(0);
    await tx.close();
  });

  it('aborts lock.signal when a renewal finds the lock taken, and rejects with LockLostError', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());

    const failure = tx.withLock(['job'], async (lock) => {
      await admin.set(resourceKeys('job').lock, 'someone-else', { PX: 60_000 }); // e.g. after a long GC pause
      await new Promise((resolve) => lock.signal.addEventListener('abort', resolve));
      return 'done';
    }, { ttlMs: 100 });

    await expect(failure).rejects.toBeInstanceOf(LockLostError);
    expect(await admin.get(resourceKeys('job').lock)).toBe('someone-else');
    await tx.close();
  });

  it('aborts lock.signal before the lease ends when renewals cannot reach Redis', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    let pttlAtAbort = -1;

    const failure = tx.withLock(['job'], async (lock) => {
      await admin.sendCommand(['CLIENT', 'PAUSE', '5000', 'WRITE']); // renewals (scripts) hang
      await new Promise((resolve) => lock.signal.addEventListener('abort', resolve));
      pttlAtAbort = await admin.pTTL(resourceKeys('job').lock);
    }, { ttlMs: 400 });

    await expect(failure).rejects.toBeInstanceOf(LockLostError);
    await admin.sendCommand(['CLIENT', 'UNPAUSE']);
    expect(pttlAtAbort).toBeGreaterThan(0); // the server still held it: the signal came first
    expect(pttlAtAbort).toBeLessThanOrEqual(400);
    await tx.close();
  });

  it('rethrows fn’s error after releasing', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    const boom = new Error('boom');

    await expect(tx.withLock(['r'], () => Promise.reject(boom))).rejects.toBe(boom);
    expect(await admin.exists(resourceKeys('r').lock)).toBe(0);
    await tx.close();
  });
});

