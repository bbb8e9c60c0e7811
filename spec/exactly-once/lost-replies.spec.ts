import { createClient, type RedisClientType, RESP_TYPES } from 'redis';
import {
  createTransactor,
  isTransactOutcomeUnknownError,
  type TransactMode,
  TransactOutcomeUnknownError,
  TransactTimeoutError,
  TransactUsageError,
} from '../../lib';
import { startEmbeddedRedis } from '../../examples/support/embedded-redis';
import { bump } from '../support/bump-script';
import { useRedis, waitFor } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';

/**
 * `exactlyOnce: true`: an EXEC whose reply is lost is settled by claiming the attempt's commit
 * marker on another connection. Every fault here is real: a proxy that swallows or holds bytes,
 * CLIENT PAUSE and CLIENT KILL on the server, a server stopped and started empty.
 */
const redis = useRedis();
const MODES: TransactMode[] = ['optimistic', 'lock', 'auto'];
/** EXEC aborted by its WATCH: a null array in RESP2, a null in RESP3. */
const abortedExec = (answer: Buffer) => /(\*-1|_)\r\n$/.test(answer.toString());

/** A debit that records its order id, so "applied once" is checked by id, not only by the total. */
function debit(order: string, amount: number, calls: { n: number }) {
  return async (t: { read: RedisClientType; write: any }) => {
    calls.n++;
    const balance = Number(await t.read.get('balance'));
    t.write.set('balance', String(balance - amount)).rPush('orders', order);
    return balance - amount;
  };
}

// A cut reply settled as committed, a killed held EXEC settled as not committed, and tx.settle once
// Redis is back, for every client and mode: spec/clients/faults.spec.ts.
describe.each(MODES)('mode %s, exactlyOnce', (mode) => {
  it('settles as not committed when the claim runs first: the EXEC that arrives later aborts', async () => {
    // CLIENT PAUSE releases held clients in arrival order, so an EXEC held there always runs
    // before a claim sent after it; to run the claim first, the proxy holds the EXEC instead.
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    await admin.set('balance', '100');
    const tx = createTransactor(await proxy.connectClient());
    const calls = { n: 0 };
    proxy.atExec('hold');

    const result = await tx.transact(['balance', 'orders'], debit('o-1', 30, calls), { mode, exactlyOnce: true });

    expect(result).toMatchObject({ value: 70, attempts: 2, repliesLost: false });
    expect(proxy.holding).toBe(true);
    const answer = await proxy.releaseHeld(abortedExec);
    expect(abortedExec(answer)).toBe(true);
    expect(await admin.get('balance')).toBe('70');
    expect(await admin.lRange('orders', 0, -1)).toEqual(['o-1']);
    await tx.close();
    await proxy.stop();
  });
});

describe('exactlyOnce, however fn queues its writes', () => {
  type Writer = { incr(key: string): unknown; sendCommand(args: string[]): unknown; bump(key: string, by: string): unknown };
  const ways: Array<[string, (w: Writer) => unknown]> = [
    ['a typed command', (w) => w.incr('n')],
    ['a raw sendCommand', (w) => w.sendCommand(['INCR', 'n'])],
    ['a script of the client', (w) => w.bump('n', '1')],
  ];

  it.each(ways)('marks the commit of %s: a cut reply resolves as committed, applied once', async (way, write) => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    // Scripts only where fn uses one: a client without them is the one to fool.
    const client = createClient({ url: proxy.url, ...(way === 'a script of the client' ? { scripts: { bump } } : {}) });
    client.on('error', () => {});
    await client.connect();
    const tx = createTransactor(client, { exactlyOnce: true });
    proxy.atExec('cut-after-reply', { every: true });

    const result = await tx.transact(['n'], (t) => void write(t.write as unknown as Writer));

    expect(result).toMatchObject({ attempts: 1, repliesLost: true });
    expect(await admin.get('n')).toBe('1');
    await tx.close();
    client.destroy();
    await proxy.stop();
  });

  it('settles for a client that maps strings to Buffers', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    const client = await proxy.connectClient();
    const tx = createTransactor(client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }), { exactlyOnce: true });
    proxy.atExec('cut-after-reply', { every: true });

    const result = await tx.transact(['n'], (t) => void t.write.incr('n'));

    expect(result).toMatchObject({ attempts: 1, repliesLost: true });
    expect(await admin.get('n')).toBe('1');
    await tx.close();
    await proxy.stop();
  });

  it.each([['SELECT', '1'], ['RESET'], ['EXEC']])('refuses a raw %s queued on t.write, sending nothing', async (...command) => {
    const tx = await redis.transactor();
    const admin = await redis.connect();

    const failure = tx.transact(['n'], (t) => void t.write.incr('n').sendCommand(command));

    await expect(failure).rejects.toBeInstanceOf(TransactUsageError);
    await expect(failure).rejects.toThrow(/nothing was sent/);
    expect(await admin.get('n')).toBeNull();
    // The connection is still in its own database, with no transaction open on it.
    await tx.transact(['n'], (t) => void t.write.incr('n'));
    expect(await admin.get('n')).toBe('1');
  });

  it('refuses t.write.select(): the rest of the transaction (and its marker) would land in another database', async () => {
    const tx = await redis.transactor();
    const admin = await redis.connect();

    await expect(tx.transact(['n'], (t) => void t.write.incr('n').select(1))).rejects.toBeInstanceOf(TransactUsageError);
    expect(await admin.get('n')).toBeNull();
  });
});

describe('exactlyOnce settles whatever else is going on', () => {
  it('while every pooled connection is taken and calls queue for one', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    const tx = createTransactor(await proxy.connectClient(), { maxConnections: 2 });
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const blocked = (key: string) => tx.transact([key], async (t) => {
      await gate;
      t.write.incr(key);
    });
    const first = blocked('a'); // holds one connection
    await waitFor(() => proxy.flights > 0, 'the first call to hold its connection');
    proxy.atExec('cut-after-reply');

    const lost = tx.transact(['n'], (t) => void t.write.incr('n'), { exactlyOnce: true });
    const queued = [blocked('b'), blocked('c')]; // they wait for a connection, then hold it

    await expect(lost).resolves.toMatchObject({ attempts: 1, repliesLost: true });
    open();
    await Promise.all([first, ...queued]);
    expect(await admin.mGet(['n', 'a', 'b', 'c'])).toEqual(['1', '1', '1', '1']);
    await tx.close();
    await proxy.stop();
  });

  it('when the deadline passes while EXEC’s reply is on its way and EXEC committed: resolves as committed', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    const tx = createTransactor(await proxy.connectClient(), { exactlyOnce: true, retry: { deadlineMs: 150 } });
    proxy.atExec('mute-replies');

    const result = await tx.transact(['n'], (t) => void t.write.incr('n'));

    expect(result).toMatchObject({ attempts: 1, repliesLost: true });
    expect(await admin.get('n')).toBe('1');
    await tx.close();
    await proxy.stop();
  });

  it('never past the marker’s lifetime: a claim that might find it expired settles nothing', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    // The shortest marker, and a settlement window (10 s without a deadline) far longer than it.
    const tx = createTransactor(await proxy.connectClient(), { exactlyOnce: true, markerTtlMs: 1_000 });
    proxy.atExec('cut-after-reply', { every: true, thenRefuse: true }); // from then on, no new connection gets through

    const failure = await tx.transact(['n'], (t) => void t.write.incr('n')).catch((err: unknown) => err);

    // Not "not committed, retry": the marker may have expired, which a claim cannot tell apart.
    expect(failure).toBeInstanceOf(TransactOutcomeUnknownError);
    expect((failure as TransactOutcomeUnknownError).settleError).toMatchObject({ name: 'SettlementFailed' });
    proxy.refuse = false;
    await expect(tx.settle(failure as TransactOutcomeUnknownError)).rejects.toMatchObject({ code: 'ERR_TRANSACT_USAGE' });
    expect(await admin.get('n')).toBe('1');
    await tx.close();
    await proxy.stop();
  });
});

describe('exactlyOnce when the server is restarted without persistence between EXEC and the claim', () => {
  it('settles as not committed (the commit was lost with the restart) and applies the retry once', async () => {
    const server = await startEmbeddedRedis();
    const proxy = await TcpProxy.inFrontOf(server.url);
    const admin = await proxy.connectClient();
    await admin.set('balance', '100');
    const tx = createTransactor(await proxy.connectClient(), { exactlyOnce: true });
    const calls = { n: 0 };
    proxy.atExec('mute-replies');

    const result = tx.transact(['balance', 'orders'], debit('o-1', 30, calls));
    // EXEC ran (its writes are there), and its reply is swallowed: restart before any claim.
    await waitFor(async () => (await admin.get('balance').catch(() => null)) === '70', 'EXEC to run');
    await server.stop();
    await server.start();

    // The restarted server is empty: the retry reads no balance and debits from 0.
    await expect(result).resolves.toMatchObject({ value: -30, attempts: 2, repliesLost: false });
    const check = await proxy.connectClient();
    expect(await check.get('balance')).toBe('-30');
    expect(await check.lRange('orders', 0, -1)).toEqual(['o-1']);
    expect(calls.n).toBe(2);
    await tx.close();
    await proxy.stop();
    await server.stop();
  });
});

describe('exactlyOnce when Redis cannot be reached in time', () => {
  it('tx.settle answers not committed for an EXEC still held back, which then aborts', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    await admin.set('balance', '100');
    const tx = createTransactor(await proxy.connectClient(), { retry: { deadlineMs: 200 } });
    proxy.atExec('hold', { thenRefuse: true }); // from then on, no new connection gets through

    const failure = await tx.transact(['balance', 'orders'], debit('o-1', 30, { n: 0 }), { exactlyOnce: true }).catch((err: unknown) => err);
    expect(isTransactOutcomeUnknownError(failure) && failure.commitMarker !== undefined).toBe(true);

    proxy.refuse = false;
    await expect(tx.settle(failure as TransactOutcomeUnknownError)).resolves.toBe('not-committed');
    expect(abortedExec(await proxy.releaseHeld(abortedExec))).toBe(true);
    expect(await admin.get('balance')).toBe('100');
    expect(await admin.lRange('orders', 0, -1)).toEqual([]);
    await tx.close();
    await proxy.stop();
  });

  it('ends a call whose deadline passed during EXEC with the timeout error once the claim finds it not committed', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    await admin.set('balance', '100');
    const tx = createTransactor(await proxy.connectClient(), { exactlyOnce: true, retry: { deadlineMs: 100 } });
    // Stalled, not cut: the connection looks alive, only the deadline ends the wait for the reply.
    proxy.atExec('stall');

    const failure = await tx.transact(['balance', 'orders'], debit('o-1', 30, { n: 0 })).catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(TransactTimeoutError); // "nothing was written": now it is settled
    expect(abortedExec(await proxy.releaseHeld(abortedExec))).toBe(true);
    expect(await admin.get('balance')).toBe('100');
    await tx.close();
    await proxy.stop();
  });
});

describe('tx.settle input', () => {
  it('refuses what is not the outcome-unknown error of an exactly-once call, before sending anything', async () => {
    const tx = await redis.transactor();
    for (const bad of [undefined, new Error('x'), new TransactOutcomeUnknownError({ keys: ['k'], attempts: 1 })]) {
      await expect(tx.settle(bad as TransactOutcomeUnknownError)).rejects.toMatchObject({
        code: 'ERR_TRANSACT_INVALID_OPTIONS',
        issues: [{ path: 'error', message: expect.stringMatching(/^must be the TransactOutcomeUnknownError of an exactlyOnce call/) }],
      });
    }
  });

  it('refuses a marker that may have expired', async () => {
    const tx = await redis.transactor();
    const stale = new TransactOutcomeUnknownError({
      keys: ['k'],
      attempts: 1,
      commitMarker: { key: 'rtonce:x.1', attemptId: 'x.1', settleBy: Date.now() - 1 },
    });
    await expect(tx.settle(stale)).rejects.toMatchObject({ code: 'ERR_TRANSACT_USAGE', message: expect.stringMatching(/may have expired/) });
  });
});
