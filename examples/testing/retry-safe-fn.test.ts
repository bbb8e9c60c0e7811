/**
 * Recipe: prove that your `fn` is safe to run again. Under `conflicts: 2` the first two attempts
 * of each call end in a real WATCH conflict, so `fn` runs three times for one commit; the state
 * must show it applied once.
 *
 *   npx tsx --test examples/testing/retry-safe-fn.test.ts
 *   REDIS_URL=redis://127.0.0.1:6379 npx tsx --test examples/testing/retry-safe-fn.test.ts
 *
 * Apps import `redis-transact` and `redis-transact/testing`; this repo imports its sources.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Transactor } from '../../lib/index.js';
import { injectFaults } from '../../lib/testing/index.js';
import { useTestRedis } from './support/test-redis.js';

// The code under test: reserve one item for an order, at most once per order id.
const sku = `{sku:${randomUUID().slice(0, 8)}}`; // fresh keys, so that a shared server is fine
const stockKey = `${sku}:stock`;
const ordersKey = `${sku}:orders`;
const redis = useTestRedis([stockKey, ordersKey]);

function reserve(tx: Transactor, orderId: string) {
  return tx.transact([stockKey, ordersKey], async (t) => {
    // Everything fn decides comes from what it reads in this attempt: nothing is carried over
    // from an earlier attempt (a counter in a closure, a value read before the call).
    if (await t.read.hExists(ordersKey, orderId)) return 'already-reserved' as const;
    const stock = Number((await t.read.get(stockKey)) ?? 0);
    if (stock <= 0) return 'sold-out' as const;
    t.write.decr(stockKey).hSet(ordersKey, orderId, '1');
    return 'reserved' as const;
  });
}


// test() returns a promise that node:test itself awaits; `void` says so to the linter.
void test('reserve() applies once when fn runs three times', async () => {
  await redis.client.set(stockKey, '10');
  const faulty = injectFaults(redis.tx, { conflicts: 2 });

  // The app's own function, given the faulty transactor in place of tx.
  const { value, attempts } = await reserve(faulty, 'order-1');
  assert.equal(value, 'reserved');
  assert.equal(attempts, 3); // fn ran three times: two conflicts, then the commit
  // The faults really happened: two conflicts on the call's first key...
  assert.deepEqual(
    faulty.faults.map((f) => [f.kind, f.attempt]),
    [['conflict', 1], ['conflict', 2]],
  );
  // ...and the state shows one reservation, not three.
  assert.equal(await redis.client.get(stockKey), '9');
  assert.deepEqual(await redis.client.hKeys(ordersKey), ['order-1']);

  // The same order again (a client retrying its request) is answered from Redis: no second item.
  assert.equal((await reserve(faulty, 'order-1')).value, 'already-reserved');
  assert.equal(await redis.client.get(stockKey), '9');
});
