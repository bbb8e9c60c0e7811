import {
  createTransactor,
  type TransactMode,
  TransactConnectionError,
  TransactOutcomeUnknownError,
} from '../../lib';
import { startEmbeddedRedis } from '../../examples/support/embedded-redis';
import { type Client, clientIdOf, CLIENTS, type ClientKind, useClients } from '../support/clients';
import { waitFor, waitUntilExecIsHeld } from '../support/redis';

/**
 * Connections lost under a transaction, for every client of the matrix: before EXEC was sent (the
 * attempt runs again, on a new connection, under a new WATCH), after it was sent (outcome unknown,
 * never re-sent on another socket), and with `exactlyOnce` (the lost outcome settled). The app's
 * client keeps its library's defaults (reconnect, offline queue, and for ioredis re-sending what
 * was unanswered): the transactor's own connections must not inherit them.
 */
const clients = useClients();
const MODES: TransactMode[] = ['optimistic', 'lock', 'auto'];

/** A debit that records its order id, so "applied once" is checked by id, not only by the total. */
function debit(kind: ClientKind, order: string, amount: number, calls: { n: number }) {
  return async (t: { read: Client; write: Client }) => {
    calls.n++;
    const balance = Number(await t.read.get('balance'));
    t.write.set('balance', String(balance - amount));
    kind.queue(t.write, ['RPUSH', 'orders', order]);
    return balance - amount;
  };
}

describe.each(CLIENTS)('a connection lost before EXEC was sent, on $name', (kind) => {
  it('never commits outside its WATCH: the attempt runs again on a new connection and sees the write made meanwhile', async () => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();
    await admin.set('balance', '100');
    const seen: number[] = [];
    const ids: number[] = [];

    const result = await tx.transact(['balance'], async (t) => {
      const balance = Number(await t.read.get('balance'));
      seen.push(balance);
      ids.push(await clientIdOf(kind, t.read));
      if (t.attempt === 1) {
        await admin.clientKill({ filter: 'ID', id: ids[0]! });
        await waitFor(() => !kind.isReady(t.read), 'the transactor to see its connection drop');
        await admin.decrBy('balance', 50); // unwatched now: only an EXEC sent outside the WATCH would miss it
      }
      t.write.set('balance', String(balance - 10));
    });

    expect(result.attempts).toBe(2);
    expect(seen).toEqual([100, 50]);
    expect(ids[1]).not.toBe(ids[0]);
    expect(await admin.get('balance')).toBe('40');
  });

  it('retries when a read inside fn fails because the connection was killed under it', async () => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();
    await admin.set('stock', '10');

    const result = await tx.transact(['stock'], async (t) => {
      if (t.attempt === 1) await admin.clientKill({ filter: 'ID', id: await clientIdOf(kind, t.read) });
      const stock = Number(await t.read.get('stock')); // rejects on attempt 1
      t.write.set('stock', String(stock - 1));
    });

    expect(result.attempts).toBe(2);
    expect(await admin.get('stock')).toBe('9');
  });

  it('replaces connections killed while idle, without being recreated', async () => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();
    await Promise.all([1, 2, 3].map((i) => tx.transact([`k${i}`], (t) => void t.write.set(`k${i}`, 'a'))));

    await admin.clientKill({ filter: 'SKIPME', skipMe: true });
    // The kill races the transactor noticing it: until each socket's close is read, an attempt may
    // still pick it. Each dead socket costs at most one attempt: it is dropped, never reused.
    const first = await tx.transact(['n'], (t) => void t.write.incr('n'));
    const second = await tx.transact(['n'], (t) => void t.write.incr('n'));

    expect(first.attempts).toBeLessThanOrEqual(4); // 3 dead sockets, then a new one
    expect(second.attempts).toBe(1);
    expect(await admin.get('n')).toBe('2');
  });

  it('gives up with TransactConnectionError while the server is down, and serves calls again once it is back', async () => {
    const server = await startEmbeddedRedis();
    try {
      const client = await clients.connect(kind, { url: server.url });
      const tx = clients.track(createTransactor(client, { retry: { maxAttempts: 3, backoff: 'none' } }));
      await tx.transact(['k'], (t) => void t.write.set('k', '1')); // a warm connection to lose
      await server.stop();

      const failure = tx.transact(['k'], (t) => void t.write.set('k', '2'));
      await expect(failure).rejects.toBeInstanceOf(TransactConnectionError);
      await expect(failure).rejects.toMatchObject({ attempts: 3, code: 'ERR_TRANSACT_CONNECTION' });

      await server.start(); // the transactor opens its connections anew, whatever the app client's state
      await expect(tx.transact(['k'], (t) => void t.write.set('k', '3'))).resolves.toMatchObject({ attempts: 1, replies: ['OK'] });
      const check = await clients.connect(kind, { url: server.url });
      expect(await check.get('k')).toBe('3');
    } finally {
      await clients.cleanUp();
      await server.stop();
    }
  });

  it('takes a lock once the server is back, having waited for a lock connection it could not open', async () => {
    const proxy = await clients.proxy();
    const { tx } = await clients.transactor(kind, {}, { url: proxy.url });
    proxy.refuse = true; // the transactor has opened nothing yet: its lock connection cannot be opened

    const lock = tx.lock(['r'], { acquireTimeoutMs: 20_000 });
    await waitFor(() => proxy.refused >= 2, 'the lock connection to be refused, and tried again');
    proxy.refuse = false;

    const held = await lock;
    expect(held.fencingToken).toBeGreaterThan(0);
    await held.release();
  });
});

describe.each(CLIENTS)('a connection lost after EXEC was sent, on $name', (kind) => {
  it('rejects with TransactOutcomeUnknownError, never re-runs fn, and never re-sends the EXEC (held, then its connection killed)', async () => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();
    await admin.set('balance', '100');
    let calls = 0;
    let id = 0;
    let read: Client;

    const failure = tx.transact(['balance'], async (t) => {
      calls++;
      read = t.read;
      id = await clientIdOf(kind, t.read);
      const balance = Number(await t.read.get('balance'));
      await admin.sendCommand(['CLIENT', 'PAUSE', '10000', 'WRITE']);
      t.write.set('balance', String(balance - 30));
    });
    failure.catch(() => {}); // asserted below, after the fault is injected
    await waitFor(() => calls === 1 && id !== 0, 'fn to run');
    await waitUntilExecIsHeld(admin, id);
    await admin.clientKill({ filter: 'ID', id }); // the held EXEC is discarded with its client
    await admin.sendCommand(['CLIENT', 'UNPAUSE']);

    await expect(failure).rejects.toBeInstanceOf(TransactOutcomeUnknownError);
    await expect(failure).rejects.toMatchObject({ code: 'ERR_TRANSACT_OUTCOME_UNKNOWN', attempts: 1, keys: ['balance'] });
    expect(calls).toBe(1);
    // Whatever it had sent dies with it: the connection neither reconnects nor re-sends.
    await waitFor(() => kind.isEnded(read), 'the lost connection to be closed for good');
    expect(await admin.get('balance')).toBe('100'); // here the held EXEC died with its connection
  });

  it('rejects with TransactOutcomeUnknownError when EXEC committed but its reply was lost, and never re-sends it', async () => {
    const proxy = await clients.proxy();
    const admin = await clients.admin();
    await admin.set('balance', '100');
    const { tx } = await clients.transactor(kind, {}, { url: proxy.url });
    let calls = 0;
    let read: Client;
    proxy.atExec('cut-after-reply');

    const failure = tx.transact(['balance'], async (t) => {
      calls++;
      read = t.read;
      const balance = Number(await t.read.get('balance'));
      t.write.set('balance', String(balance - 30));
    });

    await expect(failure).rejects.toBeInstanceOf(TransactOutcomeUnknownError);
    expect(calls).toBe(1);
    await waitFor(() => kind.isEnded(read), 'the cut connection to be closed for good');
    expect(await admin.get('balance')).toBe('70'); // it did commit, once: a retry or a re-send would have made it 40
  });

  it('retries an idempotent transaction whose outcome is unknown', async () => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();
    let id = 0;

    const purchase = tx.transact(
      ['orders', 'order:o-1'],
      async (t) => {
        if (await t.read.exists('order:o-1')) return 'already-recorded';
        if (t.attempt === 1) {
          id = await clientIdOf(kind, t.read);
          await admin.sendCommand(['CLIENT', 'PAUSE', '10000', 'WRITE']);
        }
        t.write.set('order:o-1', 'paid').incr('orders');
        return 'recorded';
      },
      { idempotent: true },
    );
    await waitFor(() => id !== 0, 'fn to run');
    await waitUntilExecIsHeld(admin, id);
    await admin.clientKill({ filter: 'ID', id });
    await admin.sendCommand(['CLIENT', 'UNPAUSE']);

    await expect(purchase).resolves.toMatchObject({ value: 'recorded', attempts: 2 });
    expect(await admin.get('orders')).toBe('1');
  });
});

describe.each(CLIENTS.flatMap((kind) => MODES.map((mode) => [kind.name, mode, kind] as const)))(
  'exactlyOnce on %s, mode %s',
  (_name, mode, kind) => {
    it('resolves as committed, applied once, when the reply was cut after the server ran EXEC', async () => {
      const proxy = await clients.proxy();
      const admin = await clients.admin();
      await admin.set('balance', '100');
      // One connection: the settlement needs the one whose reply was lost to be given back first.
      const { tx } = await clients.transactor(kind, { exactlyOnce: true, maxConnections: 1 }, { url: proxy.url });
      const calls = { n: 0 };
      proxy.atExec('cut-after-reply', { every: true });

      const result = await tx.transact(['balance', 'orders'], debit(kind, 'o-1', 30, calls), { mode });

      expect(result).toMatchObject({ value: 70, attempts: 1, repliesLost: true, replies: [] });
      expect(calls.n).toBe(1);
      expect(await admin.get('balance')).toBe('70');
      expect(await admin.lRange('orders', 0, -1)).toEqual(['o-1']);
      await tx.close();
      expect(await admin.keys('rtlock:lock:*')).toEqual([]);
    });

    it('settles as not committed and retries once, when the held EXEC died with its killed connection', async () => {
      const { tx } = await clients.transactor(kind, { maxConnections: 1 });
      const admin = await clients.admin();
      await admin.set('balance', '100');
      let id = 0;
      const calls = { n: 0 };
      const pay = debit(kind, 'o-1', 30, calls);

      const result = tx.transact(['balance', 'orders'], async (t) => {
        if (t.attempt === 1) {
          id = await clientIdOf(kind, t.read);
          await admin.sendCommand(['CLIENT', 'PAUSE', '10000', 'WRITE']);
        }
        return pay(t);
      }, { mode, exactlyOnce: true });
      await waitFor(() => id !== 0, 'fn to run');
      await waitUntilExecIsHeld(admin, id);
      await admin.clientKill({ filter: 'ID', id }); // the held EXEC is discarded with its client
      await admin.sendCommand(['CLIENT', 'UNPAUSE']); // lets the claim through

      await expect(result).resolves.toMatchObject({ value: 70, attempts: 2, repliesLost: false });
      expect(calls.n).toBe(2);
      expect(await admin.get('balance')).toBe('70');
      expect(await admin.lRange('orders', 0, -1)).toEqual(['o-1']);
    });
  },
);

describe.each(CLIENTS)('exactlyOnce when Redis cannot be reached in time, on $name', (kind) => {
  it('rejects with a settleable TransactOutcomeUnknownError; tx.settle answers committed once Redis is back', async () => {
    const proxy = await clients.proxy();
    const admin = await clients.admin();
    await admin.set('balance', '100');
    const { tx } = await clients.transactor(kind, { exactlyOnce: true, retry: { deadlineMs: 200 } }, { url: proxy.url });
    const calls = { n: 0 };
    proxy.atExec('cut-after-reply', { every: true, thenRefuse: true }); // from then on, no new connection gets through

    const failure = await tx.transact(['balance', 'orders'], debit(kind, 'o-1', 30, calls)).catch((err: unknown) => err);

    expect(failure).toBeInstanceOf(TransactOutcomeUnknownError);
    const unknown = failure as TransactOutcomeUnknownError;
    expect(unknown.commitMarker).toMatchObject({ key: expect.stringMatching(/^rtonce:/), attemptId: expect.any(String) });
    expect(unknown.commitMarker!.settleBy).toBeGreaterThan(Date.now());
    expect(unknown.message).toMatch(/tx\.settle\(error\)/);
    await expect(tx.settle(unknown)).rejects.toMatchObject({ code: 'ERR_TRANSACT_CONNECTION' });

    proxy.refuse = false;
    await expect(tx.settle(unknown)).resolves.toBe('committed');
    await expect(tx.settle(unknown)).resolves.toBe('committed'); // the same answer every time
    expect(await admin.get('balance')).toBe('70');
    expect(calls.n).toBe(1);
  });
});
