import type Redis from 'ioredis';
import Valkey from 'iovalkey';
import {
  createRedlock,
  createTransactor,
  isTransactCommandError,
  TransactOutcomeUnknownError,
  type Transactor,
  type TransactMode,
} from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { useIoredis } from '../support/ioredis';
import { waitFor } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * `createTransactor(iovalkey)`: iovalkey 0.4, the Valkey fork of ioredis 5 (RESP2 only), is served
 * by the ioredis driver. What the driver relies on is the same in iovalkey's `built/`: `duplicate()`
 * (the app's options under the driver's overrides), `autoResendUnfulfilledCommands` and
 * `enableOfflineQueue` (on by default, off on the driver's connections), `null` from an aborted
 * EXEC, `keyPrefix` applied by the client, scripts (`defineCommand`, or the `scripts` option) and
 * sharded pub/sub. These hold it to that on a real server; `ioredis-contract.spec.ts` checks the
 * internals against both clients. The app's clients keep iovalkey's defaults.
 */
const redis = useIoredis({ Client: Valkey as unknown as typeof Redis });
const MODES: TransactMode[] = ['optimistic', 'lock', 'auto'];

/** The server-side id of the connection `t.read` is. */
const idOf = async (read: Redis) => Number(await read.client('ID'));

describe('iovalkey', () => {
  it('types t.read as the iovalkey client and t.write as its typed pipeline', () => {
    // Compiled, never run: a misspelt command is a compile error.
    const typed = (client: Valkey) =>
      createTransactor(client).transact(['n'], async (t) => {
        const n: string | null = await t.read.get('n');
        t.write.set('n', String(n)).incr('m');
        // @ts-expect-error: no such command
        t.write.sett('n', '1');
        // @ts-expect-error: no such command
        await t.read.gett('n');
      });
    const tx: (client: Valkey) => Transactor<Valkey> = createTransactor;
    expect([typeof typed, typeof tx]).toEqual(['function', 'function']);
  });

  it('commits a read-modify-write, with the replies iovalkey gives for each command', async () => {
    const { tx, client } = await redis.transactor();
    await client.hset('h', 'a', '1');

    const result = await tx.transact(['n', 'h'], async (t) => {
      const n = Number(await t.read.get('n'));
      t.write.set('n', String(n + 1)).incr('m').hgetall('h').getBuffer('n');
      return n;
    });

    expect(result).toEqual({ value: 0, replies: ['OK', 1, { a: '1' }, Buffer.from('1')], attempts: 1, repliesLost: false });
  });

  it('retries a conflict (EXEC aborted: null) made by another client between WATCH and EXEC', async () => {
    const { tx, client } = await redis.transactor();
    const other = await redis.connect();
    await client.set('stock', '10');
    const seen: number[] = [];

    const result = await tx.transact(['stock'], async (t) => {
      const stock = Number(await t.read.get('stock'));
      seen.push(stock);
      if (t.attempt === 1) await other.decr('stock');
      t.write.set('stock', String(stock - 1));
    });

    expect(result.attempts).toBe(2);
    expect(seen).toEqual([10, 9]);
    expect(await client.get('stock')).toBe('8');
  });

  it('keeps 100 concurrent increments on one shared iovalkey client isolated: 100', async () => {
    const { tx, client } = await redis.transactor();

    await Promise.all(
      Array.from({ length: 100 }, () =>
        tx.transact(['counter'], async (t) => {
          const n = Number(await t.read.get('counter'));
          t.write.set('counter', String(n + 1));
        }),
      ),
    );

    expect(await client.get('counter')).toBe('100');
  });

  it('never commits outside its WATCH after a lost connection: nothing queued offline, nothing re-sent', async () => {
    const { tx, client } = await redis.transactor();
    const admin = await redis.connect();
    await client.set('balance', '100');
    const seen: number[] = [];
    let offlineRead: unknown;

    const result = await tx.transact(['balance'], async (t) => {
      const balance = Number(await t.read.get('balance'));
      seen.push(balance);
      if (t.attempt === 1) {
        await admin.client('KILL', 'ID', String(await idOf(t.read)));
        await waitFor(() => t.read.status !== 'ready', 'the transactor to see its connection drop');
        offlineRead = await t.read.get('balance').catch((err: unknown) => err); // refused, not queued for a reconnect
        await admin.decrby('balance', 50); // unwatched now: only a re-sent EXEC would miss it
      }
      t.write.set('balance', String(balance - 10));
    });

    expect(client.options).toMatchObject({ autoResendUnfulfilledCommands: true, enableOfflineQueue: true }); // iovalkey's defaults
    expect(offlineRead).toBeInstanceOf(Error);
    expect(result.attempts).toBe(2);
    expect(seen).toEqual([100, 50]);
    expect(await client.get('balance')).toBe('40');
  });

  it('reports outcome unknown when the EXEC reply was lost, never re-sends it, and settles it under exactlyOnce', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    proxy.atExec('cut-after-reply', { every: true });
    try {
      const plain = createTransactor(await redis.connect({}, proxy.url));
      redis.track(plain);
      await expect(plain.transact(['n'], (t) => void t.write.incr('n'))).rejects.toBeInstanceOf(TransactOutcomeUnknownError);

      const once = createTransactor(await redis.connect({}, proxy.url), { exactlyOnce: true });
      redis.track(once);
      const settled = await once.transact(['n'], (t) => void t.write.incr('n'));

      expect(settled).toMatchObject({ attempts: 1, repliesLost: true });
      await new Promise((resolve) => setTimeout(resolve, 200)); // room for a re-send, were there one
      expect(await admin.get('n')).toBe('2');
    } finally {
      await redis.cleanUp(); // before the proxy its clients talk through goes
      await proxy.stop();
    }
  });

  it.each(MODES)('applies the client keyPrefix once, to fn’s keys, the lock and the commit marker (%s mode)', async (mode) => {
    const { tx } = await redis.transactor({ exactlyOnce: true }, { keyPrefix: 'app:' });
    const admin = await redis.connect();
    let lockKeys: string[] = [];

    await tx.transact(['n'], async (t) => {
      const n = Number(await t.read.get('n'));
      lockKeys = await admin.keys('*rtlock:lock:*');
      t.write.set('n', String(n + 1));
    }, { mode });

    expect(await admin.get('app:n')).toBe('1');
    const keys = await admin.keys('*');
    expect(keys.filter((k) => !k.startsWith('app:') || k.startsWith('app:app:'))).toEqual([]);
    expect(lockKeys.map((k) => k.slice(0, 'app:rtlock:'.length))).toEqual(mode === 'lock' ? ['app:rtlock:'] : []);
  });

  it('runs the client’s scripts (the scripts option, defineCommand) on t.read and t.write, under its key prefix', async () => {
    const scripts = {
      plus: { numberOfKeys: 1, lua: "return tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(ARGV[1])" },
      addTo: { numberOfKeys: 1, lua: "return redis.call('INCRBY', KEYS[1], ARGV[1])" },
    };
    const { tx } = await redis.transactor({}, { scripts, keyPrefix: 'app:' });
    const admin = await redis.connect();
    await admin.set('app:n', '1');
    type WithScripts = { plus(key: string, by: number): Promise<number>; addTo(key: string, by: number): unknown };

    const { value, replies } = await tx.transact(['n'], async (t) => {
      const read = await (t.read as unknown as WithScripts).plus('n', 2);
      (t.write as unknown as WithScripts).addTo('n', 3);
      return read;
    });

    expect({ value, replies }).toEqual({ value: 3, replies: [4] });
    expect(await admin.get('app:n')).toBe('4');
  });

  it('reports a failed command inside EXEC as applied: partial, and a queue-time refusal as applied: none', async () => {
    const { tx, client } = await redis.transactor();
    await client.set('s', 'text');

    const partial = await tx.transact(['s'], (t) => void t.write.incr('counter').lpush('s', 'x')).catch((err: unknown) => err);
    const none = await tx.transact(['n'], (t) => void t.write.set('n', '1').call('nosuchcommand')).catch((err: unknown) => err);

    expect(isTransactCommandError(partial)).toBe(true);
    expect(partial).toMatchObject({ applied: 'partial', errorIndexes: [1] });
    expect(none).toMatchObject({ applied: 'none', cause: expect.objectContaining({ message: expect.stringContaining('unknown command') }) });
    expect(await client.get('counter')).toBe('1');
    expect(await client.exists('n')).toBe(0);
  });

  it('runs fn only under the lock in lock mode, and wakes a withLock waiter on release (sharded pub/sub)', async () => {
    const a = await redis.transactor();
    const b = await redis.transactor();
    const admin = await redis.connect();
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 10 }, () =>
        a.tx.transact(['hot'], async (t) => {
          most = Math.max(most, ++inside);
          const n = Number(await t.read.get('hot'));
          t.write.set('hot', String(n + 1));
          inside--;
        }, { mode: 'lock' }),
      ),
    );
    const held = await a.tx.lock(['report'], { ttlMs: 60_000 });

    const waiting = b.tx.withLock(['report'], (lock) => lock.fencingToken, { acquireTimeoutMs: 30_000 });
    await waitFor(async () => (await admin.zcard(resourceKeys('report').queue)) === 1, 'the waiter to queue');
    await held.release();

    expect(most).toBe(1);
    expect(await admin.get('hot')).toBe('10');
    expect(await waiting).toBeGreaterThan(held.fencingToken);
  });

  it('takes a Redlock over several iovalkey clients', async () => {
    const redlock = createRedlock([await redis.connect(), await redis.connect(), await redis.connect()]);

    const token = await redlock.withLock(['job'], (lock) => lock.fencingToken);

    expect(token).toBeGreaterThan(0);
    await redlock.close();
  });
});
