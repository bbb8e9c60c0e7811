/**
 * The inventory example's purchase, one transaction, written once per client API: node-redis
 * (`hExists`, `hSet`) and ioredis (`hexists`, `hset`; iovalkey, its fork, is the same). Opened by
 * `buyers.ts`, in the example's process or in each of its children.
 */
import { Redis as IoRedis } from 'ioredis';
import { Valkey } from 'iovalkey';
import { createClient } from 'redis';
import { createTransactor, type TransactOptions, type Transactor, type TransactorOptions, type TransactResult } from '../../lib/index.js';

/** The clients the purchases can run on. */
export const CLIENT_NAMES = ['node-redis', 'ioredis', 'iovalkey'] as const;
export type ClientName = (typeof CLIENT_NAMES)[number];

/** What a purchase can come to (besides failing). */
export type Outcome = 'bought' | 'sold-out' | 'already-recorded';

/** The keys every purchase reads and writes. */
export interface ShopKeys {
  readonly stockKey: string;
  readonly ordersKey: string;
}

/** A transactor on a client of its own, and the purchase on it. */
export interface Shop {
  /** The transactor the purchases run on (for `tx.settle`). */
  readonly tx: Transactor;
  /** Buyer `buyer`'s purchase (order id `order-<buyer>`): one transaction on the stock and the orders. */
  buy(buyer: number, options: TransactOptions): Promise<TransactResult<Outcome>>;
  /** Closes the transactor, then its client. */
  close(): Promise<void>;
}

/** Connects a `client` to `url` and opens a transactor with `options` on it. */
export function openShop(client: ClientName, url: string, keys: ShopKeys, options: TransactorOptions): Promise<Shop> {
  switch (client) {
    case 'node-redis':
      return nodeRedisShop(url, keys, options);
    case 'ioredis':
      return ioredisShop(new IoRedis(url, { lazyConnect: true }), keys, options);
    case 'iovalkey':
      return ioredisShop(new Valkey(url, { lazyConnect: true }), keys, options);
  }
}

async function nodeRedisShop(url: string, { stockKey, ordersKey }: ShopKeys, options: TransactorOptions): Promise<Shop> {
  const client = createClient({ url });
  client.on('error', (err) => console.error('redis client error:', err));
  await client.connect();
  const tx = createTransactor(client, options);
  return {
    tx,
    buy: (buyer, callOptions) =>
      tx.transact(
        [stockKey, ordersKey],
        async (t): Promise<Outcome> => {
          const orderId = `order-${buyer}`;
          const [left, recorded] = await Promise.all([t.read.get(stockKey), t.read.hExists(ordersKey, orderId)]);
          if (recorded) return 'already-recorded';
          if (Number(left) <= 0) return 'sold-out';
          t.write.decr(stockKey).hSet(ordersKey, orderId, `buyer-${buyer}`);
          return 'bought';
        },
        callOptions,
      ),
    async close() {
      await tx.close();
      await client.close();
    },
  };
}

/** The same on an ioredis (or iovalkey) `Redis` instance, not yet connected. */
async function ioredisShop(client: IoRedis | Valkey, { stockKey, ordersKey }: ShopKeys, options: TransactorOptions): Promise<Shop> {
  client.on('error', (err) => console.error('redis client error:', err));
  await client.connect();
  // Typed as ioredis: iovalkey's Redis has the same API (the transactor recognises either by shape).
  const tx = createTransactor(client as IoRedis, options);
  return {
    tx,
    buy: (buyer, callOptions) =>
      tx.transact(
        [stockKey, ordersKey],
        async (t): Promise<Outcome> => {
          const orderId = `order-${buyer}`;
          const [left, recorded] = await Promise.all([t.read.get(stockKey), t.read.hexists(ordersKey, orderId)]);
          if (recorded === 1) return 'already-recorded';
          if (Number(left) <= 0) return 'sold-out';
          t.write.decr(stockKey).hset(ordersKey, orderId, `buyer-${buyer}`);
          return 'bought';
        },
        callOptions,
      ),
    async close() {
      await tx.close();
      await client.quit();
    },
  };
}
