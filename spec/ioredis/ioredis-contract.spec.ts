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

  it('makes MULTI pipelines of a subclass of its pipeline class, numbers their commands, and turns a raw reply into what a command returns', async () => {
    type Probe = { _queue: { name: string; pipelineIndex?: number; transformReply(reply: unknown): unknown }[] };
    const client = await redis.connect(kind);
    const Pipeline = client.pipeline().constructor as new (redis: unknown) => Probe;
    class Subclass extends Pipeline {}

    const builder = new Subclass(client);
    (Pipeline.prototype as unknown as { multi(this: Probe): unknown }).multi.call(builder);
    void (builder as unknown as Redis).hgetall('h');

    expect(builder._queue.map((c) => [c.name, c.pipelineIndex])).toEqual([['multi', 0], ['hgetall', 1]]);
    expect(builder._queue[1]!.transformReply([Buffer.from('f'), Buffer.from('v')])).toEqual({ f: 'v' });
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

  it('writes a command to its socket before sendCommand() returns (what is sent after it goes after)', async () => {
    const client = await redis.connect(kind);
    const Command = (client.multi() as unknown as { _queue: { constructor: new (...args: unknown[]) => unknown }[] })._queue[0]!.constructor;
    const stream = (client as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
    const write = stream.write.bind(stream);
    const written: string[] = [];
    stream.write = (...args: unknown[]) => {
      written.push(String(args[0]));
      return write(...args);
    };

    const replies = [client.sendCommand(new Command('set', ['a', '1'], { replyEncoding: 'utf8' })), client.get('a')];
    const writtenAtReturn = written.length;
    expect(await Promise.all(replies)).toEqual(['OK', '1']);

    expect(writtenAtReturn).toBe(2);
    expect(written[0]).toContain('set');
    expect(written[1]).toContain('get');
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

