import type Redis from 'ioredis';
import {
  createRedlock,
  createTransactor,
  InvalidOptionsError,
  isTransactCommandError,
  TransactConflictError,
  TransactorClosedError,
  TransactOutcomeUnknownError,
  TransactUsageError,
  type TransactMode,
} from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { injectFaults } from '../../lib/testing';
import { commandsProcessed, useIoredis } from '../support/ioredis';
import { waitFor } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * `createTransactor(ioredis)`: the same transactions, modes, locks and errors as on node-redis,
 * on a real redis-server. Every test's app client keeps ioredis's defaults (offline queue,
 * re-sending unanswered commands after a reconnect) unless it says otherwise: the transactor's
 * own connections must not inherit them.
 */
const redis = useIoredis();
const MODES: TransactMode[] = ['optimistic', 'lock', 'auto'];

/** The server-side id of the connection `t.read` is. */
const idOf = async (read: Redis) => Number(await read.client('ID'));

describe.each([2, 3] as const)('ioredis with RESP%i', (protocol) => {
  it('commits a read-modify-write, with the replies ioredis gives for each command', async () => {
    const { tx, client } = await redis.transactor({}, { protocol });
    await client.hset('h', 'a', '1');

    const result = await tx.transact(['n', 'h'], async (t) => {
      const n = Number(await t.read.get('n'));
      t.write.set('n', String(n + 1)).incr('m').hgetall('h').getBuffer('n');
      return n;
    });

    expect(result).toEqual({ value: 0, replies: ['OK', 1, { a: '1' }, Buffer.from('1')], attempts: 1, repliesLost: false });
  });

  it('retries a conflict made by another client between WATCH and EXEC, and reads the new value', async () => {
    const { tx, client } = await redis.transactor({}, { protocol });
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
});

describe('conflicts and isolation', () => {
  it('gives up with TransactConflictError after maxAttempts, having written nothing', async () => {
    const { tx, client } = await redis.transactor({ retry: { maxAttempts: 3, backoff: 'none' } });
    const other = await redis.connect();

    const failure = tx.transact(['n'], async (t) => {
      await t.read.get('n');
      await other.incr('n');
      t.write.set('n', 'mine');
    });

    await expect(failure).rejects.toBeInstanceOf(TransactConflictError);
    await expect(failure).rejects.toMatchObject({ attempts: 3, keys: ['n'] });
    expect(await client.get('n')).toBe('3');
  });

  it('keeps 200 concurrent increments on one shared ioredis client isolated: 200', async () => {
    const { tx, client } = await redis.transactor();

    await Promise.all(
      Array.from({ length: 200 }, () =>
        tx.transact(['counter'], async (t) => {
          const n = Number(await t.read.get('counter'));
          t.write.set('counter', String(n + 1));
        }),
      ),
    );

    expect(await client.get('counter')).toBe('200');
  });

  it('keeps increments from two processes (two clients, two transactors) isolated in every mode', async () => {
    const a = await redis.transactor();
    const b = await redis.transactor();
    const modes = MODES.flatMap((mode) => Array.from({ length: 20 }, () => mode));

    await Promise.all(
      modes.flatMap((mode) =>
        [a.tx, b.tx].map((tx) =>
          tx.transact(['total'], async (t) => {
            const n = Number(await t.read.get('total'));
            t.write.set('total', String(n + 1));
          }, { mode }),
        ),
      ),
    );

    expect(await a.client.get('total')).toBe(String(modes.length * 2));
  });

  it('never WATCHes on the app client: its own MULTI/EXEC on the same key commits meanwhile', async () => {
    const { tx, client } = await redis.transactor();

    const result = await tx.transact(['n'], async (t) => {
      const n = Number(await t.read.get('n'));
      // A WATCH on the app's client would abort this EXEC; the transaction's WATCH is elsewhere.
      if (t.attempt === 1) expect(await client.multi().incr('n').exec()).toEqual([[null, 1]]);
      t.write.set('n', String(n + 10));
    });

    expect(result.attempts).toBe(2); // the app's write was a conflict for the transaction, as it should be
    expect(await client.get('n')).toBe('11');
  });
});

describe('key prefix', () => {
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
    expect(keys.filter((k) => !k.startsWith('app:'))).toEqual([]);
    expect(keys.filter((k) => k.startsWith('app:app:'))).toEqual([]);
    expect(lockKeys.map((k) => k.slice(0, 'app:rtlock:'.length))).toEqual(mode === 'lock' ? ['app:rtlock:'] : []);
  });
});

describe('round trips (counted on the wire by a TCP proxy)', () => {
  let proxy: TcpProxy;
  beforeEach(async () => {
    proxy = await TcpProxy.inFrontOf(redis.url);
  });
  afterEach(async () => {
    await redis.cleanUp();
    await proxy.stop();
  });

  async function flightsOf(run: () => Promise<unknown>): Promise<number> {
    await run(); // opens the dedicated connection (handshake flights are not the transaction's)
    const before = proxy.flights;
    await run();
    return proxy.flights - before;
  }

  it('costs two for an uncontended read-modify-write: WATCH+reads, then MULTI..EXEC', async () => {
    const client = await redis.connect({}, proxy.url);
    const tx = createTransactor(client, { maxConnections: 1 });
    redis.track(tx);
    await client.set('stock', '100');

    const flights = await flightsOf(() =>
      tx.transact(['stock', 'orders'], async (t) => {
        const [stock, orders] = await Promise.all([t.read.get('stock'), t.read.llen('orders')]);
        t.write.set('stock', String(Number(stock) - 1)).rpush('orders', `order-${orders}`);
      }),
    );

    expect(flights).toBe(2);
  });

  it('costs one for a transaction that reads and queues nothing', async () => {
    const tx = createTransactor(await redis.connect({}, proxy.url), { maxConnections: 1 });
    redis.track(tx);

    expect(await flightsOf(() => tx.transact(['stock'], (t) => t.read.get('stock')))).toBe(1);
  });
});

describe('a connection lost between WATCH and EXEC', () => {
  it('never commits outside its WATCH: the attempt runs again on a new connection and sees the other write', async () => {
    const { tx, client } = await redis.transactor();
    const admin = await redis.connect();
    await client.set('balance', '100');
    const seen: number[] = [];

    const result = await tx.transact(['balance'], async (t) => {
      const balance = Number(await t.read.get('balance'));
      seen.push(balance);
      if (t.attempt === 1) {
        await admin.client('KILL', 'ID', String(await idOf(t.read)));
        await waitFor(() => t.read.status !== 'ready', 'the transactor to see its connection drop');
        await admin.decrby('balance', 50); // unwatched now: only a re-sent EXEC would miss it
      }
      t.write.set('balance', String(balance - 10));
    });

    expect(client.options.autoResendUnfulfilledCommands).toBe(true); // the app's client keeps ioredis's default
    expect(result.attempts).toBe(2);
    expect(seen).toEqual([100, 50]);
    expect(await client.get('balance')).toBe('40');
  });

  it('keeps a bank total over many killed connections: nothing is applied twice or unguarded', async () => {
    const { tx, client } = await redis.transactor({ retry: { maxAttempts: 50, backoff: 'none' } });
    const admin = await redis.connect();
    await client.mset('a', '1000', 'b', '1000');
    let kills = 0;

    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        tx.transact(['a', 'b'], async (t) => {
          const [a, b] = (await t.read.mget('a', 'b')).map(Number);
          if (i % 3 === 0 && t.attempt === 1) {
            kills++;
            await admin.client('KILL', 'ID', String(await idOf(t.read)));
          }
          t.write.set('a', String(a! - 7)).set('b', String(b! + 7));
        }),
      ),
    );

    expect(kills).toBe(20);
    const [a, b] = (await client.mget('a', 'b')).map(Number);
    expect(a! + b!).toBe(2000);
    expect(a).toBe(1000 - 60 * 7);
  });

  it('never re-sends an EXEC whose connection was killed while the server held it: unknown, or settled under exactlyOnce', async () => {
    const admin = await redis.connect();
    for (const exactlyOnce of [false, true]) {
      await admin.set('balance', '100');
      const { tx } = await redis.transactor({ maxConnections: 1, exactlyOnce });
      let id = 0;
      const call = tx.transact(['balance'], async (t) => {
        const balance = Number(await t.read.get('balance'));
        if (t.attempt === 1) {
          id = await idOf(t.read);
          await admin.client('PAUSE', 10_000, 'WRITE');
        }
        t.write.set('balance', String(balance - 30));
      });
      const outcome = call.then((result) => ({ result }), (error: unknown) => ({ error })); // may end before it is awaited
      await waitFor(() => id !== 0, 'fn to run');
      await waitFor(async () => /flags=\S*x\S*b|flags=\S*b\S*x/.test(String(await admin.call('CLIENT', 'LIST', 'ID', String(id)))), 'EXEC to be held');
      await admin.client('KILL', 'ID', String(id)); // the held EXEC is discarded with its client
      await admin.client('UNPAUSE');

      if (exactlyOnce) expect(await outcome).toMatchObject({ result: { attempts: 2 } });
      else expect((await outcome as { error?: unknown }).error).toBeInstanceOf(TransactOutcomeUnknownError);
      await new Promise((resolve) => setTimeout(resolve, 200)); // room for a re-send, were there one
      expect(await admin.get('balance')).toBe(exactlyOnce ? '70' : '100');
    }
  });

  it('reports outcome unknown when the EXEC reply was lost, and never re-sends it on a new socket', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    await admin.set('n', '0');
    const tx = createTransactor(await redis.connect({}, proxy.url));
    redis.track(tx);
    proxy.atExec('cut-after-reply');

    const failure = tx.transact(['n'], (t) => {
      t.write.incr('n');
    });

    await expect(failure).rejects.toBeInstanceOf(TransactOutcomeUnknownError);
    expect(await admin.get('n')).toBe('1');
    await new Promise((resolve) => setTimeout(resolve, 200)); // room for a re-send, were there one
    expect(await admin.get('n')).toBe('1');
    await redis.cleanUp(); // before the proxy its clients talk through goes
    await proxy.stop();
  });
});

describe('exactlyOnce', () => {
  it.each(MODES)('settles a cut EXEC reply as committed, applied once (%s mode)', async (mode) => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    await admin.set('balance', '100');
    const tx = createTransactor(await redis.connect({}, proxy.url), { exactlyOnce: true, maxConnections: 1 });
    redis.track(tx);
    let calls = 0;
    proxy.atExec('cut-after-reply', { every: true });

    const result = await tx.transact(['balance', 'orders'], async (t) => {
      calls++;
      const balance = Number(await t.read.get('balance'));
      t.write.set('balance', String(balance - 30)).rpush('orders', 'o-1');
      return balance - 30;
    }, { mode });

    expect(result).toMatchObject({ value: 70, attempts: 1, repliesLost: true, replies: [] });
    expect(calls).toBe(1);
    expect(await admin.get('balance')).toBe('70');
    expect(await admin.lrange('orders', 0, -1)).toEqual(['o-1']);
    await redis.cleanUp(); // before the proxy its clients talk through goes
    await proxy.stop();
  });
});

describe('lock mode, auto mode and locks', () => {
  it('runs fn only under the lock in lock mode, and leaves no lock behind', async () => {
    const { tx, client } = await redis.transactor();
    const admin = await redis.connect();
    let inside = 0;
    let most = 0;

    await Promise.all(
      Array.from({ length: 30 }, () =>
        tx.transact(['hot'], async (t) => {
          most = Math.max(most, ++inside);
          const n = Number(await t.read.get('hot'));
          t.write.set('hot', String(n + 1));
          inside--;
        }, { mode: 'lock' }),
      ),
    );

    expect(most).toBe(1);
    expect(await client.get('hot')).toBe('30');
    await tx.close();
    expect(await admin.keys('rtlock:lock:*')).toEqual([]);
  });

  it('escalates in auto mode after conflicts with another process, and commits', async () => {
    const { tx, client } = await redis.transactor({ auto: { escalateAfter: 2 }, retry: { backoff: 'none' } });
    const other = await redis.connect();

    const result = await tx.transact(['n'], async (t) => {
      const n = Number(await t.read.get('n'));
      if (t.attempt <= 2) await other.incr('n');
      t.write.set('n', String(n + 1));
    }, { mode: 'auto' });

    expect(result.attempts).toBe(3);
    expect(await client.get('n')).toBe('3');
    expect(tx.stats().escalations).toBe(1);
  });

  it('gives one withLock holder at a time, with increasing fencing tokens, and wakes the waiter on release', async () => {
    const a = await redis.transactor();
    const b = await redis.transactor();
    const admin = await redis.connect();
    const held = await a.tx.lock(['report'], { ttlMs: 60_000 });

    let waiterRan = false;
    const waiting = b.tx.withLock(['report'], (lock) => {
      waiterRan = true;
      return lock.fencingToken;
    }, { acquireTimeoutMs: 30_000 });
    await waitFor(async () => (await admin.zcard(resourceKeys('report').queue)) === 1, 'the waiter to queue');
    expect(waiterRan).toBe(false);
    await held.release();

    expect(await waiting).toBeGreaterThan(held.fencingToken);
  });

  it('takes a Redlock over several ioredis clients', async () => {
    const redlock = createRedlock([await redis.connect(), await redis.connect(), await redis.connect()]);

    const token = await redlock.withLock(['job'], (lock) => lock.fencingToken);

    expect(token).toBeGreaterThan(0);
    await redlock.close();
  });
});

describe('the rest of the API', () => {
  it('waits for replicas after the commit on the same connection (WAIT), and counts none when there are none', async () => {
    const { tx, client } = await redis.transactor();

    const result = await tx.transact(['n'], (t) => {
      t.write.incr('n');
    }, { replication: { replicas: 1, timeoutMs: 50 } });

    expect(result).toMatchObject({ replies: [1], replicatedTo: 0 });
    expect(await client.get('n')).toBe('1');
  });

  it('runs under the testing kit: injected conflicts make fn run again', async () => {
    const { tx, client } = await redis.transactor();
    let runs = 0;

    const result = await injectFaults(tx, { conflicts: 2 }).transact(['n'], async (t) => {
      runs++;
      const n = Number(await t.read.get('n'));
      t.write.set('n', String(n + 1));
    });

    expect(result.attempts).toBe(3);
    expect(runs).toBe(3);
    expect(Number(await client.get('n'))).toBeGreaterThanOrEqual(1);
  });

  it('settles a lost outcome later with tx.settle, once Redis answers again', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect({}, proxy.url), { exactlyOnce: true, retry: { deadlineMs: 300 } });
    redis.track(tx);
    proxy.atExec('cut-after-reply', { thenRefuse: true });

    const failure = await tx.transact(['n'], (t) => {
      t.write.incr('n');
    }).catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(TransactOutcomeUnknownError);
    expect((failure as TransactOutcomeUnknownError).commitMarker).toBeDefined();
    proxy.refuse = false;
    await expect(tx.settle(failure as TransactOutcomeUnknownError)).resolves.toBe('committed');
    expect(await admin.get('n')).toBe('1');
    await redis.cleanUp(); // before the proxy its clients talk through goes
    await proxy.stop();
  });
});

describe('errors', () => {
  it('reports a command that failed inside EXEC as applied: partial, with every reply', async () => {
    const { tx, client } = await redis.transactor();
    await client.set('s', 'text');

    const failure = await tx.transact(['s'], (t) => {
      t.write.incr('counter').lpush('s', 'x');
    }).catch((err: unknown) => err);

    expect(isTransactCommandError(failure)).toBe(true);
    expect(failure).toMatchObject({ applied: 'partial', errorIndexes: [1] });
    expect(await client.get('counter')).toBe('1');
  });

  it('reports a command refused at queue time as applied: none (EXECABORT), with the refusal as cause', async () => {
    const { tx, client } = await redis.transactor();

    const failure = await tx.transact(['n'], (t) => {
      t.write.set('n', '1').call('nosuchcommand');
    }).catch((err: unknown) => err);

    expect(failure).toMatchObject({ applied: 'none', cause: expect.objectContaining({ message: expect.stringContaining('unknown command') }) });
    expect(await client.exists('n')).toBe(0);
  });

  it('refuses engine-owned methods on t.read and t.write, and writes queued after fn returned', async () => {
    const { tx } = await redis.transactor();
    let late: (() => unknown) | undefined;

    await expect(tx.transact(['n'], (t) => t.read.watch('x'))).rejects.toBeInstanceOf(TransactUsageError);
    await expect(tx.transact(['n'], (t) => t.read.multi())).rejects.toBeInstanceOf(TransactUsageError);
    await expect(tx.transact(['n'], (t) => t.write.exec())).rejects.toBeInstanceOf(TransactUsageError);
    await expect(tx.transact(['n'], (t) => { t.write.call('select', '1'); })).rejects.toBeInstanceOf(TransactUsageError);
    await tx.transact(['n'], (t) => {
      late = () => t.write.set('n', 'late');
    });
    expect(late).toThrow(TransactUsageError);
  });

  it('refuses bad input before anything is sent', async () => {
    const { tx } = await redis.transactor();
    const admin = await redis.connect();
    const before = await commandsProcessed(admin);

    await expect(tx.transact([], () => undefined)).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(tx.transact(['n'], 'fn' as never)).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(tx.transact(['n'], () => undefined, { mode: 'fast' as never })).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(tx.lock([], {})).rejects.toBeInstanceOf(InvalidOptionsError);

    expect(await commandsProcessed(admin)).toBe(before + 1); // the INFO of the first count
  });

  it('refuses an ioredis Cluster and a Sentinel-configured ioredis, for now, by name', async () => {
    const cluster = Object.create(await redis.connect(), { isCluster: { value: true } });
    expect(() => createTransactor(cluster)).toThrow(
      'client: an ioredis Cluster is not supported yet',
    );
    const client = await redis.connect();
    const sentinel = Object.create(client, { options: { value: { ...client.options, sentinels: [{ port: 1 }] } } });
    expect(() => createTransactor(sentinel)).toThrow('client: an ioredis instance configured for Sentinel is not supported yet');
  });
});

describe('close()', () => {
  it('lets calls in flight finish, closes its own connections, and leaves the app client open', async () => {
    const { tx, client } = await redis.transactor();
    const admin = await redis.connect();
    const connections = async () => String(await admin.client('LIST')).trim().split('\n').length;
    let release: (() => void) | undefined;
    const inFlight = tx.transact(['n'], async (t) => {
      await new Promise<void>((resolve) => (release = resolve));
      t.write.incr('n');
    });
    await waitFor(() => release !== undefined, 'fn to start');
    const open = await connections(); // the app's, the admin's, and the transactor's dedicated one

    const closing = tx.close();
    await expect(tx.transact(['n'], () => undefined)).rejects.toBeInstanceOf(TransactorClosedError);
    release!();
    await expect(inFlight).resolves.toMatchObject({ replies: [1] });
    await closing;

    expect(client.status).toBe('ready');
    expect(await client.get('n')).toBe('1');
    await waitFor(async () => (await connections()) === open - 1, 'the dedicated connection to close');
  });
});
