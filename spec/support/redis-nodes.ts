import { createClient, type RedisClientType } from 'redis';
import { createRedlock, type Redlock } from '../../lib';
import { type EmbeddedRedis, startEmbeddedRedis } from '../../examples/support/embedded-redis';

/**
 * Starts `count` independent redis-server processes for the spec file (quorum locks), restarts any
 * a test stopped, and hands each test one flushed client per server (they reconnect by themselves
 * after a restart) and Redlocks over them, closed after the test.
 */
export function useRedisNodes(count: number) {
  let servers: EmbeddedRedis[] = [];
  let clients: RedisClientType[] = [];
  const redlocks: Redlock[] = [];
  beforeAll(async () => {
    servers = await Promise.all(Array.from({ length: count }, () => startEmbeddedRedis()));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });
  beforeEach(async () => {
    await Promise.all(servers.map((s) => s.start().catch(() => {}))); // a test may have stopped some
    clients = await Promise.all(
      servers.map(async (s) => {
        const c = createClient({ url: s.url }) as RedisClientType;
        c.on('error', () => {});
        await c.connect();
        await c.flushAll();
        return c;
      }),
    );
  });
  afterEach(async () => {
    await Promise.all(redlocks.splice(0).map((r) => r.close()));
    await Promise.all(clients.map(async (c) => (c.isReady ? c.close() : c.destroy())));
  });
  return {
    /** The server processes, to stop, start or freeze. */
    get servers(): readonly EmbeddedRedis[] {
      return servers;
    },
    /** This test's client of each server, in server order. */
    get clients(): RedisClientType[] {
      return clients;
    },
    /** A Redlock over every server, closed after the test. */
    redlock(options?: Parameters<typeof createRedlock>[1]): Redlock {
      const r = createRedlock(clients, options);
      redlocks.push(r);
      return r;
    },
  };
}
