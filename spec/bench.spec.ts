import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { probeCallOptions, probeFailure, type ProbeOutcome } from '../bench/contenders/transact-core';
import type { CellStats } from '../bench/measure';
import { EXACTLY_ONCE_PAIRS, exactlyOnceCost } from '../bench/report/markdown';
import type { BenchReport, CellRecord } from '../bench/report/results';
import { CONTENDER_NAMES, type ContenderName, WORKLOAD_NAMES, type WorkloadName } from '../bench/types';
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

    const markdown = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(markdown).toMatch(/^## exactly-once cost$/m);
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

  it('pairs every -once contender with the contender it varies', () => {
    expect(EXACTLY_ONCE_PAIRS).toEqual([
      ['transact-optimistic', 'transact-optimistic-once'],
      ['transact-lock', 'transact-lock-once'],
    ]);
  });

  it('divides X-once by X per workload and c, in run order, with the multi-process cell last', () => {
    const lines = exactlyOnceCost({
      cells: [
        cell('hot-key', 'lua', 1, 4000),
        cell('hot-key', 'transact-optimistic', 1, 2000),
        cell('hot-key', 'transact-optimistic-once', 1, 1900),
        cell('hot-key', 'transact-lock', 1, 1000),
        cell('hot-key', 'transact-lock-once', 1, 1000),
        cell('hot-key', 'transact-optimistic', 128, 2500),
        cell('hot-key', 'transact-optimistic-once', 128, 2000, { ok: false }),
        cell('hot-key', 'transact-lock', 128, 2000),
        cell('hot-key', 'transact-lock-once', 128, null),
        cell('spread', 'lua', 1, 5000), // no pair ran here: no row
      ],
      multiProcess: [
        cell('hot-key', 'transact-optimistic', 128, 1000, { processes: 4 }),
        cell('hot-key', 'transact-optimistic-once', 128, 1100, { processes: 4 }),
      ],
    });
    expect(lines.slice(2)).toEqual([
      '| workload | c | transact-optimistic-once ÷ transact-optimistic | transact-lock-once ÷ transact-lock |',
      '| --- | --: | --: | --: |',
      '| hot-key | 1 | 0.95× | 1.00× |',
      '| hot-key | 128 | 0.80× ⚠ | – |',
      '| hot-key | 128 (4 proc) | 1.10× | – |',
    ]);
  });

  it('leaves out a pair that never ran both sides, and says nothing when no pair did', () => {
    const onlyOptimistic = exactlyOnceCost({
      cells: [cell('spread', 'transact-optimistic', 8, 3000), cell('spread', 'transact-optimistic-once', 8, 2700), cell('spread', 'transact-lock', 8, 2000)],
      multiProcess: [],
    });
    expect(onlyOptimistic.slice(2)).toEqual([
      '| workload | c | transact-optimistic-once ÷ transact-optimistic |',
      '| --- | --: | --: |',
      '| spread | 8 | 0.90× |',
    ]);
    expect(exactlyOnceCost({ cells: [cell('bank', 'transact-lock', 1, 900), cell('bank', 'transact-lock-once', 1, null)], multiProcess: [] })).toEqual([]);
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
