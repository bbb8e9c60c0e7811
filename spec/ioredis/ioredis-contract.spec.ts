import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import Valkey from 'iovalkey';
import { createTransactor, TransactConnectionError, type Transactor } from '../../lib';
import { startEmbeddedRedis } from '../../examples/support/embedded-redis';
import { useIoredis } from '../support/ioredis';
import { waitFor } from '../support/redis';

/**
 * What the ioredis driver (`lib/connection/ioredis-*.ts`) relies on in ioredis, and in iovalkey
 * (the Valkey fork of ioredis 5 it also serves), beyond their documented API. Fails first if a
 * release of either changes one of them.
 */
const redis = useIoredis();
const valkey = useIoredis({ Client: Valkey as unknown as typeof Redis });

describe.each([
  ['ioredis', redis],
  ['iovalkey', valkey],
])('the installed %s, as the driver uses it', (_name, lib) => {
  it('queues a MULTI command first in a fresh multi(), whose class makes commands without the key prefix', async () => {
    const client = await lib.connect({ keyPrefix: 'app:' });
    const probe = client.multi() as unknown as { _queue: { name: string; constructor: new (...args: unknown[]) => { args: unknown[] } }[] };

    expect(probe._queue.map((c) => c.name)).toEqual(['multi']);
    const Command = probe._queue[0]!.constructor;
    expect(new Command('get', ['k'], {}).args).toEqual(['k']);
  });

  it('duplicates with the app’s options under the overrides, and refuses, unwritten, a command it cannot send at once', async () => {
    const client = await lib.connect({ keyPrefix: 'app:', db: 1 });
    const dedicated = client.duplicate({ lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    dedicated.on('error', () => {});

    expect(dedicated.options).toMatchObject({ keyPrefix: 'app:', db: 1, enableOfflineQueue: false, autoResendUnfulfilledCommands: true });
    // Not connected yet: the message the driver reads as "nothing was written" (ioredis-errors.ts).
    await expect(dedicated.get('k')).rejects.toThrow("Stream isn't writeable and enableOfflineQueue options is false");
    dedicated.disconnect();
  });

  it('writes a whole pipeline before exec() returns, in one socket write (what follows it goes after)', async () => {
    const client = await lib.connect();
    const stream = (client as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
    const write = stream.write.bind(stream);
    let writes = 0;
    stream.write = (...args: unknown[]) => {
      writes++;
      return write(...args);
    };

    const done = client.pipeline().set('a', '1').get('a').exec();
    const writesAtReturn = writes;
    await done;

    expect(writesAtReturn).toBe(1);
    expect(writes).toBe(1);
  });

  it('resolves an aborted EXEC as null (not an error), and EXEC replies as [err, reply] pairs', async () => {
    const client = await lib.connect();
    const other = await lib.connect();
    await client.watch('k');
    await other.set('k', 'x');
    expect(await client.multi().set('k', 'y').exec()).toBeNull();
    const pairs = await client.multi().set('k', 'y').lpush('k', 'z').exec();
    expect(pairs?.[0]).toEqual([null, 'OK']);
    expect(pairs?.[1]?.[0]).toMatchObject({ name: 'ReplyError', message: expect.stringMatching(/^WRONGTYPE/) });
  });

  it('delivers sharded pub/sub messages as smessage (channel, message)', async () => {
    const subscriber = await lib.connect();
    const publisher = await lib.connect();
    const messages: [string, string][] = [];
    subscriber.on('smessage', (channel: string, message: string) => messages.push([channel, message]));
    await subscriber.ssubscribe('ch');

    await publisher.spublish('ch', 'hello');

    await waitFor(() => messages.length === 1, 'the message');
    expect(messages).toEqual([['ch', 'hello']]);
  });
});

describe('packaging', () => {
  it('never imports ioredis in lib, not even its types: redis-transact loads and type-checks without it', () => {
    const files = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
    const importers = files(join(__dirname, '../../lib'))
      .filter((file) => file.endsWith('.ts'))
      .filter((file) => /from '(ioredis|iovalkey)'|import\('(ioredis|iovalkey)'\)|require\('(ioredis|iovalkey)'\)/.test(readFileSync(file, 'utf8')));

    expect(importers).toEqual([]);
  });

  it('types t.read as the ioredis client and t.write as its typed pipeline', () => {
    // Compiled, never run: a misspelt command is a compile error.
    const typed = (tx: Transactor<Redis>) =>
      tx.transact(['n'], async (t) => {
        const n: string | null = await t.read.get('n');
        t.write.set('n', String(n)).incr('m');
        // @ts-expect-error: no such command
        t.write.sett('n', '1');
        // @ts-expect-error: no such command
        await t.read.gett('n');
      });
    expect(typeof typed).toBe('function');
  });
});

describe('a server that is down', () => {
  it('ends a call with TransactConnectionError, and serves calls again once the server is back', async () => {
    const server = await startEmbeddedRedis();
    const client = await redis.connect({}, server.url);
    const tx = createTransactor(client, { retry: { maxAttempts: 3, backoff: 'none' } });
    redis.track(tx);
    await server.stop();

    await expect(tx.transact(['n'], (t) => t.read.get('n'))).rejects.toBeInstanceOf(TransactConnectionError);

    await server.start(); // the transactor opens its connections anew, whatever the app client's state
    try {
      await expect(tx.transact(['n'], (t) => void t.write.incr('n'))).resolves.toMatchObject({ replies: [1] });
    } finally {
      await redis.cleanUp();
      await server.stop();
    }
  });

  it('takes a lock once the server is back, having waited for its lock connection', async () => {
    const server = await startEmbeddedRedis();
    const tx = createTransactor(await redis.connect({}, server.url));
    redis.track(tx);
    await server.stop();

    const lock = tx.lock(['r'], { acquireTimeoutMs: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 300)); // several failed connects
    await server.start();

    try {
      const held = await lock;
      expect(held.fencingToken).toBeGreaterThan(0);
      await held.release();
    } finally {
      await redis.cleanUp();
      await server.stop();
    }
  });
});
