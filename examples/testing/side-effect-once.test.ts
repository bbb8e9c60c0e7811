/**
 * Recipe: a side effect outside Redis (here, charging a card) happens once per order, even when
 * `fn` runs three times. The first test shows the mistake caught; the other two, two fixes.
 *
 *   npx tsx --test examples/testing/side-effect-once.test.ts
 *
 * Apps import `redis-transact` and `redis-transact/testing`; this repo imports its sources.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import type { Transactor } from '../../lib/index.js';
import { injectFaults } from '../../lib/testing/index.js';
import { useTestRedis } from './support/test-redis.js';

/** An in-memory payment service. With an idempotency key, a repeated charge is not charged again. */
class Payments {
  readonly charges: { orderId: string; cents: number }[] = [];
  readonly #seen = new Set<string>();
  charge(orderId: string, cents: number, idempotencyKey?: string): void {
    if (idempotencyKey !== undefined && this.#seen.has(idempotencyKey)) return;
    if (idempotencyKey !== undefined) this.#seen.add(idempotencyKey);
    this.charges.push({ orderId, cents });
  }
}

const ordersKey = `{shop:${randomUUID().slice(0, 8)}}:orders`; // fresh key: a shared server is fine
const redis = useTestRedis([ordersKey]);
/** Records a paid order once per order id; `pay` runs inside fn, where the app put its charge. */
const record = (tx: Transactor, orderId: string, pay = () => {}) =>
  tx.transact([ordersKey], async (t) => {
    if (await t.read.hExists(ordersKey, orderId)) return 'already-recorded' as const;
    pay();
    t.write.hSet(ordersKey, orderId, 'paid');
    return 'recorded' as const;
  });


// test() returns a promise that node:test itself awaits; `void` says so to the linter.
void test('the mistake, caught: a charge inside fn is made on every attempt', async () => {
  const payments = new Payments();
  const faulty = injectFaults(redis.tx, { conflicts: 2 });
  const { attempts } = await record(faulty, 'order-1', () => payments.charge('order-1', 1999));
  assert.equal(attempts, 3);
  assert.equal(await redis.client.hLen(ordersKey), 1); // one order recorded...
  assert.equal(payments.charges.length, 3); // ...charged three times. Your test asserts 1, and fails.
});

void test('fix 1: charge once the transaction has committed', async () => {
  const payments = new Payments();
  const faulty = injectFaults(redis.tx, { conflicts: 2 });
  const { value } = await record(faulty, 'order-2');
  // value is what fn returned on the attempt that committed: no flag carried over from others.
  if (value === 'recorded') payments.charge('order-2', 1999);
  assert.deepEqual(payments.charges, [{ orderId: 'order-2', cents: 1999 }]);
});

void test('fix 2: charge inside fn, keyed by an idempotency key the service dedupes on', async () => {
  const payments = new Payments();
  const faulty = injectFaults(redis.tx, { conflicts: 2 });
  const { attempts } = await record(faulty, 'order-3', () => payments.charge('order-3', 1999, 'charge:order-3'));
  assert.equal(attempts, 3); // fn still ran three times...
  assert.deepEqual(payments.charges, [{ orderId: 'order-3', cents: 1999 }]); // ...one charge
});
