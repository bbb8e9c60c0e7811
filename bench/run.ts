/**
 * The benchmark: contenders × workloads × concurrency levels against one real redis-server, cell
 * after cell, plus the hot-key workload split over child processes (warmed up, then measured in
 * interleaved rounds: the tables show each contender's median round). Prints markdown tables,
 * writes <out>/latest.json, latest.md and latest.svg, exits 1 if an invariant breaks or a cell fails.
 * Each `X-once` contender is also measured against its `X` twin, `transact-auto` against
 * `transact-optimistic`, and each `transact-X-ioredis` against its node-redis twin (and optimistic
 * mode on ioredis against the ioredis WATCH loop), in paired cells (both in one cell, alternating
 * in time slices): the cost of exactly-once, of auto mode and of ioredis, free of the noise between
 * separate cells.
 *
 *   npm run bench                                  # defaults: see --help
 *   npm run bench -- --duration 1000 --processes 0
 *   REDIS_URL=redis://127.0.0.1:6390 npm run bench # a server of your own (fresh keys, deleted after)
 *
 * Progress goes to stderr, the report to stdout.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { startEmbeddedRedis } from '../examples/support/embedded-redis.js';
import { driveCell, drivePairedCell, PAIR_SLICE_MS, pairedSideTimeMs } from './cell.js';
import { type BenchFlags, parseFlags, USAGE, WORKERS_PER_PROCESS } from './cli.js';
import { CONTENDERS } from './contenders/index.js';
import { LIBRARY_BUILD } from './library.js';
import { emptyStats, quarterTrend, type RawStats, recordError, summarize } from './measure.js';
import { runMultiProcess } from './multi-process.js';
import { connectClient } from './redis-client.js';
import { formatMs, formatShares } from './report/format.js';
import { formatSlowest, ratiosSection, renderMarkdown, runnablePairs } from './report/markdown.js';
import type { BenchReport, CellRecord, ContenderInfo, MachineInfo, PairedRecord } from './report/results.js';
import { medianCells } from './report/rounds.js';
import { renderSvg } from './report/svg.js';
import type { BenchClient, Contender, Workload, WorkloadCell } from './types.js';
import { WORKLOADS } from './workloads/index.js';

/** How long workers may take to finish their op after a window closes (a redlock give-up takes ~2-3 s). */
const DRAIN_MS = 30_000;

/** Runs the benchmark; resolves to the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseFlags(argv, resolve(__dirname, 'results'));
  if (parsed.ok === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (parsed.ok === false) {
    for (const e of parsed.errors) console.error(`bench: ${e}`);
    console.error('run `npm run bench -- --help` for the flags');
    return 2;
  }
  const flags = parsed.flags;
  const started = performance.now();
  const loadAtStart = loadavg()[0] ?? 0;

  const embedded = process.env.REDIS_URL ? undefined : await startEmbeddedRedis();
  const url = process.env.REDIS_URL ?? embedded!.url;
  const admin = await connectClient(url);
  try {
    const runId = randomUUID().slice(0, 8);
    let cellNumber = 0;
    const nextTag = () => `{bench:${runId}:${++cellNumber}}`;
    const machine = await machineInfo(admin, embedded ? 'embedded' : new URL(url).host, loadAtStart);
    progress(`measuring ${LIBRARY_BUILD === 'dist' ? 'the build (dist/cjs)' : 'the source (lib/, through tsx)'}; redis ${machine.redis} at ${url}; ${machine.cpus} CPUs, load ${loadAtStart.toFixed(2)}, ${(freemem() / 2 ** 30).toFixed(1)} GiB free`);

    const contenders = await probeAll(flags, url);

    const cells: CellRecord[] = [];
    const paired: PairedRecord[] = [];
    const pairs = runnablePairs(contenders);
    for (const workload of flags.workloads.map((w) => WORKLOADS[w])) {
      for (const concurrency of flags.concurrency) {
        for (const info of contenders) {
          if (!info.available) {
            cells.push(unavailableCell(info, workload, concurrency, 1));
            continue;
          }
          cells.push(await runCell(admin, CONTENDERS[info.name], workload, concurrency, flags, nextTag(), url));
        }
        for (const [plain, once] of pairs) {
          paired.push(await runPairedCell(admin, [CONTENDERS[plain], CONTENDERS[once]], workload, concurrency, flags, nextTag(), url));
        }
      }
    }

    // Rounds, each running every contender once (A B C, A B C, ...), so that a slow spell of the
    // machine hits one round of every contender rather than every round of one.
    const rounds: CellRecord[][] = [];
    if (flags.processes > 0 && flags.workloads.includes('hot-key')) {
      for (let round = 1; round <= flags.rounds; round++) {
        const cellsOfRound: CellRecord[] = [];
        for (const info of contenders) {
          if (!info.available) {
            cellsOfRound.push({ ...unavailableCell(info, WORKLOADS['hot-key'], flags.processes * WORKERS_PER_PROCESS, flags.processes), round });
            continue;
          }
          cellsOfRound.push(await runMultiProcessCell(admin, CONTENDERS[info.name], flags, nextTag(), url, round));
        }
        rounds.push(cellsOfRound);
      }
    }
    const multiProcess = medianCells(rounds);

    const report: BenchReport = {
      date: new Date().toISOString(),
      machine,
      settings: {
        durationMs: flags.durationMs,
        warmupMs: flags.warmupMs,
        concurrency: flags.concurrency,
        processes: flags.processes,
        workersPerProcess: WORKERS_PER_PROCESS,
        processWarmupMs: flags.processWarmupMs,
        rounds: flags.rounds,
        smoke: flags.smoke,
        library: LIBRARY_BUILD,
      },
      workloads: flags.workloads.map((w) => ({ name: w, summary: WORKLOADS[w].summary })),
      contenders,
      cells,
      multiProcess,
      ...(rounds.length > 0 ? { multiProcessRounds: rounds } : {}),
      paired,
      elapsedMs: performance.now() - started,
      ok: [...cells, ...rounds.flat(), ...paired].every((c) => c.ok),
    };
    mkdirSync(flags.outDir, { recursive: true });
    writeFileSync(join(flags.outDir, 'latest.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(flags.outDir, 'latest.svg'), renderSvg(report));
    const markdown = renderMarkdown(report);
    writeFileSync(join(flags.outDir, 'latest.md'), `${markdown}\n`);
    console.log(markdown);
    progress(`wrote ${join(flags.outDir, 'latest.json')}, latest.md and latest.svg in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    // The figures the multi-process run is judged by, last, where a console shows them.
    for (const line of ratiosSection(rounds)) process.stderr.write(`${line}\n`);
    return report.ok ? 0 : 1;
  } finally {
    await admin.close();
    await embedded?.stop();
  }
}

/** `1.04× ops/s`; with a hint when the cell's rate was still rising (children not warm yet). */
function formatTrend(trend: number): string {
  if (!Number.isFinite(trend)) return '–';
  return `${trend.toFixed(2)}× ops/s${trend > 1.2 ? ' (still rising: a longer --process-warmup may change this cell)' : ''}`;
}

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

/** Asks each selected contender, once, whether it can run here. */
async function probeAll(flags: BenchFlags, url: string): Promise<ContenderInfo[]> {
  const infos: ContenderInfo[] = [];
  for (const name of flags.contenders) {
    const contender = CONTENDERS[name];
    const reason = await contender.probe?.(url);
    if (reason !== undefined) progress(`${name}: n/a (${reason})`);
    infos.push(reason === undefined ? { name, summary: contender.summary, available: true } : { name, summary: contender.summary, available: false, unavailable: reason });
  }
  return infos;
}

function unavailableCell(info: ContenderInfo, workload: Workload, concurrency: number, processes: number): CellRecord {
  return { workload: workload.name, contender: info.name, concurrency, processes, available: false, stats: null, invariant: null, ok: true };
}

/** One in-process cell: fresh keys, set up, warm up, measure, tear down, check, delete the keys. */
async function runCell(admin: BenchClient, contender: Contender, workload: Workload, concurrency: number, flags: BenchFlags, tag: string, url: string): Promise<CellRecord> {
  const cell = workload.cell(tag);
  await cell.init(admin);
  const session = await contender.setup({ url, workload, concurrency });
  let raw: RawStats;
  let drained = true;
  try {
    raw = await driveCell(session, cell, concurrency, { startAt: Date.now(), warmupMs: flags.warmupMs, durationMs: flags.durationMs, drainMs: DRAIN_MS });
  } catch (err) {
    // Workers still hang on to their connections: leave them (the process exits at the end).
    drained = false;
    raw = emptyStats();
    recordError(raw, err);
  }
  if (drained) await session.teardown();
  return finishCell(admin, { contender, workload, cell, concurrency, processes: 1, tag }, raw, flags);
}

/**
 * One paired in-process cell: fresh keys, both contenders set up (each its own transactor),
 * `concurrency` workers switching between them every slice, one invariant over both sides' commits.
 */
async function runPairedCell(
  admin: BenchClient,
  [plain, once]: readonly [Contender, Contender],
  workload: Workload,
  concurrency: number,
  flags: BenchFlags,
  tag: string,
  url: string,
): Promise<PairedRecord> {
  const cell = workload.cell(tag);
  await cell.init(admin);
  // At least one slice per side in the window, however short the window.
  const sliceMs = Math.min(PAIR_SLICE_MS, Math.max(1, Math.floor(flags.durationMs / 2)));
  const sessions = [await plain.setup({ url, workload, concurrency }), await once.setup({ url, workload, concurrency })] as const;
  let raw: [RawStats, RawStats];
  let drained = true;
  try {
    const schedule = { startAt: Date.now(), warmupMs: flags.warmupMs, durationMs: flags.durationMs, drainMs: DRAIN_MS };
    raw = await drivePairedCell(sessions, cell, concurrency, schedule, sliceMs);
  } catch (err) {
    drained = false;
    raw = [emptyStats(), emptyStats()];
    recordError(raw[0], err);
  }
  if (drained) for (const session of sessions) await session.teardown();
  const invariant = await cell.check(admin, raw[0].totalCommitted + raw[1].totalCommitted);
  await deleteKeys(admin, tag);
  const [plainMs, onceMs] = pairedSideTimeMs(flags.warmupMs, flags.warmupMs + flags.durationMs, sliceMs);
  const plainStats = summarize(raw[0], plainMs);
  const onceStats = summarize(raw[1], onceMs);
  const ok = invariant.ok && plainStats.errors === 0 && onceStats.errors === 0;
  const errors = plainStats.errors + onceStats.errors;
  progress(
    `${workload.name} c=${concurrency} paired ${once.name} vs ${plain.name} (${sliceMs} ms slices): ` +
      `${Math.round(onceStats.opsPerSec)} vs ${Math.round(plainStats.opsPerSec)} ops/s` +
      `${errors ? `, ${errors} errors (${plainStats.firstError ?? onceStats.firstError})` : ''}, invariant ${invariant.ok ? 'ok' : `FAIL: ${invariant.detail}`}`,
  );
  return { workload: workload.name, concurrency, plain: plain.name, once: once.name, sliceMs, plainStats, onceStats, invariant, ok };
}

/**
 * The hot-key workload over `flags.processes` fresh child processes of WORKERS_PER_PROCESS workers
 * each, on fresh keys. The children warm up on the cell's own keys for `--process-warmup` (their
 * commits count for the invariant, not for the window), all together from the same instant, so
 * that the window measures warm code and the same contention as the window itself.
 */
async function runMultiProcessCell(admin: BenchClient, contender: Contender, flags: BenchFlags, tag: string, url: string, round: number): Promise<CellRecord> {
  const workload = WORKLOADS['hot-key'];
  const cell = workload.cell(tag);
  await cell.init(admin);
  let raw: RawStats;
  try {
    raw = await runMultiProcess(
      {
        url,
        contender: contender.name,
        workload: workload.name,
        tag,
        concurrency: WORKERS_PER_PROCESS,
        warmupMs: flags.processWarmupMs,
        durationMs: flags.durationMs,
        drainMs: DRAIN_MS,
      },
      flags.processes,
    );
  } catch (err) {
    raw = emptyStats();
    recordError(raw, err);
  }
  const concurrency = flags.processes * WORKERS_PER_PROCESS;
  return finishCell(admin, { contender, workload, cell, concurrency, processes: flags.processes, tag, round }, raw, flags);
}

/** Which cell `finishCell` closes. */
interface CellId {
  readonly contender: Contender;
  readonly workload: Workload;
  readonly cell: WorkloadCell;
  readonly concurrency: number;
  readonly processes: number;
  readonly tag: string;
  /** Multi-process cells: their round. */
  readonly round?: number;
}

/** Checks the invariant against every op committed, deletes the cell's keys, and reports the cell. */
async function finishCell(admin: BenchClient, id: CellId, raw: RawStats, flags: BenchFlags): Promise<CellRecord> {
  const { contender, workload, concurrency, processes } = id;
  const invariant = await id.cell.check(admin, raw.totalCommitted);
  await deleteKeys(admin, id.tag);
  const stats = summarize(raw, flags.durationMs);
  const ok = invariant.ok && stats.errors === 0;
  progress(
    `${workload.name} c=${concurrency}${processes > 1 ? ` (${processes} processes, round ${id.round}/${flags.rounds})` : ''} ${contender.name}: ` +
      `${Math.round(stats.opsPerSec)} ops/s, attempts ${Number.isFinite(stats.attemptsMean) ? stats.attemptsMean.toFixed(2) : '–'}/${stats.attemptsMax}, give-ups ${stats.giveUps}` +
      `, p99 ${formatMs(stats.p99Ms)} ms, p99.9 ${formatMs(stats.p999Ms)} ms, slowest ${formatSlowest(stats)} ms` +
      `${stats.shares ? `, shares ${formatShares(stats.shares)} %, last ÷ first quarter of the window ${formatTrend(quarterTrend(stats))}` : ''}` +
      `${stats.errors ? `, ${stats.errors} errors (${stats.firstError})` : ''}, invariant ${invariant.ok ? 'ok' : `FAIL: ${invariant.detail}`}`,
  );
  return { workload: workload.name, contender: contender.name, concurrency, processes, available: true, stats, invariant, ok, ...(id.round === undefined ? {} : { round: id.round }) };
}

/**
 * Deletes every key of a cell, the contenders' own (lock keys...) included: they all carry the tag.
 * But for the commit markers of the exactly-once contenders (`rtonce:...`, named by the library):
 * they expire by themselves, after the library's default `markerTtlMs`.
 */
async function deleteKeys(admin: BenchClient, tag: string): Promise<void> {
  for await (const keys of admin.scanIterator({ MATCH: `*${tag}*`, COUNT: 1000 })) {
    if (keys.length > 0) await admin.unlink(keys);
  }
}

async function machineInfo(admin: BenchClient, redisServer: string, loadAverageAtStart: number): Promise<MachineInfo> {
  const info = await admin.info('server');
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    platform: process.platform,
    arch: process.arch,
    node: process.version,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
    redisServer,
    totalMemoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart,
  };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('bench:', err);
    process.exit(1);
  },
);
