import { createRedlock, LockUnavailableError, type Redlock } from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { type Client, CLIENTS, type ClientKind } from '../support/clients';
import { useRedisNodes } from '../support/redis-nodes';

/**
 * `createRedlock` over clients of each library of the matrix, one client per independent server.
 * (What Redlock does when nodes stop, stall or restart is in `spec/lock/redlock*.spec.ts`.)
 */
const nodes = useRedisNodes(3);
const opened: { kind: ClientKind; client: Client }[] = [];
const redlocks: Redlock[] = [];
afterEach(async () => {
  await Promise.all(redlocks.splice(0).map((r) => r.close()));
  await Promise.all(opened.splice(0).map(({ kind, client }) => kind.close(client)));
});

/** A Redlock over a new client of `kind` on each server, closed after the test. */
async function redlockOf(kind: ClientKind): Promise<Redlock> {
  const clients = await Promise.all(nodes.servers.map((server) => kind.open(server.url)));
  opened.push(...clients.map((client) => ({ kind, client })));
  const redlock = createRedlock(clients);
  redlocks.push(redlock);
  return redlock;
}

describe.each(CLIENTS)('createRedlock over three servers, on $name', (kind) => {
  it('locks on a majority, excludes another Redlock, and releases on every node', async () => {
    const r = await redlockOf(kind);
    expect(r.quorum).toBe(2);

    const lock = await r.lock(['payout:1']);
    const holders = await Promise.all(nodes.clients.map((c) => c.get(resourceKeys('payout:1').lock)));
    expect(holders).toEqual([lock.token, lock.token, lock.token]);
    await expect((await redlockOf(kind)).lock(['payout:1'], { acquireTimeoutMs: 0 })).rejects.toBeInstanceOf(LockUnavailableError);

    expect(await lock.release()).toBe(true);
    expect(await Promise.all(nodes.clients.map((c) => c.exists(resourceKeys('payout:1').lock)))).toEqual([0, 0, 0]);
  });

  it('never lets two holders in at once, with fencing tokens rising in order', async () => {
    const lockers = await Promise.all(Array.from({ length: 4 }, () => redlockOf(kind)));
    let inside = 0;
    let mostInside = 0;
    const fences: number[] = [];

    await Promise.all(
      lockers.map(async (r) => {
        for (let i = 0; i < 10; i++) {
          await r.withLock(['ledger'], async (lock) => {
            mostInside = Math.max(mostInside, ++inside);
            fences.push(lock.fencingToken);
            await nodes.clients[0]!.ping(); // real I/O inside the critical section
            await new Promise((resolve) => setImmediate(resolve));
            inside--;
          }, { acquireTimeoutMs: 30_000 });
        }
      }),
    );

    expect(mostInside).toBe(1);
    expect(fences).toHaveLength(40);
    expect(fences.every((f, i) => i === 0 || f > fences[i - 1]!)).toBe(true);
  });
});
