import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import type { Transactor } from '../../lib';
import { IOREDIS, IOVALKEY, useClients } from '../support/clients';
import { waitFor } from '../support/redis';

/**
 * What the ioredis driver (`lib/connection/ioredis-*.ts`) relies on in ioredis (and in iovalkey,
 * its fork) beyond the documented API. Fails first if a release changes one of them.
 */
const redis = useClients();

describe.each([IOREDIS, IOVALKEY])('the installed $name, as the driver uses it', (kind) => {
  it('queues a MULTI command first in a fresh multi(), whose class makes commands without the key prefix', async () => {
    const client = await redis.connect(kind, { keyPrefix: 'app:' });
    const probe = client.multi() as unknown as { _queue: { name: string; constructor: new (...args: unknown[]) => { args: unknown[] } }[] };

    expect(probe._queue.map((c) => c.name)).toEqual(['multi']);
    const Command = probe._queue[0]!.constructor;
    expect(new Command('get', ['k'], {}).args).toEqual(['k']);
  });

  it('duplicates with the app’s options under the overrides, and refuses, unwritten, a command it cannot send at once', async () => {
    const client = await redis.connect(kind, { keyPrefix: 'app:', native: { db: 1 } });
    const dedicated = client.duplicate({ lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    dedicated.on('error', () => {});

    expect(dedicated.options).toMatchObject({ keyPrefix: 'app:', db: 1, enableOfflineQueue: false, autoResendUnfulfilledCommands: true });
    // Not connected yet: the message the driver reads as "nothing was written" (ioredis-errors.ts).
    await expect(dedicated.get('k')).rejects.toThrow("Stream isn't writeable and enableOfflineQueue options is false");
    dedicated.disconnect();
  });

  it('writes a whole pipeline before exec() returns, in one socket write (what follows it goes after)', async () => {
    const client = await redis.connect(kind);
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
    const client = await redis.connect(kind);
    const other = await redis.connect(kind);
    await client.watch('k');
    await other.set('k', 'x');
    expect(await client.multi().set('k', 'y').exec()).toBeNull();
    const pairs = await client.multi().set('k', 'y').lpush('k', 'z').exec();
    expect(pairs?.[0]).toEqual([null, 'OK']);
    expect(pairs?.[1]?.[0]).toMatchObject({ name: 'ReplyError', message: expect.stringMatching(/^WRONGTYPE/) });
  });

  it('delivers sharded pub/sub messages as smessage (channel, message)', async () => {
    const subscriber = await redis.connect(kind);
    const publisher = await redis.connect(kind);
    const messages: [string, string][] = [];
    subscriber.on('smessage', (channel: string, message: string) => messages.push([channel, message]));
    await subscriber.ssubscribe('ch');

    await publisher.spublish('ch', 'hello');

    await waitFor(() => messages.length === 1, 'the message');
    expect(messages).toEqual([['ch', 'hello']]);
  });

  it('configured for Sentinel: duplicates keep the Sentinels, the connector checks the role a node reports, a disabled sentinelRetryStrategy gives up at once', async () => {
    // What `ioredis-sentinel.ts` and `ioredis-primary-watch.ts` build on. Port 1: no Sentinel there.
    const viaSentinels = (await redis.connect(kind)).duplicate({ sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'mymaster', lazyConnect: true });
    const dedicated = viaSentinels.duplicate({ retryStrategy: () => null, sentinelRetryStrategy: null, enableReadyCheck: true });
    dedicated.on('error', () => {});
    const connector = (dedicated as unknown as { connector: { check(info: { role?: string }): boolean } }).connector;

    expect(dedicated.options).toMatchObject({ sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'mymaster', role: 'master', failoverDetector: false, sentinelMaxConnections: 10 });
    expect(connector.check({ role: 'master' })).toBe(true);
    expect(connector.check({ role: 'slave' })).toBe(false);
    await expect(dedicated.connect()).rejects.toThrow('All sentinels are unreachable and retry is disabled');
    expect(dedicated.status).toBe('end');
    viaSentinels.disconnect();
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

