/**
 * Many buyers buy from one stock at the same time, and the stock is never oversold.
 *
 *   npm run example:inventory -- --buyers 500 --stock 120 --concurrency 64
 *   REDIS_URL=redis://127.0.0.1:6379 npm run example:inventory
 *   npm run example:inventory -- --retry-policy examples/retry-policy.json
 *   npm run example:inventory -- --mode lock
 *
 * Without REDIS_URL it starts a throw-away redis-server (redis-memory-server with the system
 * binary). Each purchase is idempotent by its order id: a retried or ambiguous purchase can
 * never be counted twice. Exits 1 if any invariant breaks.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { z } from 'zod';
import { createTransactor, isTransactError, loadRetryPolicy, type RetryPolicy } from '../lib/index.js';
import { startEmbeddedRedis } from './support/embedded-redis.js';
import { attemptHistogram, formatRate, Progress } from './support/report.js';

const flagsSchema = z.strictObject({
  buyers: z.coerce.number().int().min(1).default(200),
  stock: z.coerce.number().int().min(0).default(50),
  concurrency: z.coerce.number().int().min(1).default(64),
  'retry-policy': z.string().optional(),
  mode: z.enum(['optimistic', 'lock']).default('optimistic'),
  keep: z.boolean().default(false),
});

type Outcome = 'bought' | 'sold-out' | 'already-recorded';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      buyers: { type: 'string' },
      stock: { type: 'string' },
      concurrency: { type: 'string' },
      'retry-policy': { type: 'string' },
      mode: { type: 'string' },
      keep: { type: 'boolean' },
    },
  });
  const flags = flagsSchema.safeParse(values);
  if (!flags.success) {
    for (const issue of flags.error.issues) console.error(`--${issue.path.join('.')}: ${issue.message}`);
    return 2;
  }
  const { buyers, stock, concurrency, mode, keep } = flags.data;
  const retry: RetryPolicy | undefined = flags.data['retry-policy']
    ? loadRetryPolicy({ file: flags.data['retry-policy'] })
    : undefined;

  const embedded = process.env.REDIS_URL ? undefined : await startEmbeddedRedis();
  const url = process.env.REDIS_URL ?? embedded!.url;
  const client = createClient({ url });
  client.on('error', (err) => console.error('redis client error:', err));
  await client.connect();
  const tx = createTransactor(client, { retry: retry ?? { maxAttempts: 50 }, maxConnections: Math.min(concurrency, 32) });

  // One hash tag for all keys: the same code runs on Redis Cluster.
  const sku = `{inventory:${randomUUID().slice(0, 8)}}`;
  const stockKey = `${sku}:stock`;
  const ordersKey = `${sku}:orders`;
  await client.set(stockKey, String(stock));

  console.log(
    `selling ${stock} items to ${buyers} buyers, ${concurrency} at a time, ${mode} mode, on ${embedded ? 'an embedded redis-server' : url}`,
  );
  const outcomes: Record<Outcome | 'failed', number> = { bought: 0, 'sold-out': 0, 'already-recorded': 0, failed: 0 };
  const attempts: number[] = [];
  const progress = new Progress(buyers, () => `bought ${outcomes.bought}/${stock}`);
  const started = performance.now();

  async function buy(orderId: string, buyer: number): Promise<void> {
    try {
      const result = await tx.transact(
        [stockKey, ordersKey],
        async (t): Promise<Outcome> => {
          const [left, recorded] = await Promise.all([t.read.get(stockKey), t.read.hExists(ordersKey, orderId)]);
          if (recorded) return 'already-recorded';
          if (Number(left) <= 0) return 'sold-out';
          t.write.decr(stockKey).hSet(ordersKey, orderId, `buyer-${buyer}`);
          return 'bought';
        },
        { idempotent: true, mode }, // the HEXISTS check makes a second run harmless
      );
      outcomes[result.value]++;
      attempts.push(result.attempts);
    } catch (err) {
      outcomes.failed++;
      console.error(`\nbuyer ${buyer}: ${isTransactError(err) ? `${err.code}: ` : ''}${(err as Error).message}`);
    }
    progress.tick();
  }

  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, buyers) }, async () => {
      while (next < buyers) {
        const buyer = next++;
        await buy(`order-${buyer}`, buyer);
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  progress.done();

  const stockLeft = Number(await client.get(stockKey));
  const ordersRecorded = await client.hLen(ordersKey);
  const oversold = Math.max(0, ordersRecorded - stock, -stockLeft);
  const checks: Array<[string, boolean]> = [
    ['never oversold (orders ≤ stock, stock ≥ 0)', oversold === 0],
    ['every sale recorded once (stock + orders = initial stock)', stockLeft + ordersRecorded === stock],
    ['orders match the purchases reported', ordersRecorded === outcomes.bought + outcomes['already-recorded']],
    ['all stock sold when buyers outnumber it', buyers < stock || stockLeft === 0 || outcomes.failed > 0],
    ['no buyer gave up', outcomes.failed === 0],
  ];

  console.log('\nsummary');
  console.log(`  sold              ${outcomes.bought}`);
  console.log(`  stock left        ${stockLeft}`);
  console.log(`  orders recorded   ${ordersRecorded}`);
  console.log(`  oversold          ${oversold}`);
  console.log(`  sold out (turned away) ${outcomes['sold-out']}, gave up ${outcomes.failed}`);
  console.log(`  attempts/purchase ${attemptHistogram(attempts)}`);
  console.log(`  elapsed           ${elapsedMs.toFixed(0)} ms, ${formatRate(buyers, elapsedMs)} purchases/s`);
  for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);

  if (!keep) await client.del([stockKey, ordersKey]);
  await tx.close();
  await client.close();
  await embedded?.stop();
  return checks.every(([, ok]) => ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
