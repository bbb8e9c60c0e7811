import { MultiErrorReply } from 'redis';
import type { LockConnections } from '../../lib/connection/connection';
import { LockKeyspace, QUEUE_ENTRY_TTL_MS, resourceKeys } from '../../lib/lock/lock-keys';
import { ReleaseNotifier } from '../../lib/lock/release-notifier';
import { runScript, scriptCommand } from '../../lib/lock/run-script';
import { ACQUIRE, RELEASE, TAKE } from '../../lib/lock/scripts';
import { SingleNodeBackend } from '../../lib/lock/single-node-backend';
import { commandCalls, useRedis } from '../support/redis';

const redis = useRedis();

type Admin = Awaited<ReturnType<typeof redis.connect>>;

/** A single-node backend running its scripts on `client`, with `prefix` as the key prefix. */
function backendOn(client: Admin, prefix = ''): SingleNodeBackend {
  const connections: LockConnections = {
    commands: () => Promise.resolve(client),
    subscriber: () => Promise.reject(new Error('not used')),
    loadScripts: async (sources) => {
      for (const source of sources) await client.scriptLoad(source);
    },
    close: () => Promise.resolve(),
  };
  return new SingleNodeBackend(connections, new ReleaseNotifier(() => connections.subscriber()), new LockKeyspace(prefix));
}


describe('SingleNodeBackend.tryTake (TAKE)', () => {
  it('takes every free resource at once, with no fencing token', async () => {
    const admin = await redis.connect();
    const backend = backendOn(admin);

    const result = await backend.tryTake(['a', 'b'], 't1', 10_000);

    expect(result).toEqual({ acquired: true, fencingToken: 0, validUntil: expect.any(Number) });
    expect(await admin.mGet([resourceKeys('a').lock, resourceKeys('b').lock])).toEqual(['t1', 't1']);
    const [ttlA, ttlB] = [await admin.pTTL(resourceKeys('a').lock), await admin.pTTL(resourceKeys('b').lock)];
    expect(ttlA).toBeGreaterThan(0); // a lease on every key taken (-1: none, -2: no key)
    expect(ttlA).toBeLessThanOrEqual(10_000);
    expect(ttlB).toBeGreaterThan(0);
    expect(ttlB).toBeLessThanOrEqual(10_000);
  });

  it('refuses when any resource is busy, and takes none of them', async () => {
    const admin = await redis.connect();
    const backend = backendOn(admin);
    await backend.tryTake(['b'], 'other', 10_000);

    expect(await backend.tryTake(['a', 'b'], 't1', 10_000)).toEqual({ acquired: false, waitHintMs: 0 });
    expect(await admin.mGet([resourceKeys('a').lock, resourceKeys('b').lock])).toEqual([null, 'other']);
    const ttl = await admin.pTTL(resourceKeys('b').lock); // the holder's lease, untouched by the refused take
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10_000);
  });

  it('creates no queue, expiry or meta key (busy or not) and reads no clock', async () => {
    const admin = await redis.connect();
    const backend = backendOn(admin);
    await admin.configResetStat();

    await backend.tryTake(['a'], 't1', 10_000);
    await backend.tryTake(['a', 'b'], 't2', 10_000);

    expect(await admin.keys('*')).toEqual([resourceKeys('a').lock]);
    expect(await commandCalls(admin, 'time')).toBe(0);
  });

  it('takes again what the same token holds, renewing the lease', async () => {
    const admin = await redis.connect();
    const backend = backendOn(admin);
    await backend.tryTake(['a'], 't1', 10_000);

    expect((await backend.tryTake(['a', 'b'], 't1', 60_000)).acquired).toBe(true);
    expect(await admin.mGet([resourceKeys('a').lock, resourceKeys('b').lock])).toEqual(['t1', 't1']);
    // The new 60 s lease on both: a renewed, b taken.
    const [ttlA, ttlB] = [await admin.pTTL(resourceKeys('a').lock), await admin.pTTL(resourceKeys('b').lock)];
    expect(ttlA).toBeGreaterThan(10_000);
    expect(ttlA).toBeLessThanOrEqual(60_000);
    expect(ttlB).toBeGreaterThan(10_000);
    expect(ttlB).toBeLessThanOrEqual(60_000);
  });

  it('applies the key prefix to the lock keys', async () => {
    const admin = await redis.connect();
    const backend = backendOn(admin, 'app:');

    expect((await backend.tryTake(['a'], 't1', 10_000)).acquired).toBe(true);
    expect(await admin.get(`app:${resourceKeys('a', 'app:').lock}`)).toBe('t1');
  });

  it('is among the scripts loadScripts puts in the script cache', async () => {
    const admin = await redis.connect();
    await backendOn(admin).loadScripts();

    expect(await admin.scriptExists([TAKE.sha, ACQUIRE.sha, RELEASE.sha])).toEqual([1, 1, 1]);
  });
});

describe('LockKeyspace.forCall', () => {
  it('names the queue keys as they are on the server: they exist exactly while someone waits', async () => {
    const admin = await redis.connect();
    const backend = backendOn(admin);
    const { serverQueueKeys, serverLockKeys, watchKeys } = backend.keyspace.forCall(['a', 'b']);
    const queueKeys = [...serverQueueKeys];
    expect(queueKeys).toEqual([resourceKeys('a').queue, resourceKeys('b').queue]);
    expect(serverLockKeys).toEqual(watchKeys); // no key prefix: the same names

    await backend.tryAcquire(['b'], 'holder', 10_000);
    expect(await admin.exists(queueKeys)).toBe(0);
    await backend.tryAcquire(['a', 'b'], 'waiter', 10_000);
    expect(await admin.exists(queueKeys)).toBe(2);
    await backend.release(['a', 'b'], 'waiter'); // a waiter that gives up
    expect(await admin.exists(queueKeys)).toBe(0);
  });

  it('prefixes the keys sent raw, but not the keys the client prefixes itself (WATCH)', () => {
    const backend = backendOn({} as Admin, 'app:');
    const call = backend.keyspace.forCall(['a']);

    expect(call.serverQueueKeys).toEqual([`app:${resourceKeys('a', 'app:').queue}`]);
    expect(call.serverLockKeys).toEqual([`app:${resourceKeys('a', 'app:').lock}`]);
    expect(call.watchKeys).toEqual([resourceKeys('a', 'app:').lock]);
    expect([...call.resourceKeys, backend.keyspace.waiterKey(['a'], 't')]).toEqual(backend.keyspace.keys(['a'], 't'));
    expect(backend.keyspace.takeKeys(['a'])).toEqual(call.serverLockKeys);
  });
});

describe('scriptCommand', () => {
  it('sends the script by SHA inside MULTI', async () => {
    const admin = await redis.connect();
    const backend = backendOn(admin);
    await backend.loadScripts();
    await backend.tryAcquire(['a'], 't1', 10_000);
    await admin.configResetStat();

    const multi = admin.multi().addCommand(scriptCommand(RELEASE, backend.keyspace.keys(['a'], 't1'), ['t1', '1', ...backend.keyspace.channels(['a'])]));
    expect(await multi.exec()).toEqual([1]);

    expect(await commandCalls(admin, 'evalsha')).toBe(1);
    expect(await commandCalls(admin, 'eval')).toBe(0);
    expect(await admin.exists(resourceKeys('a').lock)).toBe(0);
  });

  it('fails only that command at EXEC when the server lost the script: the others apply', async () => {
    const admin = await redis.connect();
    const backend = backendOn(admin);
    await runScript(admin, ACQUIRE, backend.keyspace.keys(['a'], 't1'), ['t1', '10000', String(QUEUE_ENTRY_TTL_MS), '1']);
    await admin.scriptFlush();

    const multi = admin.multi().set('data', 'written').addCommand(scriptCommand(RELEASE, backend.keyspace.keys(['a'], 't1'), ['t1', '1', ...backend.keyspace.channels(['a'])]));
    const failure = multi.exec();

    await expect(failure).rejects.toBeInstanceOf(MultiErrorReply);
    await expect(failure).rejects.toMatchObject({ replies: ['OK', expect.objectContaining({ message: expect.stringMatching(/^NOSCRIPT/) })] });
    expect(await admin.get('data')).toBe('written');
    expect(await admin.get(resourceKeys('a').lock)).toBe('t1'); // not released: release by token
  });
});
