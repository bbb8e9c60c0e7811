import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { commandCalls, useRedis } from './support/redis';

const run = promisify(execFile);
const root = resolve(__dirname, '..');
const tsx = resolve(root, 'node_modules', '.bin', 'tsx');
const redis = useRedis();

/** A summary row of the inventory example: `  <label, padded to 24> <value>`. */
function row(label: string, value: string | number): RegExp {
  const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^  ${escaped(label.padEnd(24))} ${escaped(String(value))}$`, 'm');
}

describe('examples/inventory-decrement.ts', () => {
  it('sells the whole stock to concurrent buyers without overselling, and says so', async () => {
    const env = { ...process.env };
    delete env.REDIS_URL; // always its own embedded redis-server here
    const { stdout } = await run(tsx, ['examples/inventory-decrement.ts', '--buyers', '120', '--stock', '30', '--concurrency', '40'], {
      cwd: root,
      env,
    });

    expect(stdout).toMatch(row('sold', 30));
    expect(stdout).toMatch(row('stock left', 0));
    expect(stdout).toMatch(row('orders recorded', 30));
    expect(stdout).toMatch(row('oversold', 0));
    expect(stdout).not.toMatch(/FAIL/);
  });

  it.each(['ioredis', 'iovalkey'])('does the same with the purchases on %s (--client)', async (client) => {
    const env = { ...process.env };
    delete env.REDIS_URL;
    const { stdout } = await run(tsx, ['examples/inventory-decrement.ts', '--client', client, '--buyers', '120', '--stock', '30', '--concurrency', '40'], {
      cwd: root,
      env,
    });

    expect(stdout).toMatch(new RegExp(`optimistic mode, on an embedded redis-server with ${client}$`, 'm'));
    expect(stdout).toMatch(row('sold', 30));
    expect(stdout).toMatch(row('stock left', 0));
    expect(stdout).toMatch(row('orders recorded', 30));
    expect(stdout).toMatch(row('oversold', 0));
    expect(stdout).not.toMatch(/FAIL/);
  });

  it('runs every buyer process on the client named (--client ioredis --processes 2)', async () => {
    const admin = await redis.connect();
    // ioredis checks every connection it opens with INFO before using it; node-redis (the
    // example's own set-up and checks) sends none. (Reading the count is one INFO more.)
    const infoBefore = await commandCalls(admin, 'info');
    const { stdout } = await run(
      tsx,
      ['examples/inventory-decrement.ts', '--client', 'ioredis', '--processes', '2', '--buyers', '80', '--stock', '20', '--concurrency', '20', '--mode', 'auto'],
      { cwd: root, env: { ...process.env, REDIS_URL: redis.url } },
    );

    expect(stdout).toMatch(/over 2 processes, auto mode, on redis:\/\/\S+ with ioredis$/m);
    expect(stdout).toMatch(row('sold', 20)); // summed over both processes
    expect(stdout).toMatch(row('turned away (sold out)', 60));
    expect(stdout).toMatch(row('gave up', 0));
    expect(stdout).toMatch(row('oversold', 0));
    expect(stdout).toMatch(row('orders recorded', 20));
    expect(stdout).toMatch(/^ {4}p1 {2}1× {5}█+ \d+$/m);
    expect(stdout).toMatch(/^ {4}p2 {2}1× {5}█+ \d+$/m);
    expect(stdout).not.toMatch(/FAIL/);
    // Each child's ioredis instance and the transactor's duplicates of it.
    expect((await commandCalls(admin, 'info')) - infoBefore - 1).toBeGreaterThanOrEqual(2);
  });

  it('does the same in lock mode', async () => {
    const { stdout } = await run(tsx, ['examples/inventory-decrement.ts', '--buyers', '60', '--stock', '20', '--mode', 'lock'], { cwd: root });

    expect(stdout).toMatch(/lock mode/);
    expect(stdout).toMatch(row('oversold', 0));
    expect(stdout).toMatch(row('orders recorded', 20));
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
    expect(stdout).toMatch(row('sold', 20)); // summed over both processes
    expect(stdout).toMatch(row('turned away (sold out)', 60));
    expect(stdout).toMatch(row('gave up', 0));
    expect(stdout).toMatch(row('oversold', 0));
    expect(stdout).toMatch(row('orders recorded', 20));
    expect(stdout).toMatch(/^ {2}escalations {14}\d+$/m);
    // Progress per process while it ran, and the chart of attempts per purchase, by process.
    expect(stdout).toMatch(/^ {2}\d+\/80 \(\d+%\) · sold \d+\/20 · turned away \d+ · p1 \d+\/40 p2 \d+\/40$/m);
    expect(stdout).toMatch(/^ {2}attempts per purchase, by process$/m);
    expect(stdout).toMatch(/^ {4}p1 {2}1× {5}█+ \d+$/m);
    expect(stdout).toMatch(/^ {4}p2 {2}1× {5}█+ \d+$/m);
    expect(stdout).not.toMatch(/FAIL/);
  });

  it('runs the purchases exactly-once, and counts lost replies and unknown outcomes (--exactly-once)', async () => {
    const env = { ...process.env };
    delete env.REDIS_URL;
    const { stdout } = await run(tsx, ['examples/inventory-decrement.ts', '--exactly-once', '--buyers', '60', '--stock', '20'], { cwd: root, env });

    expect(stdout).toMatch(/optimistic mode, exactly-once, on/);
    expect(stdout).toMatch(row('sold', 20));
    expect(stdout).toMatch(row('oversold', 0));
    expect(stdout).toMatch(row('orders recorded', 20));
    expect(stdout).toMatch(row('replies lost, settled', '0 (committed, with repliesLost: true)')); // no connection drops here
    expect(stdout).toMatch(row('outcome unknown', 0));
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
    expect(stdout).toMatch(row('oversold', 0));
    expect(stdout).toMatch(row('orders recorded', 20));
    expect(stdout).toMatch(row('outcome unknown', 0));
    expect(stdout).not.toMatch(/FAIL/);
  });

  it('exits 2 and names the flag when a flag is bad', async () => {
    const failure = run(tsx, ['examples/inventory-decrement.ts', '--buyers', 'many'], { cwd: root });
    await expect(failure).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--buyers') });
    const client = run(tsx, ['examples/inventory-decrement.ts', '--client', 'jedis'], { cwd: root });
    await expect(client).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^--client: .*node-redis.*ioredis.*iovalkey/m) });
  });

  it('lists every flag with --help, and answers an unknown flag with the list, not a stack trace', async () => {
    const { stdout } = await run(tsx, ['examples/inventory-decrement.ts', '--help'], { cwd: root });
    for (const flag of ['--buyers', '--stock', '--concurrency', '--mode', '--client', '--processes', '--exactly-once', '--retry-policy', '--keep', '--help']) {
      expect(stdout).toContain(flag);
    }
    const unknown = await run(tsx, ['examples/inventory-decrement.ts', '--nope'], { cwd: root }).catch((err: { code: number; stderr: string }) => err);
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--nope'") });
    expect((unknown as { stderr: string }).stderr).toContain('--exactly-once');
    expect((unknown as { stderr: string }).stderr).not.toMatch(/^\s+at /m);
  });

  it('leaves on the server only what the README says (lock mode over two processes)', async () => {
    const admin = await redis.connect();
    await run(tsx, ['examples/inventory-decrement.ts', '--processes', '2', '--buyers', '80', '--stock', '20', '--mode', 'lock'], {
      cwd: root,
      env: { ...process.env, REDIS_URL: redis.url },
    });
    expect((await admin.keys('*')).filter((key) => key !== 'rtlock:counters')).toEqual([]);
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

describe('examples/testing (node:test files, run with tsx --test)', () => {
  /** The count a node:test reporter gives for `label` (TAP `# pass 3`, spec `ℹ pass 3`). */
  function count(output: string, label: 'pass' | 'fail'): number | undefined {
    const found = new RegExp(`^(?:# |ℹ )${label} (\\d+)$`, 'm').exec(output);
    return found ? Number(found[1]) : undefined;
  }

  it.each(['retry-safe-fn.test.ts', 'side-effect-once.test.ts', 'unknown-outcome.test.ts'])('%s passes against the spec’s Redis', async (file) => {
    const admin = await redis.connect();
    const execsBefore = await commandCalls(admin, 'exec');
    const { stdout } = await run(tsx, ['--test', `examples/testing/${file}`], {
      cwd: root,
      env: { ...process.env, REDIS_URL: redis.url },
    }); // rejects (and fails the test) unless it exits 0

    expect(count(stdout, 'pass')).toBeGreaterThanOrEqual(1);
    expect(count(stdout, 'fail')).toBe(0);
    expect(await commandCalls(admin, 'exec')).toBeGreaterThan(execsBefore); // it ran on REDIS_URL's server
  });
});
