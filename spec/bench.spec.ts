import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { drivePairedCell, pairedSide, pairedSideTimeMs } from '../bench/cell';
import { parseFlags } from '../bench/cli';
import { probeCallOptions, probeFailure, type ProbeOutcome } from '../bench/contenders/transact-core';
import type { CellStats } from '../bench/measure';
import { EXACTLY_ONCE_PAIRS, exactlyOnceCost, runnablePairs } from '../bench/report/markdown';
import type { BenchReport, CellRecord, PairedRecord } from '../bench/report/results';
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
    const expectedPaired = EXACTLY_ONCE_PAIRS.flatMap(([plain, once]) => WORKLOAD_NAMES.flatMap((w) => [1, 8].map((n) => `${once}/${plain}/${w}/${n}`)));
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

    const svg = readFileSync(join(out, 'latest.svg'), 'utf8');
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    for (const workload of WORKLOAD_NAMES) expect(svg).toContain(`>${workload}</text>`);
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
      '†: not paired: the two separate cells of the multi-process run, one after the other (noisy).',
    ]);
  });

  it('says nothing without paired cells', () => {
    expect(exactlyOnceCost({ paired: [], multiProcess: [cell('hot-key', 'transact-lock', 128, 900, { processes: 4 })] })).toEqual([]);
    expect(exactlyOnceCost({ multiProcess: [] })).toEqual([]);
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

  it('runs each op on the side of the slice it starts in, all workers together, and counts each side apart', async () => {
    const op: Op = { keys: ['k'], reads: ['k'], decide: () => [], luaArgs: [] };
    const cell: WorkloadCell = { init: () => Promise.resolve(), nextOp: () => op, check: () => Promise.resolve({ ok: true, detail: '' }) };
    let perfStart = 0;
    const misplaced: string[] = [];
    const side = (index: 0 | 1): ContenderCell => ({
      run: async (_op, worker) => {
        const started = performance.now() - perfStart;
        // Away from a switch (1 ms of slack for the epoch → performance clock conversion), the side must be the slice's.
        const slot = started % 20;
        if (slot > 1 && slot < 19 && index !== pairedSide(started, 20)) misplaced.push(`worker ${worker} on ${index} at ${started.toFixed(1)}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
        return { committed: true, attempts: 1 };
      },
      teardown: () => Promise.resolve(),
    });
    const startAt = Date.now() + 20;
    perfStart = performance.now() + 20;
    const [plain, once] = await drivePairedCell([side(0), side(1)], cell, 4, { startAt, warmupMs: 40, durationMs: 200, drainMs: 1000 }, 20);
    expect(misplaced).toEqual([]);
    expect(plain.committed).toBeGreaterThan(20);
    expect(once.committed).toBeGreaterThan(20);
    // Warm-up ops count for the invariant, not for the window.
    expect(plain.totalCommitted + once.totalCommitted).toBeGreaterThan(plain.committed + once.committed);
    expect(plain.errors + once.errors).toBe(0);
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
});
