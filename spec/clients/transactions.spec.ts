import { TransactCommandError, TransactConflictError, TransactUsageError } from '../../lib';
import { injectFaults } from '../../lib/testing';
import { type Client, CLIENTS, CLIENTS_AND_PROTOCOLS, useClients } from '../support/clients';
import { commandCalls } from '../support/redis';

/**
 * Read-modify-write transactions, written once and run for every client of the matrix: what a
 * call commits and resolves to, conflicts and retries, isolation between concurrent calls and
 * processes, the client's key prefix, and the errors of commands that fail.
 */
const clients = useClients();

describe.each(CLIENTS_AND_PROTOCOLS)('a transaction on $name', (kind) => {
  it('commits the queued writes and resolves to value, replies and attempts', async () => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();
    await admin.set('stock:42', '3');

    const result = await tx.transact(['stock:42', 'orders:42'], async (t) => {
      const stock = Number((await t.read.get('stock:42')) ?? 0);
      if (stock <= 0) return 'sold-out';
      t.write.decr('stock:42').incr('orders:42').set('last', 'order-1').get('last');
      return 'ok';
    });

    expect(result).toEqual({ value: 'ok', replies: [2, 1, 'OK', 'order-1'], attempts: 1, repliesLost: false });
    expect(await admin.mGet(['stock:42', 'orders:42', 'last'])).toEqual(['2', '1', 'order-1']);
  });

  it('retries when a watched key changes between the read and EXEC, and reads the new value', async () => {
    const { tx } = await clients.transactor(kind);
    const other = await clients.connect(kind);
    const admin = await clients.admin();
    await admin.set('counter', '10');
    const seen: number[] = [];

    const result = await tx.transact(['counter'], async (t) => {
      const value = Number(await t.read.get('counter'));
      seen.push(value);
      if (t.attempt === 1) await kind.command(other, ['INCRBY', 'counter', '100']); // a concurrent writer wins
      t.write.set('counter', String(value + 1));
    });

    expect(result.attempts).toBe(2);
    expect(seen).toEqual([10, 110]);
    expect(await admin.get('counter')).toBe('111');
  });
});

describe.each(CLIENTS)('a transaction on $name', (kind) => {
  it('executes nothing when fn queues nothing, and leaves no WATCH behind', async () => {
    const admin = await clients.admin();
    await admin.set('stock:42', '0');
    const { tx } = await clients.transactor(kind, { maxConnections: 1 });
    await admin.configResetStat();

    const soldOut = await tx.transact(['stock:42'], async (t) => {
      const stock = Number(await t.read.get('stock:42'));
      return stock <= 0 ? 'sold-out' : 'ok';
    });
    expect(soldOut).toEqual({ value: 'sold-out', replies: [], attempts: 1, repliesLost: false });
    expect((await admin.info('commandstats')).includes('cmdstat_exec')).toBe(false);

    // The one connection is reused: had the WATCH on stock:42 survived, this write would
    // make the next transaction on that connection abort.
    await admin.set('stock:42', '5');
    const next = await tx.transact(['other'], (t) => void t.write.set('other', '1'));
    expect(next.attempts).toBe(1);
  });

  it('rethrows an error from fn unchanged, writes nothing and does not retry', async () => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();
    const boom = new Error('business rule says no');
    let calls = 0;

    await expect(
      tx.transact(['k'], (t) => {
        calls++;
        t.write.set('k', 'written');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(calls).toBe(1);
    expect(await admin.get('k')).toBeNull();
  });

  it('protects keys found while reading with t.watch()', async () => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();
    await admin.mSet({ 'index:current': 'record:7', 'record:7': 'v1' });

    const result = await tx.transact(['index:current'], async (t) => {
      const id = (await t.read.get('index:current')) as string;
      await t.watch(id);
      const record = await t.read.get(id);
      if (t.attempt === 1) await admin.set(id, 'changed-by-someone-else');
      t.write.set(id, `${record}+mine`);
    });

    expect(result.attempts).toBe(2);
    expect(await admin.get('record:7')).toBe('changed-by-someone-else+mine');
  });

  it('gives up with TransactConflictError carrying keys and attempts, having written nothing', async () => {
    const { tx } = await clients.transactor(kind, { retry: { maxAttempts: 3, backoff: 'none' } });
    const other = await clients.connect(kind);
    const admin = await clients.admin();

    const failure = tx.transact(['hot'], async (t) => {
      await t.read.get('hot');
      await other.incr('hot');
      t.write.set('hot', 'mine');
    });

    await expect(failure).rejects.toBeInstanceOf(TransactConflictError);
    await expect(failure).rejects.toMatchObject({
      code: 'ERR_TRANSACT_CONFLICT',
      keys: ['hot'],
      attempts: 3,
      message: 'gave up after 3 attempts on [hot]: a watched key kept changing',
    });
    expect(await admin.get('hot')).toBe('3');
  });

  it('applies the client key prefix to WATCH, reads and writes alike', async () => {
    const { tx } = await clients.transactor(kind, {}, { keyPrefix: 'shop:' });
    const admin = await clients.admin();
    await admin.set('shop:stock', '1');

    const result = await tx.transact(['stock'], async (t) => {
      const stock = Number(await t.read.get('stock'));
      if (t.attempt === 1) await admin.set('shop:stock', '9'); // must abort: WATCH is prefixed too
      t.write.set('stock', String(stock - 1));
    });

    expect(result.attempts).toBe(2);
    expect(await admin.get('shop:stock')).toBe('8');
    expect(await admin.keys('*')).toEqual(['shop:stock']);
  });
});

describe.each(CLIENTS)('isolation on $name', (kind) => {
  it('keeps 200 concurrent increments through one shared client exact: 200', async () => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();

    await Promise.all(
      Array.from({ length: 200 }, () =>
        tx.transact(['counter'], async (t) => {
          const value = Number((await t.read.get('counter')) ?? 0);
          t.write.set('counter', String(value + 1));
        }),
      ),
    );

    expect(await admin.get('counter')).toBe('200');
  });

  it('keeps increments from two processes (two clients, two transactors) exact in every mode', async () => {
    const a = await clients.transactor(kind);
    const b = await clients.transactor(kind);
    const admin = await clients.admin();
    const modes = (['optimistic', 'lock', 'auto'] as const).flatMap((mode) => Array.from({ length: 20 }, () => mode));

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

    expect(await admin.get('total')).toBe(String(modes.length * 2));
  });

  it('never WATCHes on the app’s client: the app’s own MULTI/EXEC there commits while a call watches the key', async () => {
    const { tx, client } = await clients.transactor(kind);
    const admin = await clients.admin();

    const result = await tx.transact(['n'], async (t) => {
      const n = Number(await t.read.get('n'));
      // Aborted (a WatchError from node-redis, null from ioredis) if the call's WATCH were on the app's client.
      if (t.attempt === 1) expect(await client.multi().incr('n').exec()).not.toBeNull();
      t.write.set('n', String(n + 10));
    });

    expect(result.attempts).toBe(2); // the app's write was a conflict for the call, as it should be
    expect(await admin.get('n')).toBe('11');
  });
});

describe.each(CLIENTS)('commands that fail, on $name', (kind) => {
  it('reports a command Redis refused at queue time (EXECABORT) as applied: none, with the refusal as cause', async () => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();

    const failure = tx.transact(['k'], (t) => {
      t.write.set('k', '1');
      kind.queue(t.write, ['NOSUCHCOMMAND']);
    });

    await expect(failure).rejects.toBeInstanceOf(TransactCommandError);
    await expect(failure).rejects.toMatchObject({
      applied: 'none',
      attempts: 1,
      cause: expect.objectContaining({ message: expect.stringContaining('unknown command') }),
    });
    expect(await admin.get('k')).toBeNull();
  });

  it('reports a command that failed inside EXEC as applied: partial, with the others applied', async () => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();
    await admin.set('text', 'not a number');

    const failure = tx.transact(['text'], (t) => {
      t.write.set('a', '1').incr('text').set('b', '2');
    });

    await expect(failure).rejects.toBeInstanceOf(TransactCommandError);
    await expect(failure).rejects.toMatchObject({ code: 'ERR_TRANSACT_COMMAND', applied: 'partial', errorIndexes: [1] });
    expect(await admin.mGet(['a', 'b'])).toEqual(['1', '2']);
  });

  it('refuses engine-owned commands inside fn and writes nothing', async () => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();

    await expect(
      tx.transact(['k'], async (t) => {
        t.write.set('k', '1');
        await t.write.exec();
      }),
    ).rejects.toBeInstanceOf(TransactUsageError);
    await expect(tx.transact(['k'], (t) => t.read.watch('x'))).rejects.toThrow(/t\.read\.watch\(\) is not available/);
    await expect(tx.transact(['k'], (t) => t.read.multi())).rejects.toBeInstanceOf(TransactUsageError);
    await expect(tx.transact(['k'], (t) => t.read.select(2))).rejects.toBeInstanceOf(TransactUsageError);
    await expect(tx.transact(['k'], (t) => void kind.queue(t.write, ['SELECT', '1']))).rejects.toBeInstanceOf(TransactUsageError);
    expect(await admin.get('k')).toBeNull();
  });
});

describe.each(CLIENTS)('t.write after its attempt ended, on $name', (kind) => {
  it.each(['optimistic', 'lock', 'auto'] as const)('refuses a write queued after a committed fn returned (%s mode)', async (mode) => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();
    let write: Client;

    const result = await tx.transact(['k'], (t) => {
      write = t.write;
      t.write.set('k', 'on time');
    }, { mode });

    expect(result.replies).toEqual(['OK']);
    expect(() => write.set('late', '1')).toThrow(TransactUsageError);
    expect(() => write.set('late', '1')).toThrow(/t\.write was used after its attempt ended/);
    expect(() => kind.queue(write, ['SET', 'late', '1'])).toThrow(TransactUsageError);
    expect(await admin.get('late')).toBeNull();
    expect(await admin.get('k')).toBe('on time');
  });
});

describe.each(CLIENTS)('the rest of the API on $name', (kind) => {
  it('waits for replicas after the commit on the same connection (WAIT), and counts none when there are none', async () => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();
    await admin.configResetStat();

    const result = await tx.transact(['n'], (t) => {
      t.write.incr('n');
    }, { replication: { replicas: 1, timeoutMs: 50 } });

    expect(result).toMatchObject({ replies: [1], replicatedTo: 0 });
    expect(await commandCalls(admin, 'wait')).toBe(1);
    expect(await admin.get('n')).toBe('1');
  });

  it('runs under the testing kit: an fn that charges a payment service on every run is charged 3 times for one commit under conflicts: 2', async () => {
    const charges: string[] = [];
    const payments = { charge: (orderId: string) => Promise.resolve(void charges.push(orderId)) };
    const faulty = injectFaults((await clients.transactor(kind, { retry: { backoff: 'none' } })).tx, { conflicts: 2 });
    const admin = await clients.admin();

    // The mistake: a side effect outside Redis inside fn, which may run more than once.
    const { attempts } = await faulty.transact(['order:7'], async (t) => {
      await payments.charge('order:7');
      t.write.set('order:7', 'paid');
    });

    expect(attempts).toBe(3);
    expect(charges).toEqual(['order:7', 'order:7', 'order:7']);
    expect(await admin.get('order:7')).toBe('paid');
  });
});
