/**
 * Many buyers buy from one stock at the same time, and the stock is never oversold.
 *
 *   npm run example:inventory -- --buyers 500 --stock 120 --concurrency 64
 *   npm run example:inventory -- --processes 4 --mode auto   # buyers split over 4 app processes
 *   REDIS_URL=redis://127.0.0.1:6379 npm run example:inventory
 *   npm run example:inventory -- --retry-policy examples/retry-policy.json
 *   npm run example:inventory -- --mode lock
 *   npm run example:inventory -- --client ioredis --processes 4
 *   npm run example:inventory -- --exactly-once --processes 4 --mode auto
 *
 * Without REDIS_URL it starts a throw-away redis-server (redis-memory-server with the system
 * binary). The purchases run on node-redis, or with `--client ioredis` (or `iovalkey`) on an ioredis
 * `Redis` instance, in every process (the set-up and the checks use node-redis either way; the
 * purchase, in each client's API, is in support/purchase.ts). Each purchase is idempotent by its order id: a retried or ambiguous purchase can
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
import { type BuyerJob, type BuyerMessage, type BuyerTally, runBuyers } from './support/buyers.js';
import { startEmbeddedRedis } from './support/embedded-redis.js';
import { CLIENT_NAMES } from './support/purchase.js';
import { attemptHistogram, attemptsChart, formatRate, type Progress, progressDetail, ProgressLine, progressOf } from './support/report.js';

/** What `--help` prints. */
const USAGE = `usage: npm run example:inventory -- [flags]

Sells one stock to many concurrent buyers, each purchase a transaction, and checks that the stock
is never oversold. Exits 1 if an invariant breaks.

  --buyers <n>            buyers, one purchase each (default 200)
  --stock <n>             items in stock (default 50)
  --concurrency <n>       purchases in flight at once, over all processes (default 64)
  --mode <mode>           optimistic, lock or auto (default optimistic, which shows the retries;
                          the library's own default is auto)
  --client <client>       what the purchases run on, in every process: ${CLIENT_NAMES.join(', ')}
                          (default node-redis; the set-up and the checks use node-redis)
  --processes <n>         split the buyers over n processes, as over the instances of an app;
                          only then can transactions conflict (default 1)
  --exactly-once          every purchase with exactlyOnce: true (lost EXEC replies are settled)
  --retry-policy <file>   a retry policy as JSON, e.g. examples/retry-policy.json (default:
                          maxAttempts 50); a relative path is relative to the working directory
  --keep                  keep the stock and orders keys afterwards
  --help                  this text

Without REDIS_URL it starts a throw-away redis-server; REDIS_URL=redis://host:6379 uses yours
(fresh, randomly named keys, deleted afterwards; see examples/README.md for what stays).`;

const flagsSchema = z.strictObject({
  buyers: z.coerce.number().int().min(1).default(200),
  stock: z.coerce.number().int().min(0).default(50),
  concurrency: z.coerce.number().int().min(1).default(64),
  'retry-policy': z.string().optional(),
  mode: z.enum(['optimistic', 'lock', 'auto']).default('optimistic'),
  client: z.enum(CLIENT_NAMES).default('node-redis'),
  processes: z.coerce.number().int().min(1).max(64).default(1),
  keep: z.boolean().default(false),
  'exactly-once': z.boolean().default(false),
});

async function main(): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      options: {
        buyers: { type: 'string' },
        stock: { type: 'string' },
        concurrency: { type: 'string' },
        'retry-policy': { type: 'string' },
        mode: { type: 'string' },
        client: { type: 'string' },
        processes: { type: 'string' },
        keep: { type: 'boolean' },
        'exactly-once': { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const given = { ...values };
  delete given.help;
  const flags = flagsSchema.safeParse(given);
  if (!flags.success) {
    for (const issue of flags.error.issues) console.error(`--${issue.path.join('.')}: ${issue.message}`);
    console.error(`\n${USAGE}`);
    return 2;
  }
  const { buyers, stock, concurrency, mode, processes, keep, client: clientName } = flags.data;
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
      `${mode} mode${exactlyOnce ? ', exactly-once' : ''}, on ${embedded ? 'an embedded redis-server' : url} with ${clientName}`,
  );
  // Buyer n goes to process n mod N, so every process buys throughout the run.
  const shares = Array.from({ length: processes }, (_, p): BuyerJob => ({
    url,
    client: clientName,
    stockKey,
    ordersKey,
    buyers: Array.from({ length: buyers }, (_, n) => n).filter((n) => n % processes === p),
    concurrency: Math.max(1, Math.ceil(concurrency / processes)),
    mode,
    retry,
    exactlyOnce,
  }));
  // What each process has done so far, for the progress lines (its own tally, or its child's reports).
  const sofar: Progress[] = shares.map((share) => ({ done: 0, total: share.buyers.length, bought: 0, soldOut: 0, failed: 0 }));
  const progress = new ProgressLine(buyers, () => progressDetail(sofar, stock));
  const onProgress = (process: number, tally: BuyerTally) => {
    sofar[process] = progressOf(tally, shares[process]!.buyers.length);
    progress.update(sofar.reduce((sum, p) => sum + p.done, 0));
  };
  const tallies =
    processes === 1
      ? [await runBuyers(shares[0]!, (tally) => onProgress(0, tally))]
      : await inChildProcesses(shares, onProgress);
  progress.done();
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
  const row = (label: string, value: string | number) => console.log(`  ${label.padEnd(24)} ${value}`);
  row('sold', outcomes.bought);
  row('stock left', stockLeft);
  row('orders recorded', ordersRecorded);
  row('oversold', oversold);
  row('turned away (sold out)', outcomes['sold-out']);
  row('gave up', outcomes.failed);
  row('attempts per purchase', attemptHistogram(attempts));
  if (mode === 'auto') row('escalations', escalations);
  if (exactlyOnce) {
    row('replies lost, settled', `${repliesLost} (committed, with repliesLost: true)`);
    const settled = unknown.total > 0 ? ` (tx.settle: committed ${unknown.committed}, not committed ${unknown['not-committed']}, unsettled ${unknown.unsettled})` : '';
    row('outcome unknown', `${unknown.total}${settled}`);
  }
  row('elapsed', `${elapsedMs.toFixed(0)} ms, ${formatRate(buyers, elapsedMs)} purchases/s`);
  console.log('');
  for (const line of attemptsChart(tallies.map((t) => t.attempts))) console.log(`  ${line}`);
  console.log('');
  for (const [what, ok] of checks) console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);

  if (!keep) await deleteKeysOf(client, sku);
  await client.close();
  await embedded?.stop();
  return checks.every(([, ok]) => ok) ? 0 : 1;
}

/**
 * Deletes what the run created under its hash tag: the stock, the orders, and any lock key of them
 * (released by now; listed anyway, so that nothing of the run is left). What stays is shared with
 * every other user of the library's locks on the server (see examples/README.md).
 */
async function deleteKeysOf(client: { scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>; del(keys: string[]): Promise<unknown> }, tag: string): Promise<void> {
  const keys: string[] = [];
  for await (const page of client.scanIterator({ MATCH: `*${tag}*`, COUNT: 1000 })) keys.push(...page);
  if (keys.length > 0) await client.del(keys);
}

/**
 * Runs each share of the buyers in a child process of its own (through tsx); they start buying
 * together, once every one is connected. `onProgress` gets each child's tally as it goes. Resolves
 * to their final tallies.
 */
async function inChildProcesses(jobs: readonly BuyerJob[], onProgress: (process: number, tally: BuyerTally) => void): Promise<BuyerTally[]> {
  const tsx = pathToFileURL(require.resolve('tsx')).href; // absolute: --import resolves bare names from the cwd
  const children = jobs.map((job, index) => {
    const child = fork(join(__dirname, 'support', 'buyer-process.ts'), [JSON.stringify(job)], {
      execArgv: ['--import', tsx],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let ready!: () => void;
    const connected = new Promise<void>((resolve) => (ready = resolve));
    const finished = new Promise<BuyerTally>((resolve, reject) => {
      let tally: BuyerTally | undefined;
      child.on('message', (message: BuyerMessage) => {
        if ('ready' in message) ready();
        if ('progress' in message) onProgress(index, message.progress);
        if ('tally' in message) tally = message.tally;
      });
      child.on('error', reject);
      child.on('exit', (code) => (tally ? resolve(tally) : reject(new Error(`buyer process ${child.pid} exited with code ${code}`))));
    });
    return { child, connected, finished };
  });
  // A child that dies before it is ready must not leave the others waiting for the go.
  await Promise.race([Promise.all(children.map((c) => c.connected)), Promise.all(children.map((c) => c.finished))]);
  for (const { child } of children) child.send('go');
  const tallies = await Promise.all(children.map((c) => c.finished));
  tallies.forEach((tally, index) => onProgress(index, tally));
  return tallies;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
