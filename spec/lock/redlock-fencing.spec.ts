import type { RedisClientType } from 'redis';
import { type Lock, type Redlock } from '../../lib';
import type { EmbeddedRedis } from '../../examples/support/embedded-redis';
import { resourceKeys, SERVER_COUNTERS } from '../../lib/lock/lock-keys';
import { useRedisNodes } from '../support/redis-nodes';
import { waitFor } from '../support/redis';

const stalled = new Set<number>();
// Declared before the servers' own clean-up, so it runs first: a frozen server would hold it.
afterEach(() => {
  for (const pid of stalled) process.kill(pid, 'SIGCONT'); // a failed test must not leave a server frozen
  stalled.clear();
});
// Three independent servers, started without persistence: a restart forgets every fencing counter.
// One admin connection per server; it reconnects by itself after a restart.
const nodes = useRedisNodes(3);
const redlock = (): Redlock => nodes.redlock({ nodeTimeoutMs: 100 });

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

/** The last fencing token a node issued (its counters: one hash per server, for every resource). */
function fenceOn(admin: RedisClientType): Promise<string | null> {
  return admin.hGet(SERVER_COUNTERS, 'fence');
}

describe('Redlock fencing tokens', () => {
  it('never go backwards when the next majority is a node restarted empty and one that never saw the resource', async () => {
    const [a, , c] = nodes.servers as [EmbeddedRedis, EmbeddedRedis, EmbeddedRedis];
    const [adminA, adminB, adminC] = nodes.clients as [RedisClientType, RedisClientType, RedisClientType];
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
    expect(await fenceOn(adminC)).toBeNull();

    // The rule of docs/locks.md: a node that loses its data rejoins only after the longest lease has passed.
    await waitFor(
      async () => (await adminA.exists(resourceKeys('payout').lock)) === 0 && (await adminB.exists(resourceKeys('payout').lock)) === 0,
      'the crashed holder’s lease to run out on A and B',
    );
    await a.stop();
    await a.start(); // without persistence: it forgot the counter
    expect(await fenceOn(adminA)).toBeNull();

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
    // Node 0 saw a much later token than the others (say its clock runs a minute ahead).
    const ahead = y.fencingToken + 60_000_000;
    await nodes.clients[0]!.hSet(SERVER_COUNTERS, 'fence', String(ahead));

    const both = await r.lock(['x', 'y']);
    await both.release();

    expect(both.fencingToken).toBe(ahead + 1);
    // RAISE_FENCE carried it to the nodes that had not seen it (one counter per node, for x and y alike).
    const fences = await Promise.all(nodes.clients.map((admin) => fenceOn(admin)));
    expect(fences).toEqual(Array.from({ length: 3 }, () => String(ahead + 1)));

    // A majority without node 0 still issues a larger token for y alone: the floor it carries,
    // not its clock (a minute behind that token), orders it.
    await nodes.servers[0]!.stop();
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
    expect(await Promise.all(nodes.clients.map((a) => fenceOn(a)))).toEqual([String(second.fencingToken), String(second.fencingToken), String(second.fencingToken)]);
  });
});
