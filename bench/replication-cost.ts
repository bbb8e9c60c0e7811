/**
 * The cost of the replication wait: ops/s and latency of a read-modify-write on a primary with
 * `replication: { replicas: 2, timeoutMs: 1000 }` against the same without it, measured side by
 * side in one run on one primary and two replicas of its own.
 *
 *   npm run bench:replication -- [--duration 2000] [--warmup 500] [--concurrency 1,32] [--modes optimistic,lock]
 *
 * Each cell is paired, as the main bench's exactly-once cells: the same workers alternate between
 * "without" and "with" in 100 ms slices, so that both sides share the machine's noise (separate
 * cells swing by 30-50% here, more than the cost measured). The operation GETs a counter and SETs
 * it + 1: on a counter per worker ('spread': the wait is the only thing in the way) and on one
 * counter for every worker ('hot': same-key transactions queue behind the wait). Every commit of
 * the "with" side must report `replicatedTo: 2`, and every counter must end at exactly the number
 * of commits on it; the run exits 1 otherwise.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { createTransactor, isTransactConflictError, type ReplicationOptions, type TransactMode } from './library.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../examples/support/embedded-redis.js';
import { drivePairedCell, PAIR_SLICE_MS, pairedSideTimeMs } from './cell.js';
import { TRANSACT_RETRY, transactConnections } from './contenders/transact-core.js';
import { emptyStats, type RawStats, recordError, summarize } from './measure.js';
import { type BenchClient, connectClient } from './redis-client.js';
import { formatMs, formatOps, formatRatio } from './report/format.js';
import type { ContenderCell, InvariantResult, Op, WorkloadCell } from './types.js';

/** What the "with" side of every cell asks for: both replicas, a timeout far above a loopback round trip. */
export const REPLICATION: ReplicationOptions = { replicas: 2, timeoutMs: 1000 };

/** Where the counters are: one for every worker, or one per worker. */
export type Shape = 'hot' | 'spread';

const SHAPES: readonly Shape[] = ['spread', 'hot'];
const MODES: readonly TransactMode[] = ['optimistic', 'lock', 'auto'];

/** How long workers may take to finish their op after the window closes: a few waits of `REPLICATION.timeoutMs` at worst. */
const DRAIN_MS = 30_000;

/** How long the replicas may take to sync with the primary at startup. */
const SYNC_TIMEOUT_MS = 15_000;

/** One primary and its two replicas, each with files in a temp dir of its own. */
interface Servers {
  readonly primary: EmbeddedRedis;
  readonly replicas: readonly EmbeddedRedis[];
}

/** Everything started so far, stopped by {@link cleanUp} whichever way the run ends. */
const started: { servers: EmbeddedRedis[]; dirs: string[] } = { servers: [], dirs: [] };

/** The counters of one paired cell and how many commits each one took, counted as calls resolve. */
interface CounterCell extends WorkloadCell {
  /** The counter worker `worker` increments. */
  keyOf(worker: number): string;
  /** Counts one commit on worker `worker`'s counter. */
  committed(worker: number): void;
}

/**
 * A cell's counters under `tag`. The counter a call increments depends on its worker, which only
 * `ContenderCell.run` is told: the op `nextOp` hands the cell driver carries nothing, `run` picks
 * the key (the driver's `Op` shape is the main bench's, with its own writes and Lua twin).
 */
export function counterCell(tag: string, shape: Shape, concurrency: number): CounterCell {
  const keys = shape === 'hot' ? [`${tag}:counter`] : Array.from({ length: concurrency }, (_, i) => `${tag}:counter:${i}`);
  const keyOf = (worker: number) => keys[shape === 'hot' ? 0 : worker]!;
  const commits = new Map<string, number>(keys.map((k) => [k, 0]));
  const op: Op = { keys: [], reads: [], decide: () => [], luaArgs: [] };
  return {
    keyOf,
    committed(worker) {
      commits.set(keyOf(worker), commits.get(keyOf(worker))! + 1);
    },
    // Counters start missing (GET → null → 0): nothing to write.
    init: async () => {},
    nextOp: () => op,
    async check(client: BenchClient, committed: number): Promise<InvariantResult> {
      const values = (await client.mGet(keys)).map((v) => Number(v ?? 0));
      const total = values.reduce((a, b) => a + b, 0);
      // Per counter as well as in all: a lost update on one and a doubled one on another would cancel out.
      const off = keys.filter((k, i) => values[i] !== commits.get(k)).length;
      const counted = [...commits.values()].reduce((a, b) => a + b, 0);
      const ok = total === committed && counted === committed && off === 0;
      return { ok, detail: `counters ${total}, commits ${committed}${off > 0 ? `, ${off} of ${keys.length} counters off` : ''}` };
    },
  };
}

/** What the "with" side saw of `replicatedTo` on its commits. */
interface ReplicationTally {
  /** Commits that reported fewer (or more) replicas than asked for, and the first such value. */
  short: number;
  firstShort?: number | undefined;
  /** Commits of the "without" side that reported a `replicatedTo` at all (they should not). */
  unexpected: number;
}

/**
 * One side of a cell: its own client and transactor on the primary, with or without the
 * transactor's `replication` default, calling `tx.transact([key], GET then SET + 1, { mode })`.
 */
async function side(url: string, mode: TransactMode, concurrency: number, cell: CounterCell, replication: ReplicationOptions | undefined, tally: ReplicationTally): Promise<ContenderCell> {
  const client = await connectClient(url);
  const tx = createTransactor(client, {
    maxConnections: transactConnections(concurrency),
    retry: TRANSACT_RETRY,
    ...(replication ? { replication } : {}),
  });
  return {
    async run(_op, worker) {
      const key = cell.keyOf(worker);
      try {
        const result = await tx.transact(
          [key],
          async (t) => {
            // SET of the value read rather than INCR: a lost update shows in the counter.
            t.write.set(key, String(Number((await t.read.get(key)) ?? 0) + 1));
          },
          { mode },
        );
        cell.committed(worker);
        if (replication && result.replicatedTo !== replication.replicas) {
          tally.short++;
          tally.firstShort ??= result.replicatedTo;
        }
        if (!replication && result.replicatedTo !== undefined) tally.unexpected++;
        return { committed: true, attempts: result.attempts };
      } catch (err) {
        if (isTransactConflictError(err)) return { committed: false, attempts: err.attempts };
        throw err;
      }
    },
    async teardown() {
      await tx.close();
      await client.close();
    },
  };
}

/** What one paired cell came to. */
interface CellResult {
  readonly line: string;
  readonly ok: boolean;
  readonly failures: string[];
}

/** One paired cell on fresh counters: set up both sides, alternate them, check, delete the counters. */
async function runCell(admin: BenchClient, url: string, shape: Shape, mode: TransactMode, concurrency: number, flags: Flags, tag: string): Promise<CellResult> {
  const cell = counterCell(tag, shape, concurrency);
  await cell.init(admin);
  const tally: ReplicationTally = { short: 0, unexpected: 0 };
  // At least one slice per side in the window, however short the window (as the main bench does).
  const sliceMs = Math.min(PAIR_SLICE_MS, Math.max(1, Math.floor(flags.durationMs / 2)));
  const sides = [await side(url, mode, concurrency, cell, undefined, tally), await side(url, mode, concurrency, cell, REPLICATION, tally)] as const;
  let raw: [RawStats, RawStats];
  let drained = true;
  try {
    const schedule = { startAt: Date.now(), warmupMs: flags.warmupMs, durationMs: flags.durationMs, drainMs: DRAIN_MS };
    raw = await drivePairedCell(sides, cell, concurrency, schedule, sliceMs);
  } catch (err) {
    // Workers still hang on to their connections: leave them (the process exits at the end).
    drained = false;
    raw = [emptyStats(), emptyStats()];
    recordError(raw[0], err);
  }
  if (drained) for (const s of sides) await s.teardown();
  const invariant = await cell.check(admin, raw[0].totalCommitted + raw[1].totalCommitted);
  await admin.unlink(shape === 'hot' ? [cell.keyOf(0)] : Array.from({ length: concurrency }, (_, i) => cell.keyOf(i)));

  const [withoutMs, withMs] = pairedSideTimeMs(flags.warmupMs, flags.warmupMs + flags.durationMs, sliceMs);
  const without = summarize(raw[0], withoutMs);
  const withWait = summarize(raw[1], withMs);
  const name = `${shape} ${mode} c=${concurrency}`;
  const failures: string[] = [];
  if (!invariant.ok) failures.push(`${name}: counter check FAILED: ${invariant.detail}`);
  for (const [label, stats] of [['without', without], ['with', withWait]] as const) {
    if (stats.errors > 0) failures.push(`${name} ${label}: ${stats.errors} errors (${stats.firstError})`);
  }
  if (tally.short > 0) failures.push(`${name}: ${tally.short} commits with replicatedTo ${String(tally.firstShort)}, not ${REPLICATION.replicas}`);
  if (tally.unexpected > 0) failures.push(`${name}: ${tally.unexpected} commits without replication reported a replicatedTo`);
  const giveUps = without.giveUps + withWait.giveUps;
  const line =
    `| ${shape} | ${mode} | ${concurrency} | ${formatOps(without.opsPerSec)} | ${formatOps(withWait.opsPerSec)} | ${formatRatio(withWait.opsPerSec, without.opsPerSec)} ` +
    `| ${formatMs(without.p50Ms)} | ${formatMs(withWait.p50Ms)} | ${formatMs(without.p99Ms)} | ${formatMs(withWait.p99Ms)} ` +
    `| ${tally.short === 0 ? `all ${raw[1].totalCommitted}` : `${tally.short} short`} | ${invariant.ok ? 'ok' : 'FAIL'}${giveUps > 0 ? ` (${giveUps} give-ups)` : ''} |`;
  return { line, ok: failures.length === 0, failures };
}

/** Starts the primary and two replicas, and waits until both replicas are in sync and the primary counts them. */
async function startServers(): Promise<Servers> {
  // Each server its own dir: a replica writes the RDB of its full sync there before loading it.
  const files = () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-replication-'));
    started.dirs.push(dir);
    return ['--save', '', '--appendonly', 'no', '--dir', dir];
  };
  const start = async (args: string[]) => {
    const server = await startEmbeddedRedis({ args });
    started.servers.push(server);
    return server;
  };
  const primary = await start(files());
  const replicas = [];
  for (let i = 0; i < REPLICATION.replicas; i++) replicas.push(await start([...files(), '--replicaof', primary.host, String(primary.port)]));
  await waitUntil(primary.url, (info) => new RegExp(`connected_slaves:${REPLICATION.replicas}\\b`).test(info), 'the primary to count both replicas');
  for (const replica of replicas) await waitUntil(replica.url, (info) => /master_link_status:up/.test(info), `the replica on port ${replica.port} to sync`);
  return { primary, replicas };
}

/** Polls INFO replication on `url` until `ready` holds, or throws after SYNC_TIMEOUT_MS. */
async function waitUntil(url: string, ready: (info: string) => boolean, what: string): Promise<void> {
  const client = await connectClient(url);
  try {
    const deadline = performance.now() + SYNC_TIMEOUT_MS;
    while (!ready(await client.info('replication'))) {
      if (performance.now() > deadline) throw new Error(`timed out after ${SYNC_TIMEOUT_MS} ms waiting for ${what}`);
      await sleep(50);
    }
  } finally {
    await client.close();
  }
}

/** Stops every redis-server started and removes their dirs; safe to call more than once. */
async function cleanUp(): Promise<void> {
  // Replicas first: stopping the primary first would only have them retry the link meanwhile.
  for (const server of started.servers.splice(0).reverse()) await server.stop().catch(() => {});
  for (const dir of started.dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

interface Flags {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly concurrency: readonly number[];
  readonly modes: readonly TransactMode[];
}

function parseFlags(): Flags {
  const { values } = parseArgs({
    options: { duration: { type: 'string' }, warmup: { type: 'string' }, concurrency: { type: 'string' }, modes: { type: 'string' } },
  });
  const whole = (flag: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag}: must be a whole number of at least ${min}, got ${text}`);
    return n;
  };
  const modes = (values.modes ?? 'optimistic,lock').split(',');
  const unknown = modes.filter((m) => !(MODES as readonly string[]).includes(m));
  if (unknown.length > 0) throw new Error(`--modes: unknown ${unknown.join(', ')} (known: ${MODES.join(', ')})`);
  return {
    durationMs: whole('duration', values.duration ?? '2000', 1),
    warmupMs: whole('warmup', values.warmup ?? '500', 0),
    concurrency: (values.concurrency ?? '1,32').split(',').map((c) => whole('concurrency', c, 1)),
    modes: modes as TransactMode[],
  };
}

async function main(): Promise<number> {
  const flags = parseFlags();
  const { primary } = await startServers();
  const admin = await connectClient(primary.url);
  try {
    const version = /redis_version:(\S+)/.exec(await admin.info('server'))?.[1] ?? 'unknown';
    console.log(
      `# cost of the replication wait (one primary and ${REPLICATION.replicas} replicas on loopback, Redis ${version}, Node ${process.version}, ` +
        `${flags.durationMs} ms per cell after ${flags.warmupMs} ms warm-up, sides alternating in ${PAIR_SLICE_MS} ms slices, ${new Date().toISOString()})\n`,
    );
    console.log(`"with": replication ${JSON.stringify(REPLICATION)}; "without": none. ratio = ops/s with ÷ without.\n`);
    console.log('| shape | mode | c | ops/s without | ops/s with | with ÷ without | p50 ms without | p50 ms with | p99 ms without | p99 ms with | replicatedTo = 2 | counters |');
    console.log('| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --- |');
    const failures: string[] = [];
    let cellNumber = 0;
    const runId = Date.now().toString(36);
    for (const shape of SHAPES) {
      for (const mode of flags.modes) {
        for (const concurrency of flags.concurrency) {
          const result = await runCell(admin, primary.url, shape, mode, concurrency, flags, `{bench:replication:${runId}:${++cellNumber}}`);
          console.log(result.line);
          failures.push(...result.failures);
        }
      }
    }
    for (const failure of failures) console.error(`FAIL: ${failure}`);
    console.log(`\nresult: ${failures.length === 0 ? 'ok' : `FAILED (${failures.length})`}`);
    return failures.length === 0 ? 0 : 1;
  } finally {
    await admin.close();
  }
}

// Ctrl-C (or a kill) stops the servers too: redis-memory-server only reaps them once this process is gone.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    void cleanUp().finally(() => process.exit(code));
  });
}

void main()
  .catch((err: unknown) => {
    console.error(err);
    return 1;
  })
  .then(async (code) => {
    await cleanUp();
    process.exit(code);
  });
