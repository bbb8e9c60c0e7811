/**
 * Many buyers buy from one stock at the same time, and the stock is never oversold.
 *
 *   npm run example:inventory -- --buyers 500 --stock 120 --concurrency 64
 *   npm run example:inventory -- --processes 4 --mode auto   # buyers split over 4 app processes
 *   REDIS_URL=redis://127.0.0.1:6379 npm run example:inventory
 *   npm run example:inventory -- --retry-policy examples/retry-policy.json
 *   npm run example:inventory -- --mode lock
 *   npm run example:inventory -- --exactly-once --processes 4 --mode auto
 *
 * Without REDIS_URL it starts a throw-away redis-server (redis-memory-server with the system
 * binary). Each purchase is idempotent by its order id: a retried or ambiguous purchase can
 * never be counted twice. With `--exactly-once` purchases also run with `exactlyOnce: true`: an
 * EXEC whose reply was lost is settled by the library (committed, with `repliesLost`, or retried);
 * the summary counts those, and the purchases left with their outcome unknown (0 while Redis is
 * reachable). Each purchase then leaves a commit marker key (`rtonce:…`) that expires by itself
 * after a minute. With `--processes N` the buyers are split over N child processes, as over the
 * instances of an app: only then can transactions conflict (in one process, coalescing lines up
 * same-key transactions). Exits 1 if any invariant breaks.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import { z } from 'zod';
import { loadRetryPolicy, type RetryPolicyInput } from '../lib/index.js';
import { type BuyerJob, type BuyerTally, runBuyers } from './support/buyers.js';
import { startEmbeddedRedis } from './support/embedded-redis.js';
import { attemptHistogram, formatRate, Progress } from './support/report.js';

const flagsSchema = z.strictObject({
  buyers: z.coerce.number().int().min(1).default(200),
  stock: z.coerce.number().int().min(0).default(50),
  concurrency: z.coerce.number().int().min(1).default(64),
  'retry-policy': z.string().optional(),
  mode: z.enum(['optimistic', 'lock', 'auto']).default('optimistic'),
  processes: z.coerce.number().int().min(1).max(64).default(1),
  keep: z.boolean().default(false),
  'exactly-once': z.boolean().default(false),
});

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      buyers: { type: 'string' },
      stock: { type: 'string' },
      concurrency: { type: 'string' },
      'retry-policy': { type: 'string' },
      mode: { type: 'string' },
      processes: { type: 'string' },
      keep: { type: 'boolean' },
      'exactly-once': { type: 'boolean' },
    },
  });
  const flags = flagsSchema.safeParse(values);
  if (!flags.success) {
    for (const issue of flags.error.issues) console.error(`--${issue.path.join('.')}: ${issue.message}`);
    return 2;
  }
  const { buyers, stock, concurrency, mode, processes, keep } = flags.data;
  const exactlyOnce = flags.data['exactly-once'];
  const retry: RetryPolicyInput = flags.data['retry-policy'] ? loadRetryPolicy({ file: flags.data['retry-policy'] }) : { maxAttempts: 50 };

  const embedded = process.env.REDIS_URL ? undefined : await startEmbeddedRedis();
  const url = process.env.REDIS_URL ?? embedded!.url;
  const client = createClient({ url });
  client.on('error', (err) => console.error('redis client error:', err));
  await client.connect();

  // One hash tag for all keys: the same code runs on Redis Cluster.
  const sku = `{inventory:${randomUUID().slice(0, 8)}}`;
  const stockKey = `${sku}:stock`;
  const ordersKey = `${sku}:orders`;
  await client.set(stockKey, String(stock));

  console.log(
    `selling ${stock} items to ${buyers} buyers, ${concurrency} at a time${processes > 1 ? ` over ${processes} processes` : ''}, ` +
      `${mode} mode${exactlyOnce ? ', exactly-once' : ''}, on ${embedded ? 'an embedded redis-server' : url}`,
  );
  // Buyer n goes to process n mod N, so every process buys throughout the run.
  const shares = Array.from({ length: processes }, (_, p): BuyerJob => ({
    url,
    stockKey,
    ordersKey,
    buyers: Array.from({ length: buyers }, (_, n) => n).filter((n) => n % processes === p),
    concurrency: Math.max(1, Math.ceil(concurrency / processes)),
    mode,
    retry,
    exactlyOnce,
  }));
  let tallies: BuyerTally[];
  if (processes === 1) {
    let sold = 0;
    const progress = new Progress(buyers, () => `bought ${sold}/${stock}`);
    tallies = [
      await runBuyers(shares[0]!, (tally) => {
        sold = tally.outcomes.bought;
        progress.tick();
      }),
    ];
    progress.done();
  } else {
    tallies = await inChildProcesses(shares);
  }
  // From the first purchase to the last, whichever process made them (child start-up not counted).
  const elapsedMs = Math.max(1, Math.max(...tallies.map((t) => t.endedAt)) - Math.min(...tallies.map((t) => t.startedAt)));
  const outcomes = { bought: 0, 'sold-out': 0, 'already-recorded': 0, failed: 0 };
  for (const tally of tallies) for (const [k, v] of Object.entries(tally.outcomes)) outcomes[k as keyof typeof outcomes] += v;
  const attempts = tallies.flatMap((t) => t.attempts);
  const escalations = tallies.reduce((sum, t) => sum + t.escalations, 0);
  const repliesLost = tallies.reduce((sum, t) => sum + t.repliesLost, 0);
  const unknown = { total: 0, committed: 0, 'not-committed': 0, unsettled: 0 };
  for (const tally of tallies) for (const [k, v] of Object.entries(tally.outcomeUnknown)) unknown[k as keyof typeof unknown] += v;

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
  if (exactlyOnce) checks.push(['no purchase left with its outcome unknown (Redis was reachable)', unknown.total === 0]);

  console.log('\nsummary');
  console.log(`  sold              ${outcomes.bought}`);
  console.log(`  stock left        ${stockLeft}`);
  console.log(`  orders recorded   ${ordersRecorded}`);
  console.log(`  oversold          ${oversold}`);
  console.log(`  sold out (turned away) ${outcomes['sold-out']}, gave up ${outcomes.failed}`);
  console.log(`  attempts/purchase ${attemptHistogram(attempts)}`);
  if (mode === 'auto') console.log(`  escalations       ${escalations}`);
  if (exactlyOnce) {
    console.log(`  replies lost, settled as committed ${repliesLost}`);
    const settled = unknown.total > 0 ? ` (tx.settle: committed ${unknown.committed}, not committed ${unknown['not-committed']}, unsettled ${unknown.unsettled})` : '';
    console.log(`  outcome unknown   ${unknown.total}${settled}`);
  }
  console.log(`  elapsed           ${elapsedMs.toFixed(0)} ms, ${formatRate(buyers, elapsedMs)} purchases/s`);
  for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);

  if (!keep) await client.del([stockKey, ordersKey]);
  await client.close();
  await embedded?.stop();
  return checks.every(([, ok]) => ok) ? 0 : 1;
}

/**
 * Runs each share of the buyers in a child process of its own (through tsx); they start buying
 * together, once every one is connected. Resolves to their tallies.
 */
async function inChildProcesses(jobs: readonly BuyerJob[]): Promise<BuyerTally[]> {
  const tsx = pathToFileURL(require.resolve('tsx')).href; // absolute: --import resolves bare names from the cwd
  const children = jobs.map((job) => {
    const child = fork(join(__dirname, 'support', 'buyer-process.ts'), [JSON.stringify(job)], {
      execArgv: ['--import', tsx],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let ready!: () => void;
    const connected = new Promise<void>((resolve) => (ready = resolve));
    const finished = new Promise<BuyerTally>((resolve, reject) => {
      let tally: BuyerTally | undefined;
      child.on('message', (message: { ready?: true; tally?: BuyerTally }) => {
        if (message.ready) ready();
        if (message.tally) tally = message.tally;
      });
      child.on('error', reject);
      child.on('exit', (code) => (tally ? resolve(tally) : reject(new Error(`buyer process ${child.pid} exited with code ${code}`))));
    });
    return { child, connected, finished };
  });
  // A child that dies before it is ready must not leave the others waiting for the go.
  await Promise.race([Promise.all(children.map((c) => c.connected)), Promise.all(children.map((c) => c.finished))]);
  for (const { child } of children) child.send('go');
  return Promise.all(children.map((c) => c.finished));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
