import { createClient, type RedisClientType } from 'redis';
import { createRedlock, type Lock, type Redlock } from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { type EmbeddedRedis, startEmbeddedRedis } from '../../examples/support/embedded-redis';
import { waitFor } from '../support/redis';

// Three independent servers, started without persistence: a restart forgets every fencing counter.
let servers: EmbeddedRedis[] = [];
// One admin connection per server; it reconnects by itself after a restart.
let admins: RedisClientType[] = [];
const redlocks: Redlock[] = [];
const stalled = new Set<number>();

beforeAll(async () => {
  servers = await Promise.all(Array.from({ length: 3 }, () => startEmbeddedRedis()));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});
beforeEach(async () => {
  await Promise.all(servers.map((s) => s.start().catch(() => {}))); // a test may have stopped some
  admins = await Promise.all(
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
  for (const pid of stalled) process.kill(pid, 'SIGCONT'); // a failed test must not leave a server frozen
  stalled.clear();
  await Promise.all(redlocks.splice(0).map((r) => r.close()));
  await Promise.all(admins.map(async (c) => (c.isReady ? c.close() : c.destroy())));
});

function redlock(): Redlock {
  const r = createRedlock(admins, { nodeTimeoutMs: 100 });
  redlocks.push(r);
  return r;
}

/** Freezes a server process for real (SIGSTOP): it accepts bytes but answers nothing. */
async function freeze(admin: RedisClientType): Promise<number> {
  const pid = Number(/process_id:(\d+)/.exec(await admin.info('server'))?.[1]);
  process.kill(pid, 'SIGSTOP');
  stalled.add(pid);
  return pid;
}

function thaw(pid: number): void {
  process.kill(pid, 'SIGCONT');
  stalled.delete(pid);
}

function fenceOn(admin: RedisClientType, resource: string): Promise<string | null> {
  return admin.hGet(resourceKeys(resource).meta, 'fence');
}

describe('Redlock fencing tokens', () => {
  it('never go backwards when the next majority is a node restarted empty and one that never saw the resource', async () => {
    const [a, , c] = servers as [EmbeddedRedis, EmbeddedRedis, EmbeddedRedis];
    const [adminA, adminB, adminC] = admins as [RedisClientType, RedisClientType, RedisClientType];
    const r = redlock();
    const tokens: number[] = [];
    const take = async (): Promise<Lock> => {
      const lock = await r.lock(['payout'], { ttlMs: 200, acquireTimeoutMs: 10_000 });
      tokens.push(lock.fencingToken);
      return lock;
    };

    // C is down while five locks are taken: only A and B see their tokens.
    await c.stop();
    for (let i = 0; i < 4; i++) await (await take()).release();
    await take(); // its holder crashes: never released, the lease runs out on its own
    await c.start(); // back, empty
    expect(await fenceOn(adminC, 'payout')).toBeNull();

    // The README's rule: a node that loses its data rejoins only after the longest lease has passed.
    await waitFor(
      async () => (await adminA.exists(resourceKeys('payout').lock)) === 0 && (await adminB.exists(resourceKeys('payout').lock)) === 0,
      'the crashed holder’s lease to run out on A and B',
    );
    await a.stop();
    await a.start(); // without persistence: it forgot the counter
    expect(await fenceOn(adminA, 'payout')).toBeNull();

    // B, the only node that remembers the last token, stalls: the majority is A and C.
    const pid = await freeze(adminB);
    await (await take()).release();
    await (await take()).release();
    thaw(pid);
    await waitFor(async () => (await adminB.ping()) === 'PONG', 'B to answer again');

    await (await take()).release(); // all three up

    expect(tokens).toHaveLength(8);
    expect(tokens.every((t) => Number.isSafeInteger(t) && t > 0)).toBe(true);
    expect(tokens).toEqual([...new Set(tokens)].sort((p, q) => p - q)); // strictly increasing
  });

  it('gives a multi-resource lock a token above the last of each resource, and leaves it as the floor of each on every node', async () => {
    const r = redlock();
    const x = await r.lock(['x']);
    await x.release();
    const y = await r.lock(['y']);
    await y.release();
    // Node 0 saw a much later token for x than the others (say its clock runs a minute ahead).
    const ahead = y.fencingToken + 60_000_000;
    await admins[0]!.hSet(resourceKeys('x').meta, 'fence', String(ahead));

    const both = await r.lock(['x', 'y']);
    await both.release();

    expect(both.fencingToken).toBe(ahead + 1);
    // RAISE_FENCE carried it to the nodes that had not seen it, and to y on every node.
    const fences = await Promise.all(admins.flatMap((admin) => [fenceOn(admin, 'x'), fenceOn(admin, 'y')]));
    expect(fences).toEqual(Array.from({ length: 6 }, () => String(ahead + 1)));

    // A majority without node 0 still issues a larger token for y alone: the floor it carries,
    // not its clock (a minute behind that token), orders it.
    await servers[0]!.stop();
    const next = await r.lock(['y']);
    await next.release();
    expect(next.fencingToken).toBe(ahead + 2);
  });

  it('stay exact integers above 2^50 through the scripts (no rounding to 14 digits)', async () => {
    const r = redlock();
    const first = await r.lock(['exact']);
    await first.release();
    const second = await r.lock(['exact']);
    await second.release();

    expect(first.fencingToken).toBeGreaterThan(2 ** 50); // a time floor in microseconds
    expect(Number.isSafeInteger(second.fencingToken)).toBe(true);
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(await Promise.all(admins.map((a) => fenceOn(a, 'exact')))).toEqual([String(second.fencingToken), String(second.fencingToken), String(second.fencingToken)]);
  });
});
