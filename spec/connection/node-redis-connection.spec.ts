import { MultiErrorReply, WatchError } from 'redis';
import { NodeRedisConnection } from '../../lib/connection/node-redis-connection';
import type { NodeRedisClient } from '../../lib/connection/node-redis-types';
import { TransactUsageError } from '../../lib';
import { commandCalls, useRedis } from '../support/redis';

const redis = useRedis();

type Builder = Record<string, (...args: unknown[]) => Builder>;

async function open(keyPrefix?: string): Promise<NodeRedisConnection> {
  const template = await redis.connect(keyPrefix ? { keyPrefix } : {});
  return NodeRedisConnection.open(template as unknown as NodeRedisClient);
}

describe('a node-redis dedicated connection’s transaction', () => {
  it('sends the marker first and the trailer last, in one MULTI; the caller’s replies are only its own', async () => {
    const admin = await redis.connect();
    const connection = await open('app:');
    const transaction = connection.transaction();
    (transaction.builder as Builder).set!('k', 'v').incr!('n');
    const flight = transaction.exec({
      marker: { key: 'marker', value: 'attempt-1', ttlMs: 60_000 },
      trailer: [['ECHO', 'trailer'], ['INCR', 'app:k']],
    });

    expect(flight).toMatchObject({ wrote: true, marked: true });
    expect(await flight.reply).toEqual(['OK', 1]);
    const [echo, failed] = flight.trailerReplies!;
    expect(echo).toBe('trailer');
    expect(failed).toBeInstanceOf(Error); // INCR of a string: the trailer's error is its own
    expect(await admin.get('app:marker')).toBe('attempt-1'); // under the key prefix
    expect(await admin.pTTL('app:marker')).toBeGreaterThan(50_000);
    expect(await admin.get('app:k')).toBe('v');
    connection.destroy();
  });

  it('keeps a failed trailer out of the caller’s failure, and the caller’s out of the trailer', async () => {
    const admin = await redis.connect();
    await admin.set('s', 'not a number');
    const connection = await open();
    const transaction = connection.transaction();
    (transaction.builder as Builder).incr!('s').set!('t', '1');
    const flight = transaction.exec({ trailer: [['ECHO', 'fine']] });

    await expect(flight.reply).rejects.toBeInstanceOf(MultiErrorReply);
    await expect(flight.reply).rejects.toMatchObject({ errorIndexes: [0], replies: [expect.any(Error), 'OK'] });
    expect(flight.trailerReplies).toEqual(['fine']);
    connection.destroy();
  });

  it('sends nothing when nothing is queued, and drops the WATCH with the next one', async () => {
    const admin = await redis.connect();
    const connection = await open();
    await connection.watch(['w']);
    await admin.configResetStat();
    const flight = connection.transaction().exec({ marker: { key: 'm', value: 'x', ttlMs: 60_000 } });
    expect(flight).toMatchObject({ wrote: false, marked: false });
    expect(await flight.reply).toEqual([]);
    expect(await commandCalls(admin, 'exec')).toBe(0);
    expect(await commandCalls(admin, 'unwatch')).toBe(0);

    await connection.watch(['w']);
    expect(await commandCalls(admin, 'unwatch')).toBe(1);
    expect(await admin.exists('m')).toBe(0);
    connection.destroy();
  });

  it('sends a trailer alone when fn queued nothing (the lock’s release must still go)', async () => {
    const connection = await open();
    const flight = connection.transaction().exec({ marker: { key: 'm', value: 'x', ttlMs: 60_000 }, trailer: [['ECHO', 'release']] });
    expect(flight).toMatchObject({ wrote: false, marked: false });
    expect(await flight.reply).toEqual([]);
    expect(flight.trailerReplies).toEqual(['release']);
    connection.destroy();
  });

  it('refuses a raw command that has no place in MULTI, sending nothing', async () => {
    const admin = await redis.connect();
    const connection = await open();
    const transaction = connection.transaction();
    (transaction.builder as Builder).set!('k', 'v').sendCommand!(['SELECT', '1']);
    await admin.configResetStat();
    const flight = transaction.exec({});
    await expect(flight.reply).rejects.toBeInstanceOf(TransactUsageError);
    expect(await commandCalls(admin, 'multi')).toBe(0);
    expect(await admin.exists('k')).toBe(0);
    // No EXEC will follow its WATCH: the next one drops it first.
    await connection.watch(['other']);
    expect(await commandCalls(admin, 'unwatch')).toBe(1);
    connection.destroy();
  });

  it('aborts on a changed watched key with the client’s WatchError', async () => {
    const admin = await redis.connect();
    const connection = await open();
    await connection.watch(['w']);
    await admin.set('w', 'changed');
    const transaction = connection.transaction();
    (transaction.builder as Builder).set!('w', 'mine');
    await expect(transaction.exec({}).reply).rejects.toBeInstanceOf(WatchError);
    expect(await admin.get('w')).toBe('changed');
    connection.destroy();
  });

  it('seals the builder: after exec, and after seal() without exec, queueing throws', async () => {
    const connection = await open();
    const sent = connection.transaction();
    (sent.builder as Builder).set!('k', 'v');
    await sent.exec({}).reply;
    expect(() => (sent.builder as Builder).set!('late', '1')).toThrow(TransactUsageError);

    const abandoned = connection.transaction();
    (abandoned.builder as Builder).set!('k', 'v');
    abandoned.seal();
    expect(() => (abandoned.builder as Builder).sendCommand!(['SET', 'late', '1'])).toThrow(TransactUsageError);
    expect(() => (abandoned.builder as Builder).exec!()).toThrow(TransactUsageError);
    connection.destroy();
  });
});

describe('a node-redis dedicated connection', () => {
  it('leaves the client-side cache out: every read goes to the server, under the WATCH', async () => {
    const template = await redis.connect({ RESP: 3, clientSideCache: { ttl: 0, maxEntries: 0 } } as never);
    const admin = await redis.connect();
    await admin.set('cached', 'v1');
    const connection = await NodeRedisConnection.open(template as unknown as NodeRedisClient);
    const reader = connection.reader as unknown as {
      clientSideCache?: unknown;
      get(key: string): Promise<string | null>;
    };
    const gets = await commandCalls(admin, 'get');

    await reader.get('cached');
    await reader.get('cached');

    expect((template as unknown as { clientSideCache?: unknown }).clientSideCache).toBeDefined();
    expect(reader.clientSideCache).toBeUndefined();
    expect(await commandCalls(admin, 'get')).toBe(gets + 2); // the second read was not served from a cache
    connection.destroy();
  });
});
