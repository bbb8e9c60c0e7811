import { createTransactor, type EscalationEvent } from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { recorder } from '../support/hook-recorder';
import { commandCalls, commandsProcessed, useRedis, waitFor } from '../support/redis';

const redis = useRedis();

// Escalating after conflicts with another process, for every client: spec/clients/locks.spec.ts.
describe("mode: 'auto'", () => {
  it('does not escalate on conflicts its own process caused (overlapping key sets of one transactor)', async () => {
    const { hooks, of } = recorder();
    const tx = createTransactor(await redis.connect(), { hooks, auto: { escalateAfter: 2 }, retry: { backoff: 'none' } });

    const result = await tx.transact(['x', 'y'], async (t) => {
      const v = Number(await t.read.get('x'));
      // The same process, on an overlapping key set (another lane), wins twice.
      if (t.attempt <= 2) await tx.transact(['x'], (o) => void o.write.incr('x'));
      t.write.set('x', String(v + 100));
    }, { mode: 'auto' });

    expect(result.attempts).toBe(3);
    expect(of<{ mode: string }>('onAttempt').map((e) => e.mode)).toEqual([
      'optimistic', 'optimistic', 'optimistic', 'optimistic', 'optimistic',
    ]); // the two inner calls and three outer attempts, none under a lock
    expect(of<EscalationEvent>('onEscalate')).toEqual([]);
    expect(of('onConflict')).toHaveLength(2);
    await tx.close();
  });

  it('waits behind an escalated holder instead of competing with it (lock-aware, no extra round trip)', async () => {
    const admin = await redis.connect();
    const holderTx = createTransactor(await redis.connect());
    const { hooks, events, of } = recorder();
    // A cool-down long enough that the contention below still counts when the call starts.
    const tx = createTransactor(await redis.connect(), { hooks, auto: { coolDownMs: 600_000 }, retry: { backoff: 'none' } });
    // The keys meet contention (one conflict: no escalation), so their attempts read the lock keys.
    await tx.transact(['doc'], async (t) => {
      await t.read.get('doc');
      if (t.attempt === 1) await admin.set('doc', 'other');
      t.write.del('doc');
    }, { mode: 'auto' });
    events.length = 0;
    const held = await holderTx.lock(['doc'], { ttlMs: 60_000 });
    const order: string[] = [];

    const waiting = tx.transact(['doc'], async (t) => {
      const v = await t.read.get('doc');
      order.push(`auto attempt ${t.attempt} read ${v}`);
      t.write.set('doc', 'auto');
    }, { mode: 'auto' });
    await waitFor(async () => (await admin.zCard(resourceKeys('doc').queue)) === 1, 'the auto call to queue behind the holder');
    await admin.set('doc', 'holder'); // the holder's work
    order.push('holder releases');
    await held.release();
    await waiting;

    expect(order).toEqual(['auto attempt 1 read null', 'holder releases', 'auto attempt 2 read holder']);
    expect(of<EscalationEvent>('onEscalate')).toEqual([{ keys: ['doc'], attempt: 1, reason: 'lock-held' }]);
    expect(of('onConflict')).toEqual([]); // it never competed: no EXEC was sent while the lock was held
    expect(await admin.get('doc')).toBe('auto');
    await tx.close();
    await holderTx.close();
  });

  it('is lock-aware only where contention was met: an uncontended attempt costs what an optimistic one does', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect(), { retry: { backoff: 'none' } });
    const increment = (key: string, mode: 'auto' | 'optimistic', conflictAtFirst = false) =>
      tx.transact([key], async (t) => {
        const v = Number(await t.read.get(key));
        if (conflictAtFirst && t.attempt === 1) await admin.incr(key);
        t.write.set(key, String(v + 1));
      }, { mode });
    const commands = async (run: () => Promise<unknown>) => {
      const before = await commandsProcessed(admin);
      await run();
      return (await commandsProcessed(admin)) - before - 1; // the INFO that asks
    };
    const calls = (mode: 'auto' | 'optimistic') => async () => {
      for (let i = 0; i < 20; i++) await increment(`${mode}:${i}`, mode);
    };

    await increment('warm-up', 'optimistic'); // the dedicated connection's own set-up commands
    // 20 uncontended calls: the same commands in auto mode as in optimistic mode, no lock read.
    const mgets = await commandCalls(admin, 'mget');
    expect(await commands(calls('auto'))).toBe(await commands(calls('optimistic')));
    expect(await commandCalls(admin, 'mget')).toBe(mgets);

    // A conflict with another process: the call's next attempt reads the lock keys, and so do the
    // keys' next calls within the cool-down; other keys are not concerned.
    expect((await increment('auto:0', 'auto', true)).attempts).toBe(2);
    expect(await commandCalls(admin, 'mget')).toBe(mgets + 1);
    await increment('auto:0', 'auto');
    expect(await commandCalls(admin, 'mget')).toBe(mgets + 2);
    await increment('auto:1', 'auto');
    expect(await commandCalls(admin, 'mget')).toBe(mgets + 2);
    expect(await admin.mGet(['auto:0', 'auto:1'])).toEqual(['4', '2']);
    await tx.close();
  });

  it('an uncontended attempt that commits while another process holds the lock costs the holder one retry, and nothing is lost', async () => {
    const admin = await redis.connect();
    const holder = createTransactor(await redis.connect(), { retry: { backoff: 'none' } });
    const tx = createTransactor(await redis.connect());
    let autoCall: Promise<unknown> | undefined;
    const held = await holder.transact(['doc'], async (t) => {
      const v = (await t.read.get('doc')) ?? '';
      // Another process's first call on the keys, between the holder's WATCH and EXEC.
      if (t.attempt === 1) await (autoCall = tx.transact(['doc'], async (a) => {
        a.write.set('doc', `${(await a.read.get('doc')) ?? ''}auto;`);
      }, { mode: 'auto' }));
      t.write.set('doc', `${v}holder;`);
    }, { mode: 'lock' });

    expect(held).toMatchObject({ attempts: 2 }); // its fenced EXEC aborted, and it retried under its lock
    expect(await autoCall).toMatchObject({ attempts: 1 });
    expect(await admin.get('doc')).toBe('auto;holder;');
    await tx.close();
    await holder.close();
  });

  it('starts hot keys in lock mode, and goes back to optimistic once the lock keeps coming free', async () => {
    const other = await redis.connect();
    const { hooks, of } = recorder();
    const tx = createTransactor(await redis.connect(), { hooks, auto: { escalateAfter: 1, relaxAfter: 3 }, retry: { backoff: 'none' } });
    const increment = (contend: boolean) =>
      tx.transact(['k'], async (t) => {
        const v = Number(await t.read.get('k'));
        if (contend && t.attempt === 1) await other.incr('k');
        t.write.set('k', String(v + 1));
      }, { mode: 'auto' });

    await increment(true); // escalates after one conflict
    for (let i = 0; i < 3; i++) await increment(false); // hot: lock mode from the start, lock always free
    await increment(false); // relaxed: optimistic again

    const modes = of<{ mode: string; attempt: number }>('onAttempt').map((e) => e.mode);
    expect(modes).toEqual(['optimistic', 'lock', 'lock', 'lock', 'lock', 'optimistic']);
    // One switch: the calls that start hot never were optimistic, so they are no escalations.
    expect(of<EscalationEvent>('onEscalate')).toEqual([{ keys: ['k'], attempt: 1, reason: 'conflicts' }]);
    expect(tx.stats()).toMatchObject({ calls: 5, escalations: 1, conflicts: 1 });
    expect(of('onDeescalate')).toEqual([{ keys: ['k'] }]);
    expect(await other.get('k')).toBe('6');
    await tx.close();
  });

  it('is the default mode; the transactor\'s mode option sets another default, and a call\'s mode overrides it', async () => {
    const other = await redis.connect();
    const run = async (options: Parameters<typeof createTransactor>[1], callMode?: 'optimistic' | 'lock' | 'auto') => {
      const { hooks, of } = recorder();
      const tx = createTransactor(await redis.connect(), { ...options, hooks, retry: { backoff: 'none' } });
      await tx.transact(['d'], async (t) => {
        const v = Number(await t.read.get('d'));
        if (t.attempt <= 2) await other.incr('d'); // another process wins twice
        t.write.set('d', String(v + 100));
      }, callMode === undefined ? undefined : { mode: callMode });
      await tx.close();
      return of<{ mode: string }>('onAttempt').map((e) => e.mode);
    };
    // Auto mode: two conflicts with another process, then lock mode.
    expect(await run({})).toEqual(['optimistic', 'optimistic', 'lock']);
    expect(await run({ mode: 'optimistic' })).toEqual(['optimistic', 'optimistic', 'optimistic']);
    expect(await run({ mode: 'lock' })).toEqual(['lock', 'lock', 'lock']);
    expect(await run({ mode: 'optimistic' }, 'auto')).toEqual(['optimistic', 'optimistic', 'lock']);
    expect(() => createTransactor(other, { mode: 'fast' as never })).toThrow(
      'invalid options: options.mode: must be "optimistic", "lock" or "auto", got "fast"',
    );
  });

  it('keeps every caller within the attempt budget under sustained contention from two processes', async () => {
    const admin = await redis.connect();
    // Two transactors with their own connections stand for two processes on one hot key.
    const processes = [createTransactor(await redis.connect()), createTransactor(await redis.connect())];
    const policy = { maxAttempts: 4, backoff: 'none' as const };

    await Promise.all(
      processes.flatMap((tx) =>
        Array.from({ length: 60 }, () =>
          tx.transact(['stock'], async (t) => {
            const n = Number(await t.read.get('stock'));
            t.write.set('stock', String(n + 1));
          }, { mode: 'auto', retry: policy }),
        ),
      ),
    );

    expect(await admin.get('stock')).toBe('120'); // every call committed: none ran out of attempts
    const stats = processes.map((tx) => tx.stats());
    for (const [i, s] of stats.entries()) {
      expect({ process: i, commits: s.commits, failures: s.failures }).toEqual({ process: i, commits: 60, failures: 0 });
    }
    // The contention was real, and auto mode answered it by escalating.
    expect(stats.reduce((sum, s) => sum + s.conflicts, 0)).toBeGreaterThan(0);
    expect(stats.reduce((sum, s) => sum + s.escalations, 0)).toBeGreaterThan(0);
    await Promise.all(processes.map((tx) => tx.close()));
  });
});
