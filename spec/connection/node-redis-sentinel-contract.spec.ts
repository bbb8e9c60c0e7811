/**
 * What node-redis 6's Sentinel client and a real Sentinel deployment do, as far as transactions on
 * a Sentinel-managed primary depend on it: pinned here so that a change in either shows up as a
 * failing spec, not as a lost update: the facts the transactor's Sentinel support builds on
 * (lib/connection/node-redis-sentinel.ts).
 */
import { createSentinel } from 'redis';
import { MASTER_NAME, type RedisSentinelHarness, startRedisSentinel } from '../support/redis-sentinel';
import { waitFor } from '../support/redis';

let deployment: RedisSentinelHarness;

beforeAll(async () => {
  deployment = await startRedisSentinel({ replicas: 2, sentinels: 3 });
}, 60_000);
afterAll(async () => {
  await deployment?.stop();
});

describe('a Sentinel deployment, as node-redis 6 sees it', () => {
  it('names the primary through createSentinel, and a new one after SENTINEL FAILOVER', async () => {
    const sentinel = createSentinel({ name: MASTER_NAME, sentinelRootNodes: [...deployment.sentinelRootNodes], keyPrefix: 'p:' });
    sentinel.on('error', () => {});
    const changes: unknown[] = [];
    sentinel.on('topology-change', (event: { type: string }) => void (event.type === 'MASTER_CHANGE' && changes.push(event)));
    await sentinel.connect();
    try {
      const first = await deployment.primary();
      expect(sentinel.getMasterNode()).toEqual({ host: first.host, port: first.port });
      await sentinel.set('before', '1');
      // What the transactor reads of the Sentinel client's internals: its key prefix, and its
      // master client (the template of the dedicated connections), a client of the primary.
      expect((sentinel as unknown as { _keyPrefix: unknown })._keyPrefix).toBe('p:');
      const master = await (sentinel as unknown as { _execute(ro: boolean, fn: (c: unknown) => Promise<unknown>): Promise<unknown> })._execute(false, (c) =>
        Promise.resolve(c),
      );
      expect(master).toMatchObject({ options: { socket: { host: first.host, port: first.port } } });
      expect(typeof (master as { duplicate?: unknown }).duplicate).toBe('function');

      const promoted = await deployment.failover();

      expect(promoted.port).not.toBe(first.port);
      await waitFor(() => sentinel.getMasterNode()?.port === promoted.port, 'the Sentinel client to follow the failover', 20_000);
      // It said so with a MASTER_CHANGE naming the new primary.
      expect(changes).toContainEqual(expect.objectContaining({ node: { host: promoted.host, port: promoted.port } }));
      // The replicated write survived the (orderly) failover, and writes go to the new primary.
      expect(await sentinel.get('before')).toBe('1');
      await sentinel.set('after', '1');
      expect(await (await deployment.connect(promoted)).get('p:after')).toBe('1');
    } finally {
      await sentinel.close();
    }
  }, 60_000);

  it('drops the clients of a demoted primary, and node-redis refuses an EXEC whose WATCH was on the lost socket', async () => {
    const demoted = await deployment.primary();
    const client = await deployment.connect(demoted);
    let dropped = false;
    client.on('reconnecting', () => (dropped = true));
    await client.watch('k');

    const promoted = await deployment.failover();

    await waitFor(() => dropped, 'the demoted primary to drop its client', 20_000);
    await expect(client.multi().set('k', 'stale').exec()).rejects.toThrow('Client reconnected after WATCH');
    expect(await (await deployment.connect(promoted)).get('k')).toBeNull();
  }, 60_000);

  it('answers EXEC on a replica with READONLY (an error reply), not EXECABORT', async () => {
    const primary = await deployment.primary();
    const replica = deployment.nodes.find((node) => node.port !== primary.port)!;
    const client = await deployment.connect(replica);
    await client.watch('k');

    const exec = client.multi().set('k', '1').exec();

    await expect(exec).rejects.toThrow(/^READONLY /);
    expect(await client.get('k')).toBeNull();
  });
});
