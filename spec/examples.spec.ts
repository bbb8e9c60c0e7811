import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(__dirname, '..');
const tsx = resolve(root, 'node_modules', '.bin', 'tsx');

describe('examples/inventory-decrement.ts', () => {
  it('sells the whole stock to concurrent buyers without overselling, and says so', async () => {
    const env = { ...process.env };
    delete env.REDIS_URL; // always its own embedded redis-server here
    const { stdout } = await run(tsx, ['examples/inventory-decrement.ts', '--buyers', '120', '--stock', '30', '--concurrency', '40'], {
      cwd: root,
      env,
    });

    expect(stdout).toMatch(/^ {2}sold {14}30$/m);
    expect(stdout).toMatch(/^ {2}stock left {8}0$/m);
    expect(stdout).toMatch(/^ {2}orders recorded {3}30$/m);
    expect(stdout).toMatch(/^ {2}oversold {10}0$/m);
    expect(stdout).not.toMatch(/FAIL/);
  });

  it('does the same in lock mode', async () => {
    const { stdout } = await run(tsx, ['examples/inventory-decrement.ts', '--buyers', '60', '--stock', '20', '--mode', 'lock'], { cwd: root });

    expect(stdout).toMatch(/lock mode/);
    expect(stdout).toMatch(/^ {2}oversold {10}0$/m);
    expect(stdout).toMatch(/^ {2}orders recorded {3}20$/m);
    expect(stdout).not.toMatch(/FAIL/);
  });

  it('splits the buyers over several processes sharing the one Redis, and sums them up (--processes)', async () => {
    const env = { ...process.env };
    delete env.REDIS_URL;
    const { stdout } = await run(
      tsx,
      ['examples/inventory-decrement.ts', '--processes', '2', '--buyers', '80', '--stock', '20', '--concurrency', '20', '--mode', 'auto'],
      { cwd: root, env },
    );

    expect(stdout).toMatch(/over 2 processes, auto mode/);
    expect(stdout).toMatch(/^ {2}sold {14}20$/m); // summed over both processes
    expect(stdout).toMatch(/^ {2}sold out \(turned away\) 60, gave up 0$/m);
    expect(stdout).toMatch(/^ {2}oversold {10}0$/m);
    expect(stdout).toMatch(/^ {2}orders recorded {3}20$/m);
    expect(stdout).toMatch(/^ {2}escalations {7}\d+$/m);
    expect(stdout).not.toMatch(/FAIL/);
  });

  it('runs the purchases exactly-once, and counts lost replies and unknown outcomes (--exactly-once)', async () => {
    const env = { ...process.env };
    delete env.REDIS_URL;
    const { stdout } = await run(tsx, ['examples/inventory-decrement.ts', '--exactly-once', '--buyers', '60', '--stock', '20'], { cwd: root, env });

    expect(stdout).toMatch(/optimistic mode, exactly-once, on/);
    expect(stdout).toMatch(/^ {2}sold {14}20$/m);
    expect(stdout).toMatch(/^ {2}oversold {10}0$/m);
    expect(stdout).toMatch(/^ {2}orders recorded {3}20$/m);
    expect(stdout).toMatch(/^ {2}replies lost, settled as committed 0$/m); // no connection drops here
    expect(stdout).toMatch(/^ {2}outcome unknown {3}0$/m);
    expect(stdout).toMatch(/^ {2}ok {3}no purchase left with its outcome unknown/m);
    expect(stdout).not.toMatch(/FAIL/);
  });

  it('does the same exactly-once in lock mode', async () => {
    const env = { ...process.env };
    delete env.REDIS_URL;
    const { stdout } = await run(tsx, ['examples/inventory-decrement.ts', '--exactly-once', '--buyers', '60', '--stock', '20', '--mode', 'lock'], {
      cwd: root,
      env,
    });

    expect(stdout).toMatch(/lock mode, exactly-once, on/);
    expect(stdout).toMatch(/^ {2}oversold {10}0$/m);
    expect(stdout).toMatch(/^ {2}orders recorded {3}20$/m);
    expect(stdout).toMatch(/^ {2}outcome unknown {3}0$/m);
    expect(stdout).not.toMatch(/FAIL/);
  });

  it('exits 2 and names the flag when a flag is bad', async () => {
    const failure = run(tsx, ['examples/inventory-decrement.ts', '--buyers', 'many'], { cwd: root });
    await expect(failure).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--buyers') });
  });
});

describe('examples/with-lock-fencing.ts', () => {
  it('shows the stale holder’s late write refused by its fencing token', async () => {
    const { stdout } = await run(tsx, ['examples/with-lock-fencing.ts'], { cwd: root });

    const [, stale, current] = /A: failed: refused "report by A": fencing token (\d+) is older than (\d+)/.exec(stdout) ?? [];
    expect(Number(stale)).toBeLessThan(Number(current));
    expect(stdout).toMatch(/store holds: \["report by B"\]/);
  });
});
