import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createTransactor, InvalidOptionsError, TransactUsageError } from '../../lib';
import { injectFaults } from '../../lib/testing';
import { commandCalls, useRedis, waitFor } from '../support/redis';
import { describeFaults } from './fault-scenarios';

const redis = useRedis();

describe('injectFaults on one redis-server', () => {
  describeFaults(() => ({
    transactor: (options) => redis.transactor(options),
    get: async (key) => (await redis.connect()).get(key),
    lockKeys: async () => (await redis.connect()).keys('rtlock:lock:*'),
    keys: () => {
      const id = randomUUID().slice(0, 8);
      return [`orders:${id}:count`, `orders:${id}:log`];
    },
  }));
});

// What the kit catches (fn run again under injected conflicts), for every client:
// spec/clients/transactions.spec.ts.
describe('the plan', () => {
  it('as a function picks faults per call and attempt', async () => {
    const faulty = injectFaults(await redis.transactor({ retry: { backoff: 'none' } }), (call, attempt) =>
      call.number === 2 && attempt < 3 ? { conflict: true } : undefined,
    );
    const incr = (t: { write: { incr(key: string): unknown } }) => void t.write.incr('n');

    const attempts = [];
    for (let i = 0; i < 3; i++) attempts.push((await faulty.transact(['n'], incr)).attempts);

    expect(attempts).toEqual([1, 3, 1]);
    expect(await (await redis.connect()).get('n')).toBe('3');
    expect(faulty.faults).toEqual([
      { call: 2, attempt: 1, keys: ['n'], kind: 'conflict', key: 'n' },
      { call: 2, attempt: 2, keys: ['n'], kind: 'conflict', key: 'n' },
    ]);
  });

  it('delays an attempt at the phase it names, and logs it', async () => {
    const faulty = injectFaults(await redis.transactor(), { delayMs: 30, at: 'exec' });
    const started = performance.now();

    await faulty.transact(['n'], (t) => void t.write.incr('n'));

    expect(performance.now() - started).toBeGreaterThanOrEqual(29); // a sleep never ends early
    expect(faulty.faults).toEqual([expect.objectContaining({ kind: 'delay', phase: 'exec', ms: 30 })]);
  });

  it.each([
    [{ conflicts: -1 }, 'plan.conflicts: must be a whole number from 0 to 1000, got -1'],
    [{ conflicts: 1.5 }, 'plan.conflicts: must be a whole number from 0 to 1000, got 1.5'],
    [{ lostReply: 'maybe' }, "plan.lostReply: must be 'committed' or 'not-committed', got \"maybe\""],
    [{ delayMs: 2 ** 31 }, 'plan.delayMs: must be at most 2147483647'],
    [{ deadline: 'commit' }, "plan.deadline: must be 'read' or 'exec', got \"commit\""],
    [{ conflict: true }, 'plan.conflict: is not a known option'],
  ])('refuses the plan %j naming the field and the reason', async (plan, message) => {
    const tx = await redis.transactor();
    expect(() => injectFaults(tx, plan as never)).toThrow(InvalidOptionsError);
    expect(() => injectFaults(tx, plan as never)).toThrow(message);
  });

  it('refuses what is not a transactor', () => {
    expect(() => injectFaults({} as never, {})).toThrow('tx: must be a transactor made by createTransactor');
  });

  it('refuses a bad pick of a plan function before anything is sent', async () => {
    const admin = await redis.connect();
    const faulty = injectFaults(await redis.transactor(), () => ({ delayMs: -1 }));
    const watches = await commandCalls(admin, 'watch');

    await expect(faulty.transact(['n'], (t) => void t.write.incr('n'))).rejects.toThrow(
      'plan(call 1, attempt 1).delayMs: must be a whole number of milliseconds, 0 or more, got -1',
    );

    expect(await commandCalls(admin, 'watch')).toBe(watches);
    expect(await admin.get('n')).toBeNull();
  });

  it('refuses a deadline fault for a call that has no deadline, before anything is sent', async () => {
    const admin = await redis.connect();
    const faulty = injectFaults(await redis.transactor(), { conflicts: 1, deadline: 'read' });
    const watches = await commandCalls(admin, 'watch');

    await expect(faulty.transact(['n'], (t) => void t.write.incr('n'))).rejects.toBeInstanceOf(TransactUsageError);

    expect(await commandCalls(admin, 'watch')).toBe(watches);
  });
});

describe('with no faults planned', () => {
  it('returns what tx returns and shares its stats, hooks and close()', async () => {
    const client = await redis.connect();
    const tx = createTransactor(client);
    const faulty = injectFaults(tx, {});

    const result = await faulty.transact(['n'], (t) => {
      t.write.incr('n');
      return 'done';
    });

    expect(result).toEqual({ value: 'done', replies: [1], attempts: 1, repliesLost: false });
    expect(tx.stats().commits).toBe(1);
    expect(faulty.retryPolicy).toBe(tx.retryPolicy);
    await faulty.close();
    await expect(tx.transact(['n'], () => undefined)).rejects.toThrow('the transactor is closed');
  });
});

describe('faults that cannot happen are not claimed', () => {
  it('logs no conflict for an optimistic attempt that queued nothing (no EXEC to abort)', async () => {
    const faulty = injectFaults(await redis.transactor(), { conflicts: 1 });

    const result = await faulty.transact(['n'], (t) => t.read.get('n'));

    expect(result.attempts).toBe(1);
    expect(faulty.faults).toEqual([]);
  });

  it('logs the conflict of a lock-mode attempt that queued nothing: its EXEC (the release) aborted', async () => {
    const faulty = injectFaults(await redis.transactor({ retry: { backoff: 'none' } }), { conflicts: 1 });

    const result = await faulty.transact(['n'], (t) => t.read.get('n'), { mode: 'lock' });

    expect(result.attempts).toBe(2);
    expect(faulty.faults).toEqual([expect.objectContaining({ kind: 'conflict', attempt: 1 })]);
  });

  it('leaves out of withLock what a plan object names for transactions', async () => {
    const faulty = injectFaults(await redis.transactor(), { conflicts: 1, lostReply: 'committed', delayMs: 5, at: 'exec' });

    await expect(faulty.withLock(['r'], () => 'ran')).resolves.toBe('ran');

    expect(faulty.faults).toEqual([]);
  });

  it.each([[{ conflict: true }], [{ lostReply: 'committed' as const }], [{ deadline: 'read' as const }], [{ delayMs: 5, at: 'exec' as const }]])(
    'refuses %j picked by a plan function for withLock, before the lock is taken',
    async (pick) => {
      const admin = await redis.connect();
      const faulty = injectFaults(await redis.transactor(), () => pick);
      let ran = false;

      await expect(faulty.withLock(['r'], () => void (ran = true))).rejects.toThrow(/^withLock takes only the faults lockLost and delayMs/);

      expect(ran).toBe(false);
      expect(await admin.keys('rtlock:*')).toEqual([]);
    },
  );
});

describe('faults among concurrent calls', () => {
  it.each(['optimistic', 'lock', 'auto'] as const)(
    'in %s mode, exactly-once calls through the kit and through tx on one key: every commit counted once, nothing left behind',
    async (mode) => {
      const admin = await redis.connect();
      const clientsBefore = (await admin.clientList()).length;
      const client = await redis.connect();
      const tx = createTransactor(client, { retry: { maxAttempts: 50, backoff: 'none' } });
      const kinds = ['conflict', 'committed', 'not-committed', 'deadline'] as const;
      const faulty = injectFaults(tx, (call, attempt) => {
        if (attempt > 1) return undefined; // a function's pick holds for one attempt: the retry goes through
        const kind = kinds[call.number % kinds.length];
        if (kind === 'conflict') return { conflict: true };
        if (kind === 'deadline') return { deadline: 'exec' };
        return { lostReply: kind };
      });
      const increment = (via: typeof tx) =>
        via.transact(['n'], async (t) => {
          const n = Number(await t.read.get('n'));
          t.write.set('n', String(n + 1));
        }, { mode, exactlyOnce: true, retry: { deadlineMs: 2_000 } });

      const outcomes = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) => increment(i % 2 === 0 ? faulty : tx)),
      );

      // Exactly-once settles every lost reply and every EXEC a deadline cut off: all commit.
      const failed = outcomes.filter((o) => o.status === 'rejected').map((o) => String((o).reason));
      expect(failed).toEqual([]);
      expect(await admin.get('n')).toBe('40');
      expect(new Set(faulty.faults.map((f) => f.kind))).toEqual(new Set(['conflict', 'lost-reply', 'deadline']));
      await tx.close();
      expect(await admin.keys('rtlock:lock:*')).toEqual([]);
      await waitFor(async () => (await admin.clientList()).length === clientsBefore + 1, 'the transactor’s connections to close');
    },
  );
});
