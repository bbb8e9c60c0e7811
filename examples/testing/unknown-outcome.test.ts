/**
 * Recipe: your code handles an unknown outcome. EXEC's reply is lost with its connection, after
 * the server ran it or before: the call cannot tell which, and says so. The app reconciles by
 * reading back what its transaction writes; `exactlyOnce: true` settles it instead.
 *   npx tsx --test examples/testing/unknown-outcome.test.ts
 * Apps import `redis-transact` and `redis-transact/testing`; this repo imports its sources.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { isTransactOutcomeUnknownError, type Transactor } from '../../lib/index.js';
import { injectFaults } from '../../lib/testing/index.js';
import { useTestRedis } from './support/test-redis.js';

const tag = `{shop:${randomUUID().slice(0, 8)}}`; // fresh keys: a shared server is fine
const stockKey = `${tag}:stock`;
const ordersKey = `${tag}:orders`;
const redis = useTestRedis([stockKey, ordersKey]);
// The code under test. Its transaction writes the order id, so the app can look for it.
const buy = (tx: Transactor, orderId: string, exactlyOnce = false) =>
  tx.transact([stockKey, ordersKey], async (t) => {
    if (await t.read.hExists(ordersKey, orderId)) return;
    t.write.decr(stockKey).hSet(ordersKey, orderId, '1');
  }, { exactlyOnce });

/** Places an order; when the outcome is unknown, reads back whether it committed. */
async function placeOrder(tx: Transactor, orderId: string) {
  try {
    await buy(tx, orderId);
    return 'placed';
  } catch (err) {
    if (!isTransactOutcomeUnknownError(err)) throw err;
    // A blind retry would apply a committed order twice, were buy() not idempotent: read back.
    if (await redis.client.hExists(ordersKey, orderId)) return 'found committed';
    await buy(tx, orderId); // it did not commit: place it now
    return 'placed again';
  }
}


/** A faulty transactor whose first call loses EXEC's reply; the calls after it go through. */
const firstCallLoses = (lostReply: 'committed' | 'not-committed') =>
  injectFaults(redis.tx, (call) => (call.number === 1 ? { lostReply } : undefined)); // a plan as a function

// test() returns a promise that node:test itself awaits; `void` says so to the linter.
void test('a lost reply ends in TransactOutcomeUnknownError, though the server ran EXEC', async () => {
  await redis.client.set(stockKey, '10');
  await assert.rejects(buy(firstCallLoses('committed'), 'order-1'), isTransactOutcomeUnknownError);
  assert.equal(await redis.client.get(stockKey), '9'); // it committed, and the call could not know
});

void test('placeOrder reconciles an unknown outcome, whichever way it went', async () => {
  await redis.client.set(stockKey, '10');
  assert.equal(await placeOrder(firstCallLoses('committed'), 'order-2'), 'found committed');
  const notCommitted = firstCallLoses('not-committed');
  assert.equal(await placeOrder(notCommitted, 'order-3'), 'placed again');
  assert.deepEqual(notCommitted.faults.map((f) => f.kind), ['lost-reply']); // it really struck
  assert.equal(await redis.client.get(stockKey), '8'); // two orders, each applied once
});

void test('with exactlyOnce the library settles it: committed once, repliesLost: true', async () => {
  await redis.client.set(stockKey, '10');
  const { replies, repliesLost } = await buy(injectFaults(redis.tx, { lostReply: 'committed' }), 'order-4', true);
  assert.equal(repliesLost, true); // committed; EXEC's replies are gone, so don't read them
  assert.deepEqual(replies, []);
  assert.equal(await redis.client.get(stockKey), '9');
  // Had Redis stayed unreachable while the call settled, it would reject with
  // TransactOutcomeUnknownError and err.commitMarker set: `await tx.settle(err)` settles it later.
});
