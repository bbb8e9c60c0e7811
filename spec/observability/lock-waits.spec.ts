import {
  createTransactor,
  type LockWaitEvent,
  LockUnavailableError,
  TransactAbortedError,
  TransactTimeoutError,
  type Transactor,
} from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { useRedis, waitFor } from '../support/redis';

const redis = useRedis();
type Client = Awaited<ReturnType<typeof redis.connect>>;

/** A transactor (as another process would have) that records its lock waits. */
async function watched(): Promise<{ tx: Transactor; waits: LockWaitEvent[] }> {
  const waits: LockWaitEvent[] = [];
  const tx = createTransactor(await redis.connect(), { hooks: { onLockWait: (e) => waits.push(e) } });
  return { tx, waits };
}

const queued = (admin: Client, key: string) => async () => (await admin.exists(resourceKeys(key).queue)) === 1;

describe('lock-mode waits show in hooks and stats', () => {
  it('reports a wait that got the lock: how long, and that it was acquired', async () => {
    const admin = await redis.connect();
    const holder = createTransactor(await redis.connect());
    const { tx, waits } = await watched();
    const lock = await holder.lock(['k']);
    const startedAt = performance.now();
    const call = tx.transact(['k'], (t) => void t.write.incr('k'), { mode: 'lock' });
    await waitFor(queued(admin, 'k'), 'the call to queue for the lock');
    await lock.release(); // hands the lock to the waiting call
    await expect(call).resolves.toMatchObject({ attempts: 1 });
    const elapsed = performance.now() - startedAt;

    expect(waits).toEqual([{ keys: ['k'], waitedMs: expect.any(Number), outcome: 'acquired' }]);
    expect(waits[0]!.waitedMs).toBeGreaterThan(0);
    expect(waits[0]!.waitedMs).toBeLessThanOrEqual(elapsed);
    expect(tx.stats()).toMatchObject({ lockWaits: 1, lockWaitsGivenUp: 0, lockWaitMs: waits[0]!.waitedMs });
    expect(tx.stats().byPrefix['(none)']).toMatchObject({ lockWaits: 1, lockWaitMs: waits[0]!.waitedMs });
    await Promise.all([tx.close(), holder.close()]);
  });

  it('reports no wait for a lock taken at the first try', async () => {
    const { tx, waits } = await watched();
    await tx.transact(['k'], (t) => void t.write.incr('k'), { mode: 'lock' });
    expect(waits).toEqual([]);
    expect(tx.stats()).toMatchObject({ lockWaits: 0, lockWaitsGivenUp: 0, lockWaitMs: 0 });
    await tx.close();
  });

  // The wait must have begun before it ends: a deadline or timeout long enough for the first try
  // on a loaded machine, and the abort sent once the call is seen queued.
  it.each([
    ['timeout', () => ({ lock: { acquireTimeoutMs: 1_000 } }), LockUnavailableError],
    ['stopped', () => ({ retry: { deadlineMs: 1_000 } }), TransactTimeoutError],
    ['stopped', (abort: AbortController) => ({ signal: abort.signal }), TransactAbortedError],
  ] as const)('reports a wait given up (%s) as given up, and nothing of it stays queued', async (outcome, options, errorClass) => {
    const admin = await redis.connect();
    const holder = createTransactor(await redis.connect());
    const { tx, waits } = await watched();
    const lock = await holder.lock(['k'], { ttlMs: 30_000 });
    const abort = new AbortController();
    const call = tx.transact(['k'], (t) => void t.write.incr('k'), { mode: 'lock', ...options(abort) });
    await waitFor(queued(admin, 'k'), 'the call to queue for the lock');
    abort.abort(new Error('given up'));
    await expect(call).rejects.toBeInstanceOf(errorClass);

    expect(waits).toEqual([{ keys: ['k'], waitedMs: expect.any(Number), outcome }]);
    expect(tx.stats()).toMatchObject({ failures: 1, lockWaits: 1, lockWaitsGivenUp: 1 });
    expect(tx.stats().lockWaitMs).toBe(waits[0]!.waitedMs);
    expect(await admin.exists(resourceKeys('k').queue)).toBe(0);
    expect(await admin.get('k')).toBeNull();
    await lock.release();
    await Promise.all([tx.close(), holder.close()]);
  });

  it('reports the waits of auto-mode calls that run under the lock', async () => {
    const admin = await redis.connect();
    const holder = createTransactor(await redis.connect());
    const { tx, waits } = await watched();
    const lock = await holder.lock(['k']);
    // Its first attempt loses to another process, so its retry reads the lock keys: it finds the
    // lock held, gives way and waits under the lock.
    const call = tx.transact(['k'], async (t) => {
      if (t.attempt === 1) await admin.incr('k');
      t.write.incr('k');
    }, { mode: 'auto', retry: { backoff: 'none' } });
    await waitFor(queued(admin, 'k'), 'the auto-mode call to queue for the lock');
    await lock.release();
    await expect(call).resolves.toMatchObject({ value: undefined });
    expect(waits).toEqual([{ keys: ['k'], waitedMs: expect.any(Number), outcome: 'acquired' }]);
    expect(tx.stats()).toMatchObject({ lockWaits: 1, lockWaitsGivenUp: 0 });
    await Promise.all([tx.close(), holder.close()]);
  });
});
