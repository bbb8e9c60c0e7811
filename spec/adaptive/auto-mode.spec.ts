import {
  createTransactor,
  type EscalationEvent,
  type TransactHooks,
} from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { useRedis, waitFor } from '../support/redis';

const redis = useRedis();

/** Collects the events a transactor reports, by hook name. */
function recorder() {
  const events: Array<[string, unknown]> = [];
  const record = (name: keyof TransactHooks) => (event: unknown) => void events.push([name, event]);
  const hooks: TransactHooks = {
    onAttempt: record('onAttempt'),
    onConflict: record('onConflict'),
    onEscalate: record('onEscalate'),
    onDeescalate: record('onDeescalate'),
    onCommit: record('onCommit'),
  };
  const of = <E>(name: keyof TransactHooks) => events.filter(([n]) => n === name).map(([, e]) => e as E);
  return { hooks, events, of };
}

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
    const { hooks, of } = recorder();
    const tx = createTransactor(await redis.connect(), { hooks });
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
