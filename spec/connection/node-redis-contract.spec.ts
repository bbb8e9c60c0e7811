/**
 * What lib/connection/ relies on in node-redis beyond its documented API. Each test names the
 * internal it checks; when a node-redis upgrade changes one, this spec fails first, and loudly,
 * instead of the engine misbehaving quietly.
 */
import { createClient, defineScript, ErrorReply, WatchError } from 'redis';
import type { NodeRedisClient, QueuedCommand } from '../../lib/connection/node-redis-types';
import { useRedis, waitFor } from '../support/redis';

const redis = useRedis();

const internals = (client: unknown) => client as NodeRedisClient;

describe('node-redis internals the connection driver relies on', () => {
  it('client.Multi builds a MULTI builder around a send function of ours, handed the live queue synchronously', async () => {
    const client = internals(await redis.connect());
    const calls: QueuedCommand[][] = [];
    const builder = new client.Multi(
      (commands) => {
        calls.push(commands);
        return Promise.resolve(commands.map(() => 'OK'));
      },
      client._executePipeline.bind(client),
      client._commandOptions?.typeMapping,
      client._keyPrefix,
    ) as unknown as { set(k: string, v: string): unknown; exec(): Promise<unknown[]> };
    builder.set('k', 'v');
    const replies = builder.exec();
    expect(calls).toHaveLength(1); // before exec's first await
    expect(calls[0]!.map((c) => c.args)).toEqual([['SET', 'k', 'v']]);
    expect(await replies).toEqual(['OK']);
    void builder.exec();
    expect(calls[1]).toBe(calls[0]); // the same array: the builder's own queue
  });

  it('every way of queueing on a builder ends in its queue’s push', async () => {
    const scripts = { echoKey: defineScript({ SCRIPT: 'return KEYS[1]', NUMBER_OF_KEYS: 1, parseCommand: (parser, key: string) => parser.pushKey(key), transformReply: (reply: unknown) => reply }) };
    const client = createClient({ url: redis.url, scripts });
    client.on('error', () => {});
    await client.connect();
    try {
      let queue: QueuedCommand[] | undefined;
      const raw = internals(client);
      const builder = new raw.Multi(
        (commands) => {
          queue = commands;
          return Promise.resolve([]);
        },
        raw._executePipeline.bind(raw),
        undefined,
        raw._keyPrefix,
      ) as unknown as Record<string, (...args: unknown[]) => unknown> & { exec(): Promise<unknown[]> };
      await builder.exec();
      const pushed: unknown[] = [];
      Object.defineProperty(queue!, 'push', { value: (entry: unknown) => pushed.push(entry) });
      builder.set!('a', '1');
      builder.sendCommand!(['SET', 'b', '2']);
      builder.addCommand!(['SET', 'c', '3']);
      builder.echoKey!('d');
      builder.incr!('e');
      expect(pushed).toHaveLength(5);
    } finally {
      await client.close();
    }
  });

  it('_executeMulti sends MULTI..EXEC and resolves to raw replies, failed commands as ErrorReply values', async () => {
    const client = internals(await redis.connect());
    await redis.connect().then((c) => c.set('str', 'x'));
    const raw = await client._executeMulti([{ args: ['SET', 'k', 'v'] }, { args: ['INCR', 'str'] }]);
    expect(raw[0]).toBe('OK');
    expect(raw[1]).toBeInstanceOf(ErrorReply);
  });

  it('_executeMulti rejects with WatchError when a watched key changed, and when the client reconnected after WATCH', async () => {
    const admin = await redis.connect();
    const client = (await redis.connect());
    await client.watch('w');
    await admin.set('w', 'changed');
    await expect(internals(client)._executeMulti([{ args: ['SET', 'w', 'mine'] }])).rejects.toBeInstanceOf(WatchError);

    await client.watch('w');
    let reconnected = false;
    client.once('reconnecting', () => client.once('ready', () => (reconnected = true)));
    await admin.sendCommand(['CLIENT', 'KILL', 'ID', String(await client.clientId())]);
    await waitFor(() => reconnected, 'the client to reconnect');
    await expect(internals(client)._executeMulti([{ args: ['SET', 'w', 'after reconnect'] }])).rejects.toBeInstanceOf(WatchError);
    expect(await admin.get('w')).toBe('changed');
  });

  it('duplicate() keeps the key prefix and command options, and honours socket.reconnectStrategy: false', async () => {
    const admin = await redis.connect();
    const template = internals(await redis.connect({ keyPrefix: 'app:' }));
    expect(template._keyPrefix).toBe('app:');
    expect(template._commandOptions).toBeDefined();
    const dedicated = template.duplicate({ socket: { ...template.options?.socket, reconnectStrategy: false } });
    dedicated.on('error', () => {});
    await dedicated.connect();
    expect(dedicated._keyPrefix).toBe('app:');
    await admin.sendCommand(['CLIENT', 'KILL', 'ID', String(await dedicated.sendCommand(['CLIENT', 'ID']))]);
    await waitFor(() => !dedicated.isOpen, 'the connection to close for good');
    expect(dedicated.isReady).toBe(false);
  });
});
