import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type RedisClientType } from 'redis';
import { createTransactor, TransactOutcomeUnknownError, TransactTimeoutError } from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { type EmbeddedRedis, startEmbeddedRedis } from '../../examples/support/embedded-redis';
import { waitFor } from '../support/redis';

let dir: string;
let server: EmbeddedRedis;
const clients: RedisClientType[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'faults-'));
  server = await startEmbeddedRedis({
    args: ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir, '--enable-debug-command', 'yes'],
  });
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  const admin = await connect();
  await admin.flushAll();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

async function connect(): Promise<RedisClientType> {
  const client = createClient({ url: server.url }) as RedisClientType;
  client.on('error', () => {});
  clients.push(client);
  await client.connect();
  return client;
}

async function restartServer(): Promise<void> {
  await server.stop();
  await server.start();
}

describe('server faults', () => {
  it('retries a transaction whose server restarted before EXEC, and keeps working without being recreated', async () => {
    const tx = createTransactor(await connect(), { retry: { maxAttempts: 50, baseDelayMs: 5, maxDelayMs: 100 } });
    const admin = await connect();
    await admin.set('n', '1');

    const result = await tx.transact(['n'], async (t) => {
      const n = Number(await t.read.get('n'));
      if (t.attempt === 1) await restartServer();
      t.write.set('n', String(n + 1));
      return n;
    });

    expect(result).toMatchObject({ value: 1, attempts: 2 });
    const check = await connect();
    expect(await check.get('n')).toBe('2');
    await expect(tx.transact(['n'], (t) => void t.write.incr('n'))).resolves.toMatchObject({ attempts: 1 });
    expect(await check.get('n')).toBe('3');
    await tx.close();
  });

  it('reports outcome unknown when the server goes down with EXEC in flight, and applies nothing twice', async () => {
    const tx = createTransactor(await connect());
    const admin = await connect();
    await admin.set('n', '1');
    let id = 0;

    const failure = tx.transact(['n'], async (t) => {
      id = await t.read.clientId();
      const n = Number(await t.read.get('n'));
      await admin.sendCommand(['CLIENT', 'PAUSE', '10000', 'WRITE']);
      t.write.set('n', String(n + 1));
    });
    failure.catch(() => {});
    await waitFor(async () => id !== 0 && /flags=\S*b/.test(await admin.sendCommand<string>(['CLIENT', 'LIST', 'ID', String(id)])), 'EXEC to be held');
    await restartServer();

    await expect(failure).rejects.toBeInstanceOf(TransactOutcomeUnknownError);
    const check = await connect();
    expect(await check.get('n')).toBe('1'); // this time it did not run; the caller had to be told it might have
    await expect(tx.transact(['n'], (t) => void t.write.incr('n'))).resolves.toMatchObject({ attempts: 1 });
    await tx.close();
  });

  it('times out cleanly on a stalled server (DEBUG SLEEP), writes nothing, then recovers', async () => {
    const tx = createTransactor(await connect());
    const admin = await connect();
    await tx.transact(['k'], (t) => t.read.get('k')); // a warm connection

    const stall = admin.sendCommand(['DEBUG', 'SLEEP', '1']);
    const failure = tx.transact(['k'], async (t) => {
      await t.read.get('k'); // stuck behind the stall
      t.write.set('k', 'late');
    }, { retry: { deadlineMs: 150 } });

    await expect(failure).rejects.toBeInstanceOf(TransactTimeoutError);
    await stall;
    expect(await admin.get('k')).toBeNull();
    await expect(tx.transact(['k'], (t) => void t.write.set('k', 'v'))).resolves.toMatchObject({ attempts: 1 });
    expect(await admin.get('k')).toBe('v');
    await tx.close();
  });

  it('ends at the deadline on a stalled server even when fn only queues writes (WATCH reply pending)', async () => {
    const tx = createTransactor(await connect());
    const admin = await connect();
    await tx.transact(['k'], (t) => t.read.get('k')); // a warm connection

    const stall = admin.sendCommand(['DEBUG', 'SLEEP', '1']);
    const failure = tx.transact(['k'], (t) => void t.write.set('k', 'blind'), { retry: { deadlineMs: 150 } });

    await expect(failure).rejects.toBeInstanceOf(TransactTimeoutError);
    await stall;
    expect(await admin.get('k')).toBeNull();
    await tx.close();
  });

  it('survives a script cache flush: locks and lock mode keep working', async () => {
    const tx = createTransactor(await connect());
    const admin = await connect();
    await tx.transact(['stock'], (t) => void t.write.set('stock', '2'), { mode: 'lock' }); // scripts loaded

    await admin.scriptFlush();
    const lockMode = await tx.transact(['stock'], async (t) => {
      const stock = Number(await t.read.get('stock'));
      t.write.set('stock', String(stock - 1));
    }, { mode: 'lock' });
    await admin.scriptFlush();
    const lock = await tx.lock(['stock']);
    await admin.scriptFlush();
    const released = await lock.release();

    expect(lockMode.attempts).toBeLessThanOrEqual(2);
    expect(await admin.get('stock')).toBe('1');
    expect(released).toBe(true);
    expect(await admin.exists(resourceKeys('stock').lock)).toBe(0);
    await tx.close();
  });
});
