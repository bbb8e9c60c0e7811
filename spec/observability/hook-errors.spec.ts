import {
  createTransactor,
  HOOK_WARNING_CODE,
  HOOK_WARNING_NAME,
  type HookErrorEvent,
  type HookName,
  LockLostError,
  type Transactor,
  type TransactorOptions,
} from '../../lib';
import { HOOK_NAMES } from '../../lib/observability/events';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { useRedis, waitFor } from '../support/redis';

const redis = useRedis();
const realEmitWarning = process.emitWarning;

type Client = Awaited<ReturnType<typeof redis.connect>>;

/** Makes its hook fire (at least once) and asserts the outcome is what it is without hooks. */
type Scenario = (tx: Transactor, admin: Client, fired: () => number) => Promise<void>;

/** A transaction that meets one conflict (a write from another connection on attempt 1), then commits. */
async function conflictThenCommit(tx: Transactor, admin: Client, mode: 'optimistic' | 'auto' = 'optimistic'): Promise<void> {
  const result = await tx.transact(['k'], async (t) => {
    const n = Number(await t.read.get('k'));
    if (t.attempt === 1) await admin.set('k', '10');
    t.write.set('k', String(n + 1));
    return n;
  }, { mode });
  expect(result).toMatchObject({ value: 10, attempts: 2 });
  expect(await admin.get('k')).toBe('11');
}

async function commitOnce(tx: Transactor, admin: Client, mode: 'optimistic' | 'lock' | 'auto' = 'optimistic'): Promise<void> {
  const result = await tx.transact(['k'], (t) => {
    t.write.incr('k');
    return 'done';
  }, { mode });
  expect(result).toEqual({ value: 'done', replies: [expect.any(Number)], attempts: 1, repliesLost: false });
}

const scenarios: Record<HookName, { options?: TransactorOptions; run: Scenario }> = {
  onAttempt: {
    run: async (tx, admin) => {
      await commitOnce(tx, admin);
      expect(tx.stats()).toMatchObject({ calls: 1, commits: 1, failures: 0, attempts: 1 });
    },
  },
  onConflict: {
    run: async (tx, admin) => {
      await conflictThenCommit(tx, admin);
      expect(tx.stats()).toMatchObject({ calls: 1, commits: 1, failures: 0, attempts: 2, conflicts: 1 });
    },
  },
  onRetry: {
    run: async (tx, admin) => {
      await conflictThenCommit(tx, admin);
      expect(tx.stats()).toMatchObject({ calls: 1, commits: 1, failures: 0, attempts: 2, conflicts: 1 });
    },
  },
  onEscalate: {
    options: { auto: { escalateAfter: 1 } },
    run: async (tx, admin) => {
      await conflictThenCommit(tx, admin, 'auto');
      expect(tx.stats()).toMatchObject({ calls: 1, commits: 1, failures: 0, escalations: 1 });
      expect(await admin.exists(resourceKeys('k').lock)).toBe(0);
    },
  },
  onDeescalate: {
    options: { auto: { escalateAfter: 1, relaxAfter: 1 } },
    run: async (tx, admin) => {
      await conflictThenCommit(tx, admin, 'auto'); // escalates: the keys are hot
      await commitOnce(tx, admin, 'auto'); // starts in lock mode, finds the lock free: de-escalates
      expect(tx.stats()).toMatchObject({ calls: 2, commits: 2, failures: 0 });
      expect(await admin.get('k')).toBe('12');
      expect(await admin.exists(resourceKeys('k').lock)).toBe(0);
    },
  },
  onCommit: {
    run: async (tx, admin) => {
      await commitOnce(tx, admin);
      expect(await admin.get('k')).toBe('1');
      expect(tx.stats()).toMatchObject({ calls: 1, commits: 1, failures: 0 });
    },
  },
  onLockWait: {
    run: async (tx, admin, fired) => {
      const holder = await tx.lock(['k']);
      const waiting = commitOnce(tx, admin, 'lock');
      await waitFor(async () => (await admin.exists(resourceKeys('k').queue)) === 1, 'the lock-mode call to queue for the lock');
      expect(await holder.release()).toBe(true); // hands the lock to the waiting call
      await waiting;
      expect(fired()).toBe(1);
      expect(tx.stats()).toMatchObject({ calls: 1, commits: 1, failures: 0, lockWaits: 1, lockWaitsGivenUp: 0 });
      expect(await admin.exists(resourceKeys('k').lock)).toBe(0);
    },
  },
  onLockAcquired: {
    run: async (tx, admin) => {
      const lock = await tx.lock(['r']);
      expect(lock.held).toBe(true);
      expect(await lock.release()).toBe(true);
      expect(await admin.exists(resourceKeys('r').lock)).toBe(0);
      await commitOnce(tx, admin, 'lock'); // lock mode acquires inside the attempt
      expect(await admin.exists(resourceKeys('k').lock)).toBe(0);
      expect(tx.stats()).toMatchObject({ calls: 1, commits: 1, failures: 0 });
    },
  },
  onLockExtended: {
    run: async (tx, _admin, fired) => {
      const lock = await tx.lock(['r'], { ttlMs: 200, autoExtend: true });
      // Renewal goes on past several lease lengths although the hook throws at every one.
      await waitFor(() => fired() === 3, 'three renewals');
      expect(lock.held).toBe(true);
      expect(lock.signal.aborted).toBe(false);
      expect(await lock.release()).toBe(true);
    },
  },
  onLockLost: {
    run: async (tx, _admin, fired) => {
      const lock = await tx.lock(['r'], { ttlMs: 50 }); // not renewed: its expiry timer reports it lost
      await waitFor(() => fired() === 1, 'the expiry timer');
      expect(lock.signal.reason).toBeInstanceOf(LockLostError);
      expect(await lock.release()).toBe(false);
    },
  },
};

describe('a hook that throws changes nothing', () => {
  const failures: unknown[] = [];
  const onFailure = (err: unknown) => failures.push(err);
  // Jest gives each spec file its own \`process\` object, whose 'warning' listeners the real process
  // never calls: watch what the library hands to process.emitWarning instead (still emitted).
  const warnings: Error[] = [];
  let emitWarning: jest.SpiedFunction<typeof process.emitWarning> | undefined;
  const opened: Transactor[] = [];
  beforeEach(() => {
    failures.length = 0;
    warnings.length = 0;
    process.on('uncaughtException', onFailure);
    process.on('unhandledRejection', onFailure);
    emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation((...args: Parameters<typeof process.emitWarning>) => {
      const [warning] = args;
      if (warning instanceof Error && warning.name === HOOK_WARNING_NAME) warnings.push(warning);
      realEmitWarning.apply(process, args);
    });
  });
  afterEach(async () => {
    process.off('uncaughtException', onFailure);
    process.off('unhandledRejection', onFailure);
    emitWarning?.mockRestore();
    await Promise.all(opened.splice(0).map((tx) => tx.close()));
  });

  it('covers every hook', () => {
    expect(Object.keys(scenarios).sort()).toEqual([...HOOK_NAMES].sort());
  });

  async function setUp(hook: HookName, extra: TransactorOptions) {
    const admin = await redis.connect();
    const boom = new Error(`${hook} failed`);
    let fired = 0;
    const tx = createTransactor(await redis.connect(), {
      ...scenarios[hook].options,
      ...extra,
      retry: { backoff: 'none' },
      hooks: {
        [hook]: () => {
          fired++;
          throw boom;
        },
      },
    });
    opened.push(tx);
    return { admin, boom, tx, fired: () => fired };
  }

  it.each(HOOK_NAMES)('%s: the outcome stands, and onHookError gets the error', async (hook) => {
    const reports: HookErrorEvent[] = [];
    const { admin, boom, tx, fired } = await setUp(hook, {
      onHookError: (event) => {
        reports.push(event);
        throw new Error('and onHookError throws too'); // swallowed
      },
    });

    await scenarios[hook].run(tx, admin, fired);

    expect(fired()).toBeGreaterThan(0);
    expect(reports).toHaveLength(fired());
    expect(reports.every((r) => r.hook === hook && r.error === boom && Object.isFrozen(r))).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).toEqual([]);
    expect(failures).toEqual([]);
  });

  it.each(HOOK_NAMES)('%s: the outcome stands, and without onHookError a process warning reports it', async (hook) => {
    const { admin, boom, tx, fired } = await setUp(hook, {});

    await scenarios[hook].run(tx, admin, fired);

    await waitFor(() => warnings.length > 0, 'a warning for the hook error');
    expect(fired()).toBeGreaterThan(0);
    expect(warnings).toHaveLength(1); // once per hook and transactor, however often it throws
    expect(warnings[0]).toMatchObject({ name: HOOK_WARNING_NAME, code: HOOK_WARNING_CODE, hook, cause: boom });
    expect(warnings[0]!.message).toContain(`the ${hook} hook threw`);
    expect(failures).toEqual([]);
  });

  it('warns once per hook, however often it throws (a broken hook on a hot path does not flood stderr)', async () => {
    const { admin, tx, fired } = await setUp('onCommit', {});
    for (let i = 0; i < 5; i++) await tx.transact(['k'], (t) => void t.write.incr('k'));
    expect(fired()).toBe(5);
    expect(await admin.get('k')).toBe('5');
    expect(warnings).toHaveLength(1);
  });

  it('treats a tracer whose spans throw like a hook: the outcome stands, onHookError gets it', async () => {
    const admin = await redis.connect();
    const reports: HookErrorEvent[] = [];
    const span = {
      setAttribute: () => {
        throw new Error('exporter down');
      },
      setStatus: () => undefined,
      recordException: () => undefined,
      end: () => {
        throw new Error('exporter down');
      },
    };
    const tx = createTransactor(await redis.connect(), { tracer: { startSpan: () => span }, onHookError: (e) => reports.push(e) });
    opened.push(tx);
    await expect(tx.transact(['k'], (t) => void t.write.set('k', 'v'))).resolves.toMatchObject({ replies: ['OK'] });
    expect(await admin.get('k')).toBe('v');
    expect(reports.map((r) => r.hook)).toEqual(['tracer', 'tracer']);
    expect(tx.stats().commits).toBe(1);
  });

  it('reports a rejected promise from an async hook the same way', async () => {
    const reports: HookErrorEvent[] = [];
    const boom = new Error('async hook failed');
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect(), {
      // An async hook, as users write them although hooks are typed to return nothing.
      // eslint-disable-next-line @typescript-eslint/no-misused-promises
      hooks: { onCommit: () => Promise.reject(boom) },
      onHookError: (event) => reports.push(event),
    });
    opened.push(tx);

    await commitOnce(tx, admin);
    await waitFor(() => reports.length === 1, 'the rejection to be reported');
    expect(reports[0]).toEqual({ hook: 'onCommit', error: boom });
    expect(failures).toEqual([]);
  });
});
