import type { RedisClientType } from 'redis';
import { createTransactor as createPlain, type Transactor, type TransactorOptions } from '../../lib';
import { injectFaults } from '../../lib/testing';
import { useRedis } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';

const redis = useRedis();
let proxy: TcpProxy;
let client: RedisClientType;

beforeEach(async () => {
  proxy = await TcpProxy.inFrontOf(redis.url);
  client = await proxy.connectClient();
});
afterEach(async () => {
  await proxy.stop();
});

/** Round trips one transaction costs once the transactor's connection is open. */
async function flightsOf(run: () => Promise<unknown>): Promise<number> {
  await run(); // opens the dedicated connection (handshake flights are not the transaction's)
  const before = proxy.flights;
  await run();
  return proxy.flights - before;
}

// The testing kit with no faults planned must cost exactly what the transactor does.
describe.each([
  ['a transactor', (c: RedisClientType, o: TransactorOptions): Transactor => createPlain(c, o)],
  ['injectFaults(tx, {})', (c: RedisClientType, o: TransactorOptions): Transactor => injectFaults(createPlain(c, o), {})],
])('round trips of %s (counted on the wire by a TCP proxy)', (_name, createTransactor) => {
  it('costs two for an uncontended read-modify-write: WATCH+reads, then MULTI..EXEC', async () => {
    const tx = createTransactor(client, { maxConnections: 1 });
    await client.set('stock', '100');

    const flights = await flightsOf(() =>
      tx.transact(['stock', 'orders'], async (t) => {
        const [stock, orders] = await Promise.all([t.read.get('stock'), t.read.lLen('orders')]);
        t.write.set('stock', String(Number(stock) - 1)).rPush('orders', `order-${orders}`);
      }),
    );

    expect(flights).toBe(2);
    await tx.close();
  });

  it('costs one for a transaction that reads and queues nothing (no EXEC, no UNWATCH of its own)', async () => {
    const tx = createTransactor(client, { maxConnections: 1 });

    const flights = await flightsOf(() => tx.transact(['stock'], (t) => t.read.get('stock')));

    expect(flights).toBe(1);
    await tx.close();
  });

  it('adds one for each conflict, and nothing else', async () => {
    const other = await redis.connect();
    const tx = createTransactor(client, { maxConnections: 1, retry: { backoff: 'none' } });
    let conflicts = 0;

    const flights = await flightsOf(() =>
      tx.transact(['n'], async (t) => {
        const n = Number(await t.read.get('n'));
        if (t.attempt === 1) {
          conflicts++;
          await other.incr('n');
        }
        t.write.set('n', String(n + 1));
      }),
    );

    expect(conflicts).toBe(2); // once per run
    expect(flights).toBe(4); // (WATCH+GET, EXEC aborted) + (WATCH+GET, EXEC)
    await tx.close();
  });
});
