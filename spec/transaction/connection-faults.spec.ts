import { createClient, type RedisClientType } from 'redis';
import {
  createTransactor,
  TransactConnectionError,
  TransactOutcomeUnknownError,
} from '../../lib';
import { startEmbeddedRedis } from '../../examples/support/embedded-redis';
import { useRedis, waitFor, waitUntilExecIsHeld } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';

const redis = useRedis();

/** The transactor's connection, seen from fn: its server-side id. */
async function connectionId(read: { clientId(): Promise<number> }): Promise<number> {
  return read.clientId();
}

describe('a connection lost before EXEC was sent', () => {
  it('retries on a fresh connection when the connection dies while fn runs', async () => {
    const client = await redis.connect();
    const admin = await redis.connect();
    await client.set('stock', '10');
    const tx = createTransactor(client);
    let killed = 0;

    const result = await tx.transact(['stock'], async (t) => {
      const stock = Number(await t.read.get('stock'));
      if (t.attempt === 1) {
        await admin.clientKill({ filter: 'ID', id: await connectionId(t.read) });
        killed++;
        await waitFor(() => !t.read.isReady, 'the transactor to see its connection drop');
      }
      t.write.set('stock', String(stock - 1));
    });

    expect(killed).toBe(1);
    expect(result.attempts).toBe(2);
    expect(await client.get('stock')).toBe('9');
    await tx.close();
  });

  it('retries when a read inside fn fails because the connection was killed under it', async () => {
    const client = await redis.connect();
    const admin = await redis.connect();
    await client.set('stock', '10');
    const tx = createTransactor(client);

    const result = await tx.transact(['stock'], async (t) => {
      if (t.attempt === 1) await admin.clientKill({ filter: 'ID', id: await connectionId(t.read) });
      const stock = Number(await t.read.get('stock')); // rejects on attempt 1
      t.write.set('stock', String(stock - 1));
    });

    expect(result.attempts).toBe(2);
    expect(await client.get('stock')).toBe('9');
    await tx.close();
  });

  it('gives up with TransactConnectionError when the server stays down, and recovers when it is back', async () => {
    const server = await startEmbeddedRedis();
    const client = createClient({ url: server.url }) as RedisClientType;
    client.on('error', () => {});
    await client.connect();
    const tx = createTransactor(client, { retry: { maxAttempts: 3, backoff: 'none' } });
    await tx.transact(['k'], (t) => void t.write.set('k', '1')); // a warm connection to lose
    client.destroy();
    await server.stop();

    const failure = tx.transact(['k'], (t) => void t.write.set('k', '2'));
    await expect(failure).rejects.toBeInstanceOf(TransactConnectionError);
    await expect(failure).rejects.toMatchObject({ attempts: 3, code: 'ERR_TRANSACT_CONNECTION' });

    await server.start();
    const result = await tx.transact(['k'], (t) => void t.write.set('k', '3'));
    expect(result.attempts).toBe(1);
    const check = createClient({ url: server.url });
    await check.connect();
    expect(await check.get('k')).toBe('3');
    await check.close();
    await tx.close();
    await server.stop();
  });

  it('replaces connections killed while idle, without being recreated', async () => {
    const client = await redis.connect();
    const admin = await redis.connect();
    const tx = createTransactor(client);
    await Promise.all([1, 2, 3].map((i) => tx.transact([`k${i}`], (t) => void t.write.set(`k${i}`, 'a'))));

    await admin.clientKill({ filter: 'SKIPME', skipMe: true });
    // The kill races the transactor noticing it: until each socket's close is read, an attempt may
    // still pick it. Each dead socket costs at most one attempt: it is dropped, never reused.
    const first = await tx.transact(['n'], (t) => void t.write.incr('n'));
    const second = await tx.transact(['n'], (t) => void t.write.incr('n'));

    expect(first.attempts).toBeLessThanOrEqual(4); // 3 dead sockets, then a new one
    expect(second.attempts).toBe(1);
    expect(await admin.get('n')).toBe('2');
    await tx.close();
  });
});

describe('a connection lost after EXEC was sent', () => {
  it('rejects with TransactOutcomeUnknownError and never re-runs fn (EXEC held, then the connection killed)', async () => {
    const client = await redis.connect();
    const admin = await redis.connect();
    await client.set('balance', '100');
    const tx = createTransactor(client);
    let calls = 0;
    let id = 0;

    const failure = tx.transact(['balance'], async (t) => {
      calls++;
      id = await connectionId(t.read);
      const balance = Number(await t.read.get('balance'));
      await admin.sendCommand(['CLIENT', 'PAUSE', '10000', 'WRITE']);
      t.write.set('balance', String(balance - 30));
    });
    failure.catch(() => {}); // asserted below, after the fault is injected
    await waitFor(() => calls === 1 && id !== 0, 'fn to run');
    await waitUntilExecIsHeld(admin, id);
    await admin.clientKill({ filter: 'ID', id });
    await admin.sendCommand(['CLIENT', 'UNPAUSE']);

    await expect(failure).rejects.toBeInstanceOf(TransactOutcomeUnknownError);
    await expect(failure).rejects.toMatchObject({ code: 'ERR_TRANSACT_OUTCOME_UNKNOWN', attempts: 1, keys: ['balance'] });
    expect(calls).toBe(1);
    expect(await client.get('balance')).toBe('100'); // here the held EXEC died with its connection
    await tx.close();
  });

  it('rejects with TransactOutcomeUnknownError when EXEC committed but its reply was lost', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    await admin.set('balance', '100');
    const tx = createTransactor(await proxy.connectClient());
    let calls = 0;
    proxy.onRequest = (chunk) => (chunk.includes('\r\nEXEC\r\n') ? 'cut-after-reply' : 'forward');

    const failure = tx.transact(['balance'], async (t) => {
      calls++;
      const balance = Number(await t.read.get('balance'));
      t.write.set('balance', String(balance - 30));
    });

    await expect(failure).rejects.toBeInstanceOf(TransactOutcomeUnknownError);
    expect(calls).toBe(1);
    expect(await admin.get('balance')).toBe('70'); // it did commit: retrying would have made it 40
    await tx.close();
    await proxy.stop();
  });

  it('retries an idempotent transaction whose outcome is unknown', async () => {
    const client = await redis.connect();
    const admin = await redis.connect();
    const tx = createTransactor(client);
    let id = 0;

    const purchase = tx.transact(
      ['orders', 'order:o-1'],
      async (t) => {
        if (await t.read.exists('order:o-1')) return 'already-recorded';
        if (t.attempt === 1) {
          id = await connectionId(t.read);
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
    await tx.close();
  });
});
