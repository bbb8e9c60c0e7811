import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { BenchReport } from '../bench/report/results';
import { CONTENDER_NAMES, WORKLOAD_NAMES } from '../bench/types';

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
