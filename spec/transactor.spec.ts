import { createClientPool } from 'redis';
import {
  createTransactor,
  InvalidOptionsError,
  TransactCommandError,
  TransactConflictError,
  TransactorClosedError,
  TransactUsageError,
} from '../lib';
import { commandsProcessed, useRedis } from './support/redis';

const redis = useRedis();

describe('transact', () => {
  it('commits the queued writes and resolves to value, replies and attempts', async () => {
    const client = await redis.connect();
    await client.set('stock:42', '3');
    const tx = createTransactor(client);

    const result = await tx.transact(['stock:42', 'orders:42'], async (t) => {
      const stock = Number((await t.read.get('stock:42')) ?? 0);
      if (stock <= 0) return 'sold-out';
      t.write.decr('stock:42').rPush('orders:42', 'order-1');
      return 'ok';
    });

    expect(result).toEqual({ value: 'ok', replies: [2, 1], attempts: 1, repliesLost: false });
    expect(await client.get('stock:42')).toBe('2');
    expect(await client.lRange('orders:42', 0, -1)).toEqual(['order-1']);
    await tx.close();
  });

  it('executes nothing when fn queues nothing, and leaves no WATCH behind', async () => {
    const client = await redis.connect();
    await client.set('stock:42', '0');
    const tx = createTransactor(client, { maxConnections: 1 });
    await client.configResetStat();

    const soldOut = await tx.transact(['stock:42'], async (t) => {
      const stock = Number(await t.read.get('stock:42'));
      return stock <= 0 ? 'sold-out' : 'ok';
    });
    expect(soldOut).toEqual({ value: 'sold-out', replies: [], attempts: 1, repliesLost: false });
    expect((await client.info('commandstats')).includes('cmdstat_exec')).toBe(false);

    // The one connection is reused: had the WATCH on stock:42 survived, this write would
    // make the next transaction on that connection abort.
    await client.set('stock:42', '5');
    const next = await tx.transact(['other'], (t) => void t.write.set('other', '1'));
    expect(next.attempts).toBe(1);
    await tx.close();
  });

  it('rethrows an error from fn unchanged, writes nothing and does not retry', async () => {
    const client = await redis.connect();
    const tx = createTransactor(client);
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
    expect(await client.get('k')).toBeNull();
    await tx.close();
  });

  it('retries when a watched key changes between the read and EXEC', async () => {
    const client = await redis.connect();
    const other = await redis.connect();
    await client.set('counter', '10');
    const tx = createTransactor(client);
    const seen: number[] = [];

    const result = await tx.transact(['counter'], async (t) => {
      const value = Number(await t.read.get('counter'));
      seen.push(value);
      if (t.attempt === 1) await other.incrBy('counter', 100); // a concurrent writer wins
      t.write.set('counter', String(value + 1));
    });

    expect(result.attempts).toBe(2);
    expect(seen).toEqual([10, 110]);
    expect(await client.get('counter')).toBe('111');
    await tx.close();
  });

  it('protects keys found while reading with t.watch()', async () => {
    const client = await redis.connect();
    const other = await redis.connect();
    await client.set('index:current', 'record:7');
    await client.set('record:7', 'v1');
    const tx = createTransactor(client);

    const result = await tx.transact(['index:current'], async (t) => {
      const id = (await t.read.get('index:current'))!;
      await t.watch(id);
      const record = await t.read.get(id);
      if (t.attempt === 1) await other.set(id, 'changed-by-someone-else');
      t.write.set(id, `${record}+mine`);
    });

    expect(result.attempts).toBe(2);
    expect(await client.get('record:7')).toBe('changed-by-someone-else+mine');
    await tx.close();
  });

  it('gives up with TransactConflictError carrying keys and attempts', async () => {
    const client = await redis.connect();
    const other = await redis.connect();
    const tx = createTransactor(client, { retry: { maxAttempts: 3, backoff: 'none' } });

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
    expect(await client.get('hot')).toBe('3');
    await tx.close();
  });

  it('keeps 200 concurrent increments through one single-client transactor exact', async () => {
    const client = await redis.connect();
    const tx = createTransactor(client, { retry: { maxAttempts: 1_000, backoff: 'exponential', baseDelayMs: 1, maxDelayMs: 20 } });

    await Promise.all(
      Array.from({ length: 200 }, () =>
        tx.transact(['counter'], async (t) => {
          const value = Number((await t.read.get('counter')) ?? 0);
          t.write.set('counter', String(value + 1));
        }),
      ),
    );

    expect(await client.get('counter')).toBe('200');
    expect(client.isWatching).toBe(false);
    await tx.close();
  });

  it('works from a node-redis client pool, with its key prefix', async () => {
    const pool = createClientPool({ url: redis.url, keyPrefix: 'app:' }, { minimum: 1, maximum: 2 });
    pool.on('error', () => {});
    await pool.connect();
    const tx = createTransactor(pool);
    await pool.set('balance', '5');

    const result = await tx.transact(['balance'], async (t) => {
      const balance = Number(await t.read.get('balance'));
      t.write.set('balance', String(balance + 1));
      return balance;
    });

    expect(result.value).toBe(5);
    const admin = await redis.connect();
    expect(await admin.get('app:balance')).toBe('6');
    await tx.close();
    await pool.close();
  });

  it('applies the client key prefix to WATCH, reads and writes alike', async () => {
    const client = await redis.connect({ keyPrefix: 'shop:' });
    const other = await redis.connect();
    await other.set('shop:stock', '1');
    const tx = createTransactor(client);

    const result = await tx.transact(['stock'], async (t) => {
      const stock = Number(await t.read.get('stock'));
      if (t.attempt === 1) await other.set('shop:stock', '9'); // must abort: WATCH is prefixed too
      t.write.set('stock', String(stock - 1));
    });

    expect(result.attempts).toBe(2);
    expect(await other.get('shop:stock')).toBe('8');
    await tx.close();
  });

  it('refuses engine-owned commands inside fn and writes nothing', async () => {
    const client = await redis.connect();
    const tx = createTransactor(client);

    await expect(
      tx.transact(['k'], async (t) => {
        t.write.set('k', '1');
        await t.write.exec();
      }),
    ).rejects.toBeInstanceOf(TransactUsageError);
    await expect(tx.transact(['k'], (t) => t.read.watch('x'))).rejects.toThrow(/t\.read\.watch\(\) is not available/);
    await expect(tx.transact(['k'], (t) => t.read.select(2))).rejects.toBeInstanceOf(TransactUsageError);
    expect(await client.get('k')).toBeNull();
    await tx.close();
  });

  it('reports a command Redis refused at queue time, with nothing applied', async () => {
    const client = await redis.connect();
    const tx = createTransactor(client);

    const failure = tx.transact(['k'], (t) => {
      t.write.set('k', '1').sendCommand(['NOSUCHCOMMAND']);
    });

    await expect(failure).rejects.toBeInstanceOf(TransactCommandError);
    await expect(failure).rejects.toMatchObject({ applied: 'none', attempts: 1 });
    expect(await client.get('k')).toBeNull();
    await tx.close();
  });

  it('reports a command that failed inside EXEC, with the others applied', async () => {
    const client = await redis.connect();
    await client.set('text', 'not a number');
    const tx = createTransactor(client);

    const failure = tx.transact(['text'], (t) => {
      t.write.set('a', '1').incr('text').set('b', '2');
    });

    await expect(failure).rejects.toMatchObject({ code: 'ERR_TRANSACT_COMMAND', applied: 'partial', errorIndexes: [1] });
    expect(await client.mGet(['a', 'b'])).toEqual(['1', '2']);
    await tx.close();
  });

  it('refuses calls after close() and leaves the caller’s client open', async () => {
    const client = await redis.connect();
    const tx = createTransactor(client);
    await tx.transact(['k'], (t) => void t.write.set('k', '1'));
    await tx.close();

    await expect(tx.transact(['k'], () => 1)).rejects.toBeInstanceOf(TransactorClosedError);
    expect(await client.get('k')).toBe('1');
  });
});

describe('bad input', () => {
  const cases: Array<[string, (tx: ReturnType<typeof createTransactor>) => Promise<unknown>, string]> = [
    ['an empty key list', (tx) => tx.transact([], () => 1), 'invalid options: keys: must name at least one key'],
    ['a key list that is not an array', (tx) => tx.transact('k' as never, () => 1), 'keys: must be an array of key names, got "k"'],
    [
      'non-string keys',
      (tx) => tx.transact(['ok', 42, ''] as never, () => 1),
      'invalid options: keys[1]: must be a non-empty string, got 42; keys[2]: must be a non-empty string, got ""',
    ],
    ['fn that is not a function', (tx) => tx.transact(['k'], 'nope' as never), 'fn: must be a function, got "nope"'],
    [
      'a bad per-call retry policy',
      (tx) => tx.transact(['k'], () => 1, { retry: { maxAttempts: 0, backoff: 'linear' as never } }),
      'options.retry.maxAttempts: must be a positive integer, got 0; options.retry.backoff: must be one of "none", "fixed", "exponential", "decorrelated", got "linear"',
    ],
    ['an unknown per-call option', (tx) => tx.transact(['k'], () => 1, { retries: 3 } as never), 'options.retries: is not a known option'],
    ['a signal that is not an AbortSignal', (tx) => tx.transact(['k'], () => 1, { signal: {} as never }), 'options.signal: must be an AbortSignal'],
  ];

  it.each(cases)('rejects %s with InvalidOptionsError before sending any command', async (_name, call, message) => {
    const client = await redis.connect();
    const tx = createTransactor(client);
    const before = await commandsProcessed(client);

    const failure = call(tx);

    await expect(failure).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(failure).rejects.toThrow(message);
    expect(await commandsProcessed(client)).toBe(before + 1); // only the INFO that asks
    await tx.close();
  });

  it('rejects bad transactor options naming every field', async () => {
    const client = await redis.connect();
    expect(() =>
      createTransactor(client, { retry: { baseDelayMs: -1, deadlineMs: 0 }, maxConnections: 1.5, hooks: { onRetry: 1 as never } }),
    ).toThrow(
      'invalid options: options.retry.baseDelayMs: must be 0 or more, got -1; options.retry.deadlineMs: must be a positive number of milliseconds or null, got 0; ' +
        'options.maxConnections: must be a positive integer, got 1.5; options.hooks.onRetry: must be a function, got 1',
    );
    expect(() => createTransactor(client, { retry: { baseDelayMs: 100, maxDelayMs: 10 } })).toThrow(
      'options.retry.maxDelayMs: must be at least baseDelayMs (100), got 10',
    );
    expect(() => createTransactor({} as never)).toThrow(
      'client: must be a node-redis client (createClient), client pool (createClientPool), cluster client (createCluster) or Sentinel client (createSentinel)',
    );
  });
});
