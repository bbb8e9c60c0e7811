import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { driveCell, drivePairedCell, pairedSide, pairedSideTimeMs } from '../bench/cell';
import { parseFlags, USAGE } from '../bench/cli';
import { probeCallOptions, probeFailure, type ProbeOutcome } from '../bench/contenders/transact-core';
import type { CellStats } from '../bench/measure';
import { formatShares } from '../bench/report/format';
import { autoVersusOthers, EXACTLY_ONCE_PAIRS, exactlyOnceCost, IOREDIS_PAIRS, ioredisVersusNodeRedis, PAIRS, runnablePairs } from '../bench/report/markdown';
import type { BenchReport, CellRecord, PairedRecord } from '../bench/report/results';
import { median, medianCells, ratiosTable } from '../bench/report/rounds';
import { CONTENDER_NAMES, type ContenderCell, type ContenderName, type Op, WORKLOAD_NAMES, type WorkloadCell, type WorkloadName } from '../bench/types';
import { InvalidOptionsError, type TransactOptions } from '../lib';

const run = promisify(execFile);
const root = resolve(__dirname, '..');

describe('npm run bench -- --smoke', () => {
  let out: string;
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  });
  afterAll(() => {
    rmSync(out, { recursive: true, force: true });
  });

  it('runs every contender on every workload, keeps every invariant, and writes the JSON and SVG', async () => {
    const env = { ...process.env };
    delete env.REDIS_URL; // always its own embedded redis-server here
    // Resolves only on exit code 0 (execFile rejects otherwise, with the output attached).
    const { stdout } = await run('npm', ['run', '--silent', 'bench', '--', '--smoke', '--out', out], {
      cwd: root,
      env,
      maxBuffer: 16 * 1024 * 1024,
    });

    for (const workload of WORKLOAD_NAMES) expect(stdout).toMatch(new RegExp(`^invariant ${workload}: ok\\b`, 'm'));
    expect(stdout).not.toMatch(/FAIL/);
    expect(stdout).toMatch(/^result: ok$/m);

    const report = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as BenchReport;
    const entries = report.cells.map((c) => `${c.contender}/${c.workload}/${c.concurrency}`);
    const expected = CONTENDER_NAMES.flatMap((c) => WORKLOAD_NAMES.flatMap((w) => [1, 8].map((n) => `${c}/${w}/${n}`)));
    expect([...entries].sort()).toEqual([...expected].sort()); // exactly one entry per cell
    expect(report.multiProcess).toEqual([]); // --smoke skips the multi-process run
    for (const cell of report.cells) {
      expect(cell.ok).toBe(true);
      if (cell.available) expect(cell.stats).toMatchObject({ errors: 0 });
      else expect(cell.stats).toBeNull();
    }
    expect(report.machine).toMatchObject({ cpus: expect.any(Number), node: process.version, redis: expect.stringMatching(/^\d+\./) });

    // One paired cell per (pair, workload, c), each checked against both sides' commits.
    const paired = (report.paired ?? []).map((p) => `${p.once}/${p.plain}/${p.workload}/${p.concurrency}`);
    const expectedPaired = PAIRS.flatMap((pair) =>
      WORKLOAD_NAMES.flatMap((w) => [1, 8].map((n) => `${pair[1]}/${pair[0]}/${w}/${n}`)),
    );
    expect(expectedPaired).toContain('transact-auto/transact-optimistic/spread/8');
    expect(expectedPaired).toContain('transact-auto/transact-optimistic/hot-key/8');
    expect([...paired].sort()).toEqual([...expectedPaired].sort());
    for (const p of report.paired ?? []) {
      expect(p.ok).toBe(true);
      expect(p.plainStats.errors + p.onceStats.errors).toBe(0);
      expect(p.plainStats.committed).toBeGreaterThan(0);
      expect(p.onceStats.committed).toBeGreaterThan(0);
    }

    const markdown = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(markdown).toMatch(/^## exactly-once cost$/m);
    expect(markdown).toMatch(/measured side by side in one paired cell/);
    expect(markdown).toMatch(/^invariant paired: ok\b/m);
    for (const [plain, once] of EXACTLY_ONCE_PAIRS) expect(markdown).toContain(`${once} ÷ ${plain}`);
    expect(markdown).toMatch(/^## auto mode against optimistic and lock$/m);
    expect(markdown).toMatch(/^\| spread \| 8 \| \d+\.\d+× \| \d+\.\d+× \|$/m);
    expect(markdown).toMatch(/^## ioredis against node-redis$/m);
    const ioredisHeader = `| workload | c | ${IOREDIS_PAIRS.map(([plain, variant]) => `${variant} ÷ ${plain}`).join(' | ')} |`;
    expect(markdown).toContain(ioredisHeader);
    for (const w of WORKLOAD_NAMES) for (const c of [1, 8]) expect(markdown).toMatch(new RegExp(`^\\| ${w} \\| ${c} (\\| [\\d.]+× ){${IOREDIS_PAIRS.length}}\\|$`, 'm'));

    const svg = readFileSync(join(out, 'latest.svg'), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    for (const workload of WORKLOAD_NAMES) expect(svg).toContain(`>${workload}</text>`);
  }, 120_000);

  it('runs the multi-process cells in rounds of warm children and reports the median round, shares, tails and ratios', async () => {
    const multiOut = join(out, 'multi');
    const env = { ...process.env };
    delete env.REDIS_URL;
    const contenders = ['transact-optimistic', 'transact-lock', 'transact-auto', 'npm-lock', 'transact-optimistic-ioredis'];
    const { stdout, stderr } = await run(
      'npm',
      // In-process cells kept tiny: one level, one workload; the multi-process run is what is tested.
      ['run', '--silent', 'bench', '--', '--smoke', '--workloads', 'hot-key', '--concurrency', '1', '--contenders', contenders.join(','),
        '--processes', '2', '--rounds', '2', '--process-warmup', '150', '--out', multiOut],
      { cwd: root, env, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stdout).toMatch(/^result: ok$/m);
    expect(stdout).toMatch(/^invariant hot-key ×2 processes: ok \(10 cells\b/m);

    const report = JSON.parse(readFileSync(join(multiOut, 'latest.json'), 'utf8')) as BenchReport;
    expect(report.settings).toMatchObject({ processes: 2, rounds: 2, processWarmupMs: 150 });
    const rounds = report.multiProcessRounds!;
    expect(rounds.map((round) => round.map((c) => `${c.round}/${c.contender}`))).toEqual([1, 2].map((r) => contenders.map((c) => `${r}/${c}`)));
    for (const cell of rounds.flat()) {
      expect(cell).toMatchObject({ ok: true, processes: 2, concurrency: 64 });
      const stats = cell.stats!;
      expect(stats.committed).toBeGreaterThan(0);
      expect(stats.shares).toHaveLength(2);
      expect(stats.shares!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      expect(stats.p999Ms).toBeGreaterThanOrEqual(stats.p99Ms);
      expect(stats.slowestMs).toBeGreaterThanOrEqual(stats.p999Ms);
      expect(stats.slowestMs).toBeGreaterThanOrEqual(stats.inflightMaxMs);
      expect(stats.committedByQuarter.reduce((a, b) => a + b, 0)).toBe(stats.committed);
    }
    // The tables' cells are each contender's median round: with 2 rounds, the slower one.
    expect(report.multiProcess.map((c) => c.contender)).toEqual(contenders);
    for (const cell of report.multiProcess) {
      const ops = rounds.map((round) => round.find((c) => c.contender === cell.contender)!.stats!.opsPerSec);
      expect(cell.stats!.opsPerSec).toBe(Math.min(...ops));
      expect(cell).toEqual(rounds[cell.round! - 1]!.find((c) => c.contender === cell.contender));
    }

    const markdown = readFileSync(join(multiOut, 'latest.md'), 'utf8');
    expect(markdown).toMatch(/Each contender's median round of 2 .* warmed up for 150 ms/);
    expect(markdown).toContain('| p50 ms | p99 ms | p99.9 ms | slowest ms | give-ups | round | shares % | last ¼ ÷ first ¼ |');
    for (const cell of report.multiProcess) {
      const line = markdown.split('\n').find((l) => l.startsWith(`| ${cell.contender} | 64 (2 proc) |`))!;
      const shares = line.split('|').at(-3)!.trim().split('/').map(Number);
      expect(shares.reduce((a, b) => a + b, 0)).toBe(100);
    }
    expect(markdown).toContain('| contender | round 1 ops/s (p99 ms) | round 2 ops/s (p99 ms) |');
    expect(markdown).toMatch(/^## multi-process ratios$/m);
    for (const ratio of ['transact-auto ÷ transact-optimistic ops/s', 'transact-lock ÷ transact-optimistic ops/s', 'transact-lock ÷ npm-lock ops/s', 'transact-auto ÷ transact-optimistic p99']) {
      expect(markdown).toMatch(new RegExp(`^\\| ${ratio} \\| [\\d.]+× \\| [\\d.]+× \\| [\\d.]+× \\([\\d.]+–[\\d.]+×\\) \\|$`, 'm'));
      // ... and printed again, last, on the console.
      expect(stderr.slice(stderr.lastIndexOf('## multi-process ratios'))).toContain(`| ${ratio} |`);
    }
    // ioredis against node-redis: the paired in-process cell, and the rounds' median ratio of the multi-process run.
    expect(markdown).toContain('| workload | c | transact-optimistic-ioredis ÷ transact-optimistic |');
    expect(markdown).toMatch(/^\| hot-key \| 1 \| [\d.]+× \|$/m);
    expect(markdown).toMatch(/^\| hot-key \| 64 \(2 proc\)† \| [\d.]+× \|$/m);
  }, 180_000);

  it('lists every contender in --help, the ioredis ones included', async () => {
    const { stdout } = await run('npm', ['run', '--silent', 'bench', '--', '--help'], { cwd: root });
    expect(stdout).toBe(`${USAGE}\n`);
    for (const name of ['watch-loop-ioredis', 'transact-optimistic-ioredis', 'transact-lock-ioredis', 'transact-auto-ioredis']) {
      expect(CONTENDER_NAMES).toContain(name);
      expect(stdout).toContain(name);
    }
  });

  it('exits 2 and names the flag when a flag is bad', async () => {
    const failure = run('npm', ['run', '--silent', 'bench', '--', '--concurrency', '8,lots', '--contenders', 'nope'], { cwd: root });
    await expect(failure).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/--concurrency: .*\n[^]*--contenders: unknown name "nope"/),
    });
  });
});

describe('the exactly-once cost table', () => {
  function cell(workload: WorkloadName, contender: ContenderName, concurrency: number, opsPerSec: number | null, extra: Partial<CellRecord> = {}): CellRecord {
    const stats = opsPerSec === null ? null : ({ opsPerSec } as CellStats);
    return { workload, contender, concurrency, processes: 1, available: stats !== null, stats, invariant: null, ok: true, ...extra };
  }
  function pair(workload: WorkloadName, plain: ContenderName, concurrency: number, plainOps: number, onceOps: number, extra: Partial<PairedRecord> = {}): PairedRecord {
    return {
      workload,
      concurrency,
      plain,
      once: `${plain}-once` as ContenderName,
      sliceMs: 100,
      plainStats: { opsPerSec: plainOps, errors: 0 } as CellStats,
      onceStats: { opsPerSec: onceOps, errors: 0 } as CellStats,
      invariant: { ok: true, detail: 'fine' },
      ok: true,
      ...extra,
    };
  }

  it('pairs every -once contender with the contender it varies', () => {
    expect(EXACTLY_ONCE_PAIRS).toEqual([
      ['transact-optimistic', 'transact-optimistic-once'],
      ['transact-lock', 'transact-lock-once'],
    ]);
  });

  it('pairs auto mode with optimistic and with lock mode, and reports their ratios per cell', () => {
    expect(PAIRS).toEqual([...EXACTLY_ONCE_PAIRS, ['transact-optimistic', 'transact-auto'], ['transact-lock', 'transact-auto'], ...IOREDIS_PAIRS]);
    const autoPair = (workload: WorkloadName, plain: ContenderName, concurrency: number, other: number, auto: number, otherP99 = 10): PairedRecord => ({
      ...pair(workload, plain, concurrency, other, auto),
      once: 'transact-auto',
      plainStats: { opsPerSec: other, errors: 0, p99Ms: otherP99 } as CellStats,
      onceStats: { opsPerSec: auto, errors: 0, p99Ms: 12 } as CellStats,
    });
    const lines = autoVersusOthers({
      paired: [
        autoPair('spread', 'transact-optimistic', 128, 2000, 1900),
        autoPair('spread', 'transact-lock', 128, 1000, 1900, 24),
        pair('spread', 'transact-lock', 128, 1000, 500),
        autoPair('hot-key', 'transact-lock', 32, 4000, 4000, 12),
      ],
    });
    expect(lines.filter((l) => l.startsWith('| spread') || l.startsWith('| hot-key'))).toEqual([
      '| spread | 128 | 0.95× | 1.90× | 1.20× | 0.50× |',
      '| hot-key | 32 | – | 1.00× | – | 1.00× |',
    ]);
    expect(autoVersusOthers({ paired: [pair('spread', 'transact-lock', 128, 1000, 500)] })).toEqual([]);
  });

  it('runs paired cells only for pairs whose two sides are selected and available', () => {
    const info = (name: ContenderName, available = true) => ({ name, summary: '', available });
    expect(runnablePairs([info('lua'), info('transact-optimistic'), info('transact-optimistic-once'), info('transact-lock'), info('transact-lock-once')])).toEqual(EXACTLY_ONCE_PAIRS);
    expect(runnablePairs([info('transact-optimistic'), info('transact-optimistic-once', false), info('transact-lock'), info('transact-lock-once')])).toEqual([
      ['transact-lock', 'transact-lock-once'],
    ]);
    expect(runnablePairs([info('transact-optimistic-once'), info('transact-lock')])).toEqual([]);
  });

  it('divides X-once by X within each paired cell, in run order, ignoring the separate cells', () => {
    const lines = exactlyOnceCost({
      paired: [
        pair('hot-key', 'transact-optimistic', 1, 2000, 1900),
        pair('hot-key', 'transact-lock', 1, 1000, 1000),
        pair('hot-key', 'transact-optimistic', 128, 2500, 2000, { ok: false }),
        pair('spread', 'transact-lock', 128, 0, 0), // nothing committed: no ratio
      ],
      multiProcess: [],
    });
    expect(lines[0]).toMatch(/measured side by side in one paired cell .* alternating between the two in 100 ms time slices/);
    expect(lines.slice(2)).toEqual([
      '| workload | c | transact-optimistic-once ÷ transact-optimistic | transact-lock-once ÷ transact-lock |',
      '| --- | --: | --: | --: |',
      '| hot-key | 1 | 0.95× | 1.00× |',
      '| hot-key | 128 | 0.80× ⚠ | – |',
      '| spread | 128 | – | – |',
    ]);
  });

  it('adds the multi-process run from its separate cells, marked as not paired', () => {
    const lines = exactlyOnceCost({
      paired: [pair('hot-key', 'transact-optimistic', 1, 2000, 1900)],
      multiProcess: [
        cell('hot-key', 'transact-optimistic', 128, 1000, { processes: 4 }),
        cell('hot-key', 'transact-optimistic-once', 128, 1100, { processes: 4 }),
        cell('hot-key', 'transact-lock', 128, 900, { processes: 4 }),
      ],
    });
    expect(lines.slice(2)).toEqual([
      '| workload | c | transact-optimistic-once ÷ transact-optimistic |',
      '| --- | --: | --: |',
      '| hot-key | 1 | 0.95× |',
      '| hot-key | 128 (4 proc)† | 1.10× |',
      '',
      '†: not paired: the two contenders\' separate cells of the multi-process run (each one\'s median round; noisy).',
    ]);
  });

  it('says nothing without paired cells', () => {
    expect(exactlyOnceCost({ paired: [], multiProcess: [cell('hot-key', 'transact-lock', 128, 900, { processes: 4 })] })).toEqual([]);
    expect(exactlyOnceCost({ multiProcess: [] })).toEqual([]);
  });
});

describe('the ioredis table', () => {
  function pair(workload: WorkloadName, plain: ContenderName, variant: ContenderName, concurrency: number, plainOps: number, variantOps: number, ok = true): PairedRecord {
    return {
      workload,
      concurrency,
      plain,
      once: variant,
      sliceMs: 100,
      plainStats: { opsPerSec: plainOps, errors: 0 } as CellStats,
      onceStats: { opsPerSec: variantOps, errors: 0 } as CellStats,
      invariant: { ok, detail: 'fine' },
      ok,
    };
  }
  function cell(contender: ContenderName, round: number, opsPerSec: number): CellRecord {
    return { workload: 'hot-key', contender, concurrency: 128, processes: 4, available: true, stats: { opsPerSec } as CellStats, invariant: null, ok: true, round };
  }

  it('pairs each mode on ioredis with the same on node-redis, and optimistic mode on ioredis with the ioredis loop', () => {
    expect(IOREDIS_PAIRS).toEqual([
      ['transact-optimistic', 'transact-optimistic-ioredis'],
      ['transact-lock', 'transact-lock-ioredis'],
      ['transact-auto', 'transact-auto-ioredis'],
      ['watch-loop-ioredis', 'transact-optimistic-ioredis'],
    ]);
    const info = (name: ContenderName, available = true) => ({ name, summary: '', available });
    expect(runnablePairs([info('transact-optimistic'), info('transact-optimistic-ioredis'), info('watch-loop-ioredis'), info('transact-lock-ioredis')])).toEqual([
      ['transact-optimistic', 'transact-optimistic-ioredis'],
      ['watch-loop-ioredis', 'transact-optimistic-ioredis'],
    ]);
    expect(runnablePairs([info('transact-lock'), info('transact-lock-ioredis', false)])).toEqual([]);
  });

  it('divides the ioredis side by the other within each paired cell, ignoring the exactly-once pairs', () => {
    const lines = ioredisVersusNodeRedis({
      paired: [
        pair('hot-key', 'transact-optimistic', 'transact-optimistic-once', 1, 2000, 1900),
        pair('hot-key', 'transact-optimistic', 'transact-optimistic-ioredis', 1, 2000, 1960),
        pair('hot-key', 'watch-loop-ioredis', 'transact-optimistic-ioredis', 1, 2000, 2100),
        pair('spread', 'transact-optimistic', 'transact-optimistic-ioredis', 32, 5000, 4000, false),
        pair('spread', 'watch-loop-ioredis', 'transact-optimistic-ioredis', 32, 0, 0), // nothing committed: no ratio
      ],
      multiProcess: [],
    });
    expect(lines[0]).toMatch(/measured side by side in one paired cell .* alternating between the two in 100 ms time slices/);
    expect(lines[0]).toMatch(/≥ 0\.95× against node-redis at every c, and ≥ 1\.00× against the ioredis loop at c=1/);
    expect(lines.slice(2)).toEqual([
      '| workload | c | transact-optimistic-ioredis ÷ transact-optimistic | transact-optimistic-ioredis ÷ watch-loop-ioredis |',
      '| --- | --: | --: | --: |',
      '| hot-key | 1 | 0.98× | 1.05× |',
      '| spread | 32 | 0.80× ⚠ | – |',
    ]);
  });

  it('adds the multi-process run as the median of the ratios within each round, marked as not paired', () => {
    const rounds = [
      [cell('transact-lock', 1, 1000), cell('transact-lock-ioredis', 1, 900)],
      [cell('transact-lock', 2, 1000), cell('transact-lock-ioredis', 2, 1200)],
      [cell('transact-lock', 3, 2000), cell('transact-lock-ioredis', 3, 1900)],
    ];
    const lines = ioredisVersusNodeRedis({
      paired: [pair('hot-key', 'transact-lock', 'transact-lock-ioredis', 1, 1000, 1000)],
      multiProcess: rounds[0]!,
      multiProcessRounds: rounds,
    });
    expect(lines.slice(2)).toEqual([
      '| workload | c | transact-lock-ioredis ÷ transact-lock |',
      '| --- | --: | --: |',
      '| hot-key | 1 | 1.00× |',
      '| hot-key | 128 (4 proc)† | 0.95× |',
      '',
      "†: not paired: the median over the multi-process run's 3 round(s) of the ratio of the two contenders' separate cells in one round (noisy).",
    ]);
  });

  it('says nothing without an ioredis paired cell', () => {
    expect(ioredisVersusNodeRedis({ paired: [pair('hot-key', 'transact-lock', 'transact-lock-once', 1, 1000, 900)], multiProcess: [] })).toEqual([]);
    expect(ioredisVersusNodeRedis({ multiProcess: [] })).toEqual([]);
  });
});

describe('a paired cell', () => {
  it('switches sides every slice and splits any span between them', () => {
    expect([0, 99.9, 100, 199, 200, 350].map((t) => pairedSide(t, 100))).toEqual([0, 0, 1, 1, 0, 1]);
    expect(pairedSideTimeMs(500, 2500, 100)).toEqual([1000, 1000]);
    expect(pairedSideTimeMs(50, 250, 100)).toEqual([100, 100]);
    expect(pairedSideTimeMs(0, 150, 100)).toEqual([100, 50]);
    expect(pairedSideTimeMs(100, 100, 100)).toEqual([0, 0]);
  });

  it('runs each op on the side of the slice it starts in, all workers together, never both sides at once, and counts each side apart', async () => {
    const op: Op = { keys: ['k'], reads: ['k'], decide: () => [], luaArgs: [] };
    const cell: WorkloadCell = { init: () => Promise.resolve(), nextOp: () => op, check: () => Promise.resolve({ ok: true, detail: '' }) };
    let perfStart = 0;
    const misplaced: string[] = [];
    const running = [0, 0];
    const overlapping: string[] = [];
    const side = (index: 0 | 1): ContenderCell => ({
      run: async (_op, worker) => {
        const started = performance.now() - perfStart;
        // Away from a switch (1 ms of slack for the epoch → performance clock conversion), the side must be the slice's.
        const slot = started % 20;
        if (slot > 1 && slot < 19 && index !== pairedSide(started, 20)) misplaced.push(`worker ${worker} on ${index} at ${started.toFixed(1)}`);
        if (running[1 - index]! > 0) overlapping.push(`worker ${worker} started on ${index} at ${started.toFixed(1)}`);
        running[index]!++;
        // Ops of uneven length (2-6 ms, worker by worker): at a switch, some are still running.
        await new Promise((resolve) => setTimeout(resolve, 2 + worker));
        running[index]!--;
        return { committed: true, attempts: 1 };
      },
      teardown: () => Promise.resolve(),
    });
    const startAt = Date.now() + 20;
    perfStart = performance.now() + 20;
    const [plain, once] = await drivePairedCell([side(0), side(1)], cell, 4, { startAt, warmupMs: 40, durationMs: 200, drainMs: 1000 }, 20);
    expect(misplaced).toEqual([]);
    expect(overlapping).toEqual([]);
    expect(plain.committed).toBeGreaterThan(20);
    expect(once.committed).toBeGreaterThan(20);
    // Warm-up ops count for the invariant, not for the window.
    expect(plain.totalCommitted + once.totalCommitted).toBeGreaterThan(plain.committed + once.committed);
    expect(plain.errors + once.errors).toBe(0);
  });
});

describe('a cell\'s slowest call', () => {
  it('counts a call still in flight when the window closes, with its full duration, but not in ops/s or the percentiles', async () => {
    const op: Op = { keys: ['k'], reads: ['k'], decide: () => [], luaArgs: [] };
    const cell: WorkloadCell = { init: () => Promise.resolve(), nextOp: () => op, check: () => Promise.resolve({ ok: true, detail: '' }) };
    const startAt = Date.now();
    let slowStarted = false;
    const contender: ContenderCell = {
      run: async (_op, worker) => {
        // Worker 0's first call from 50 ms into the 200 ms window on takes 400 ms: still in flight at the end.
        const slow = worker === 0 && !slowStarted && Date.now() - startAt >= 50;
        if (slow) slowStarted = true;
        await new Promise((resolve) => setTimeout(resolve, slow ? 400 : 5));
        return { committed: true, attempts: 1 };
      },
      teardown: () => Promise.resolve(),
    };
    const stats = await driveCell(contender, cell, 2, { startAt, warmupMs: 0, durationMs: 200, drainMs: 5000 });
    expect(slowStarted).toBe(true);
    expect(stats.inflight).toBeGreaterThanOrEqual(1);
    expect(stats.inflightMaxMs).toBeGreaterThanOrEqual(399);
    expect(stats.slowestMs).toBe(stats.inflightMaxMs);
    expect(Math.max(...stats.latenciesMs)).toBeLessThan(399); // the window's own calls: all fast
    expect(stats.totalCommitted).toBe(stats.committed + stats.inflight); // the drained calls still count for the invariant
    expect(stats.committedByQuarter).toHaveLength(4);
    expect(stats.committedByQuarter.reduce((a, b) => a + b, 0)).toBe(stats.committed);
    expect(Math.min(...stats.committedByQuarter)).toBeGreaterThan(0);
  });
});

describe('the rounds of the multi-process run', () => {
  function cell(contender: ContenderName, round: number, opsPerSec: number, p99Ms = 10): CellRecord {
    return { workload: 'hot-key', contender, concurrency: 128, processes: 4, available: true, stats: { opsPerSec, p99Ms } as CellStats, invariant: null, ok: true, round };
  }
  const rounds = [
    [cell('npm-lock', 1, 1000), cell('transact-optimistic', 1, 4000, 100), cell('transact-lock', 1, 3000), cell('transact-auto', 1, 3600, 50)],
    [cell('npm-lock', 2, 1200), cell('transact-optimistic', 2, 2000, 200), cell('transact-lock', 2, 2200), cell('transact-auto', 2, 2000, 50)],
    [cell('npm-lock', 3, 900), cell('transact-optimistic', 3, 3000, 100), cell('transact-lock', 3, 3300), cell('transact-auto', 3, 3300, 100)],
  ];

  it('takes each contender\'s median round by ops/s (the lower middle one for an even count)', () => {
    expect(medianCells(rounds).map((c) => `${c.contender}@${c.round}`)).toEqual(['npm-lock@1', 'transact-optimistic@3', 'transact-lock@1', 'transact-auto@3']);
    expect(medianCells(rounds.slice(0, 2)).map((c) => `${c.contender}@${c.round}`)).toEqual(['npm-lock@1', 'transact-optimistic@2', 'transact-lock@2', 'transact-auto@2']);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1])).toBe(2.5);
  });

  it('divides within each round and summarises the rounds\' ratios by their median and range', () => {
    expect(ratiosTable(rounds)).toEqual([
      '| ratio | round 1 | round 2 | round 3 | median (min–max) |',
      '| --- | --: | --: | --: | --: |',
      '| transact-auto ÷ transact-optimistic ops/s | 0.90× | 1.00× | 1.10× | 1.00× (0.90–1.10×) |',
      '| transact-lock ÷ transact-optimistic ops/s | 0.75× | 1.10× | 1.10× | 1.10× (0.75–1.10×) |',
      '| transact-lock ÷ npm-lock ops/s | 3.00× | 1.83× | 3.67× | 3.00× (1.83–3.67×) |',
      '| transact-auto ÷ transact-optimistic p99 | 0.50× | 0.25× | 1.00× | 0.50× (0.25–1.00×) |',
    ]);
    expect(ratiosTable([[cell('transact-lock', 1, 100)]])).toEqual([]);
  });

  it('shows shares as whole percentages that add up to 100', () => {
    expect(formatShares([1 / 3, 1 / 3, 1 / 3])).toBe('34/33/33');
    expect(formatShares([0.255, 0.245, 0.25, 0.25])).toBe('26/24/25/25');
    expect(formatShares([Number.NaN, Number.NaN])).toBe('–');
  });
});

describe('the redis-transact contenders\' probe', () => {
  // What a library without the option throws: zod's unknown key, as the library words it.
  const unknown = (...options: string[]) => new InvalidOptionsError(options.map((o) => ({ path: `options.${o}`, message: 'is not a known option' })));

  /** A library that refuses `refuses` (each call's options recorded in `calls`). */
  function library(...refuses: string[]) {
    const calls: TransactOptions[] = [];
    const tryCall = (options: TransactOptions): Promise<ProbeOutcome> => {
      calls.push(options);
      const refused = refuses.filter((o) => o in options);
      return Promise.resolve(refused.length > 0 ? probeFailure(unknown(...refused), options) : undefined);
    };
    return { calls, tryCall };
  }

  it('passes mode and exactlyOnce when the library takes them', async () => {
    const lib = library();
    await expect(probeCallOptions({ mode: 'lock', exactlyOnce: true }, lib.tryCall)).resolves.toEqual({ options: { mode: 'lock', exactlyOnce: true } });
    await expect(probeCallOptions({ mode: 'optimistic' }, lib.tryCall)).resolves.toEqual({ options: { mode: 'optimistic' } });
  });

  it('marks an exactly-once contender n/a on a library without exactlyOnce, naming the option', async () => {
    for (const mode of ['optimistic', 'lock'] as const) {
      const found = await probeCallOptions({ mode, exactlyOnce: true }, library('exactlyOnce').tryCall);
      expect(found).toEqual({ unavailable: expect.stringMatching(/no exactly-once commits \(options\.exactlyOnce is not a known option\)/) });
    }
    // Older still: neither option is known.
    const found = await probeCallOptions({ mode: 'optimistic', exactlyOnce: true }, library('mode', 'exactlyOnce').tryCall);
    expect(found).toEqual({ unavailable: expect.stringMatching(/options\.exactlyOnce/) });
  });

  it('drops mode for optimistic (the default) on a library without modes, and nothing else', async () => {
    const lib = library('mode');
    await expect(probeCallOptions({ mode: 'optimistic' }, lib.tryCall)).resolves.toEqual({ options: undefined });
    await expect(probeCallOptions({ mode: 'optimistic', exactlyOnce: true }, lib.tryCall)).resolves.toEqual({ options: { exactlyOnce: true } });
    await expect(probeCallOptions({ mode: 'lock' }, lib.tryCall)).resolves.toEqual({ unavailable: expect.stringMatching(/no mode 'lock'/) });
  });

  it('reports any other failure as such', async () => {
    const failed = probeFailure(new Error('ECONNREFUSED'), { mode: 'lock', exactlyOnce: true });
    expect(failed).toEqual({ failed: 'Error: ECONNREFUSED' });
    await expect(probeCallOptions({ mode: 'lock', exactlyOnce: true }, () => Promise.resolve(failed))).resolves.toEqual({
      unavailable: 'probe failed: Error: ECONNREFUSED',
    });
    // An InvalidOptionsError about something the harness did not pass is not a refusal either.
    expect(probeFailure(unknown('markerTtlMs'), { mode: 'lock', exactlyOnce: true })).toEqual({ failed: expect.stringMatching(/^InvalidOptionsError: .*markerTtlMs/) });
  });
});

describe('the bench flags', () => {
  it('never point a smoke run at the committed results unless --out says so', () => {
    const committed = resolve('bench', 'results');
    const smoke = parseFlags(['--smoke'], committed);
    const full = parseFlags([], committed);
    const explicit = parseFlags(['--smoke', '--out', committed], committed);
    expect(smoke.ok === true && smoke.flags.outDir).not.toBe(committed);
    expect(full.ok === true && full.flags.outDir).toBe(committed);
    expect(explicit.ok === true && explicit.flags.outDir).toBe(committed);
  });

  it('take the ioredis contenders by name', () => {
    const parsed = parseFlags(['--contenders', 'transact-optimistic-ioredis,transact-lock-ioredis,transact-auto-ioredis,watch-loop-ioredis'], 'out');
    expect(parsed).toMatchObject({ ok: true, flags: { contenders: ['transact-optimistic-ioredis', 'transact-lock-ioredis', 'transact-auto-ioredis', 'watch-loop-ioredis'] } });
  });

  it('default to 3 rounds of multi-process cells with a 4 s warm-up in every child', () => {
    expect(parseFlags([], 'out')).toMatchObject({ ok: true, flags: { rounds: 3, processWarmupMs: 4000, processes: 4 } });
    expect(parseFlags(['--rounds', '5', '--process-warmup', '250'], 'out')).toMatchObject({ ok: true, flags: { rounds: 5, processWarmupMs: 250 } });
  });

  it.each(['--rounds', '--process-warmup'])('refuse a %s that is not a positive integer in range, naming the flag', (flag) => {
    for (const bad of ['0', '-1', '1.5', String(2 ** 31), 'many', '']) {
      const parsed = parseFlags([`${flag}=${bad}`], 'out');
      expect(parsed).toEqual({ ok: false, errors: [expect.stringMatching(new RegExp(`^${flag}: must be (a number|an integer|at least 1|at most \\d+)$`))] });
    }
  });
});
