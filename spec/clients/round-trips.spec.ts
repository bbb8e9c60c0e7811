import { createTransactor, type Transactor, type TransactorOptions } from '../../lib';
import { injectFaults } from '../../lib/testing';
import { type Client, CLIENTS, type ClientKind, useClients } from '../support/clients';
import type { TcpProxy } from '../support/tcp-proxy';

/**
 * What a transaction costs on the wire, counted by a TCP proxy between the client and the server,
 * for every client of the matrix, with and without the testing kit (which, with no faults
 * planned, must cost exactly what the transactor does).
 */
const clients = useClients();

/** Round trips one transaction costs once the transactor's connection is open. */
async function flightsOf(proxy: TcpProxy, run: () => Promise<unknown>): Promise<number> {
  await run(); // opens the dedicated connection (handshake flights are not the transaction's)
  const before = proxy.flights;
  await run();
  return proxy.flights - before;
}

const MAKERS = [
  ['a transactor', (c: Client, o: TransactorOptions): Transactor => createTransactor(c, o)],
  ['injectFaults(tx, {})', (c: Client, o: TransactorOptions): Transactor => injectFaults(createTransactor(c, o), {})],
] as const;

describe.each(CLIENTS.flatMap((kind) => MAKERS.map(([name, make]) => [kind.name, name, kind, make] as const)))(
  'round trips on %s of %s',
  (_client, _maker, kind: ClientKind, make) => {
    let proxy: TcpProxy;
    let tx: Transactor;
    beforeEach(async () => {
      proxy = await clients.proxy();
      tx = clients.track(make(await clients.connect(kind, { url: proxy.url }), { maxConnections: 1, retry: { backoff: 'none' } }));
    });

    it('costs two for an uncontended read-modify-write: WATCH+reads, then MULTI..EXEC', async () => {
      await (await clients.admin()).set('stock', '100');

      const flights = await flightsOf(proxy, () =>
        tx.transact(['stock', 'orders'], async (t) => {
          const [stock, orders] = await Promise.all([t.read.get('stock'), kind.command(t.read, ['LLEN', 'orders'])]);
          t.write.set('stock', String(Number(stock) - 1));
          kind.queue(t.write, ['RPUSH', 'orders', `order-${String(orders)}`]);
        }),
      );

      expect(flights).toBe(2);
    });

    it('costs one for a transaction that reads and queues nothing (no EXEC, no UNWATCH of its own)', async () => {
      expect(await flightsOf(proxy, () => tx.transact(['stock'], (t) => t.read.get('stock')))).toBe(1);
    });

    it('adds one for each conflict, and nothing else', async () => {
      const other = await clients.admin();
      let conflicts = 0;

      const flights = await flightsOf(proxy, () =>
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
    });
  },
);
