import { createTransactor, DEFAULT_MARKER_TTL_MS, InvalidOptionsError, type TransactOptions, type TransactorOptions } from '../../lib';
import { bump } from '../support/bump-script';
import { commandsProcessed, useRedis } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';

/** The commit marker itself: where it lives, what sets it, what it costs, and what input it refuses. */
const redis = useRedis();

describe('the commit marker of an exactly-once call', () => {
  it('is set to the attempt id by the commit, with its TTL, and is the only key added', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect(), { markerTtlMs: 60_000 });

    const result = await tx.transact(['stock'], (t) => void t.write.set('stock', '9'), { exactlyOnce: true });

    expect(result).toMatchObject({ attempts: 1, repliesLost: false, replies: ['OK'] }); // the marker's reply is not the caller's
    const markers = await admin.keys('rtonce:*');
    expect(markers).toHaveLength(1);
    expect(await admin.get(markers[0]!)).toBe(markers[0]!.slice('rtonce:'.length));
    const ttl = await admin.pTTL(markers[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect((await admin.keys('*')).sort()).toEqual([markers[0], 'stock'].sort());
    await tx.close();
  });

  it('is watched: a write to it between WATCH and EXEC aborts the attempt', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    const tx = createTransactor(await proxy.connectClient());
    const watched: string[] = [];
    proxy.onRequest = (chunk) => {
      const marker = /rtonce:[^\r]+/.exec(chunk.toString());
      if (chunk.includes('WATCH') && marker) watched.push(marker[0]);
      return 'forward';
    };

    const result = await tx.transact(['n'], async (t) => {
      await t.read.get('n');
      // Another client writes attempt 1's marker (as a settlement's claim would).
      if (t.attempt === 1) await admin.set(watched[0]!, 'claimed');
      t.write.incr('n');
    }, { exactlyOnce: true });

    expect(result.attempts).toBe(2);
    expect(watched).toHaveLength(2);
    expect(watched[0]).not.toBe(watched[1]); // a fresh marker per attempt
    expect(await admin.get('n')).toBe('1');
    await tx.close();
    await proxy.stop();
  });

  it('is written under the client’s key prefix', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect({ keyPrefix: 'shop:' }), { exactlyOnce: true });

    await tx.transact(['stock'], (t) => void t.write.set('stock', '1'));

    expect((await admin.keys('*')).sort()).toEqual([expect.stringMatching(/^shop:rtonce:/), 'shop:stock']);
    await tx.close();
  });

  it('goes with the transactor default, and a call can opt out', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect(), { exactlyOnce: true });

    await tx.transact(['a'], (t) => void t.write.set('a', '1'), { exactlyOnce: false });
    expect(await admin.keys('rtonce:*')).toEqual([]);
    await tx.transact(['a'], (t) => void t.write.set('a', '2'));
    expect(await admin.keys('rtonce:*')).toHaveLength(1);
    expect(await admin.pTTL((await admin.keys('rtonce:*'))[0]!)).toBeGreaterThan(DEFAULT_MARKER_TTL_MS - 60_000);
    await tx.close();
  });
});

describe('a call with nothing to commit', () => {
  it('sends no EXEC and leaves no marker when fn queues nothing', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    const tx = createTransactor(await proxy.connectClient(), { exactlyOnce: true, maxConnections: 1 });
    await tx.transact(['stock'], (t) => t.read.get('stock')); // opens the connection
    const before = proxy.flights;

    await tx.transact(['stock'], (t) => t.read.get('stock'));

    expect(proxy.flights - before).toBe(1);
    expect(await admin.keys('rtonce:*')).toEqual([]);
    await tx.close();
    await proxy.stop();
  });

  it('marks a call that only runs a script of the client (queued out of the engine’s sight)', async () => {
    const admin = await redis.connect();
    const client = await redis.connect({
      scripts: {
        bump,
      },
    });
    const tx = createTransactor(client, { exactlyOnce: true });

    // (connect() is typed as a client without scripts)
    const result = await tx.transact(['n'], (t) => void (t.write as unknown as { bump(key: string, by: string): unknown }).bump('n', '5'));

    expect(result.replies).toEqual([5]);
    expect(await admin.keys('rtonce:*')).toHaveLength(1);
    await tx.close();
  });
});

describe('what an exactly-once call costs on the wire', () => {
  it('no extra round trip: the marker rides in the WATCH and in the MULTI', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const tx = createTransactor(await proxy.connectClient(), { maxConnections: 1 });
    const flightsOf = async (options: TransactOptions) => {
      const before = proxy.flights;
      await tx.transact(['stock'], async (t) => {
        const stock = Number(await t.read.get('stock'));
        t.write.set('stock', String(stock + 1));
      }, options);
      return proxy.flights - before;
    };
    await flightsOf({}); // opens the connection

    expect(await flightsOf({ exactlyOnce: true })).toBe(await flightsOf({}));
    expect(await flightsOf({ exactlyOnce: true })).toBe(2);
    await tx.close();
    await proxy.stop();
  });
});

describe('exactly-once input', () => {
  const callCases: Array<[string, TransactOptions, string]> = [
    ['exactlyOnce that is not a boolean', { exactlyOnce: 'yes' as never }, 'options.exactlyOnce: must be true or false'],
    ['a marker TTL below one second', { markerTtlMs: 999 }, 'options.markerTtlMs: must be at least 1000 (one second)'],
    ['a marker TTL that is not whole', { markerTtlMs: 1500.5 }, 'options.markerTtlMs: must be a whole number of milliseconds'],
    ['a marker TTL above seven days', { markerTtlMs: 2 ** 40 }, 'options.markerTtlMs: must be at most 604800000 (seven days)'],
    ['a marker TTL that is not a number', { markerTtlMs: NaN }, 'options.markerTtlMs: must be at least 1000 (one second)'],
  ];

  it.each(callCases)('rejects %s with InvalidOptionsError before sending any command', async (_name, options, message) => {
    const client = await redis.connect();
    const tx = createTransactor(client);
    const before = await commandsProcessed(client);
    let ran = false;

    const failure = tx.transact(['k'], (t) => {
      ran = true;
      t.write.set('k', '1');
    }, options);

    await expect(failure).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(failure).rejects.toThrow(message);
    expect(ran).toBe(false);
    expect(await commandsProcessed(client)).toBe(before + 1); // only the INFO that asks
    await tx.close();
  });

  const transactorCases: Array<[string, TransactorOptions, string]> = [
    ['exactlyOnce that is not a boolean', { exactlyOnce: 1 as never }, 'options.exactlyOnce: must be true or false'],
    ['a bad marker TTL', { markerTtlMs: 0 }, 'options.markerTtlMs: must be at least 1000 (one second)'],
  ];

  it.each(transactorCases)('refuses a transactor with %s', async (_name, options, message) => {
    const client = await redis.connect();
    expect(() => createTransactor(client, options)).toThrow(message);
  });
});
