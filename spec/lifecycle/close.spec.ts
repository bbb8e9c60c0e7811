import { createTransactor, isTransactorClosedError, isTransactUsageError, TransactUsageError } from '../../lib';
import { useRedis, waitFor } from '../support/redis';

const redis = useRedis();

/** A promise and the function that settles it, for steering a call from the test. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

// Calls accepted before close() finish, later ones are refused, and the app's client stays open, for
// every client: spec/clients/lifecycle.spec.ts.
describe('tx.close()', () => {
  it('returns the same promise when called again', async () => {
    const tx = createTransactor(await redis.connect());
    const first = tx.close();
    expect(tx.close()).toBe(first);
    await first;
  });

  it('refuses to be called from inside one of its own calls (it would wait for that call forever)', async () => {
    const tx = createTransactor(await redis.connect());
    const call = tx.transact(['k'], async (t) => {
      await t.read.get('k');
      await tx.close();
    });
    await expect(call).rejects.toThrow(TransactUsageError);
    await expect(call).rejects.toThrow(/close\(\) was called from inside fn/);
    const err = await call.catch((e: unknown) => e);
    expect([isTransactUsageError(err), isTransactorClosedError(err)]).toEqual([true, false]);
    await tx.close();
  });

  it('does not wait on a read fn left blocked after its lock-mode call ended: the connection is dropped', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    const call = tx.transact(['k'], async (t) => {
      await t.read.blPop('never-pushed', 0); // blocks forever on the call's connection
    }, { mode: 'lock', retry: { deadlineMs: 100 } });
    await expect(call).rejects.toMatchObject({ code: 'ERR_TRANSACT_TIMEOUT' });
    await tx.close();
    // The server notices the dropped socket on its own time: wait for that, not for the BLPOP.
    await waitFor(async () => !/cmd=blpop/.test(await admin.sendCommand<string>(['CLIENT', 'LIST'])), 'the blocked connection to be dropped');
    expect(await admin.keys('rtlock:lock:*')).toEqual([]);
  });

  it('waits for a withLock in flight, which then releases its lock', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    const inside = gate();
    const finish = gate();
    const withLock = tx.withLock(['wl'], async () => {
      inside.open();
      await finish.opened;
      return 'done';
    });
    await inside.opened;
    let closed = false;
    const closing = tx.close().then(() => (closed = true));
    // close() is waiting for fn: let a few round trips pass, then let fn finish.
    await admin.ping();
    expect(closed).toBe(false);
    finish.open();
    await expect(withLock).resolves.toBe('done');
    await closing;
    expect(await admin.keys('rtlock:lock:*')).toEqual([]);
  });

  it('waits for a lock-mode call waiting for a busy lock; it commits once the lock is free', async () => {
    const admin = await redis.connect();
    const other = createTransactor(await redis.connect());
    const held = await other.lock(['busy'], { ttlMs: 10_000 });
    const tx = createTransactor(await redis.connect());
    const call = tx.transact(['busy'], (t) => void t.write.set('busy', 'x'), { mode: 'lock', lock: { acquireTimeoutMs: 10_000 } });
    // It is queued for the lock (its queue entry exists) when close() is called.
    await waitFor(async () => (await admin.keys('rtlock:queue:*')).length > 0, 'the call to queue for the lock');
    const closing = tx.close();
    await held.release();
    await expect(call).resolves.toMatchObject({ replies: ['OK'] });
    await closing;
    expect(await admin.get('busy')).toBe('x');
    expect(await admin.keys('rtlock:lock:*')).toEqual([]);
    await other.close();
  });

  it('releases a lock its caller still holds; release() afterwards resolves false', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    const lock = await tx.lock(['kept'], { ttlMs: 60_000 });
    const released = await tx.lock(['let-go'], { ttlMs: 60_000 });
    await released.release();
    expect(await admin.keys('rtlock:lock:*')).toHaveLength(1);

    await tx.close();

    expect(await admin.keys('rtlock:lock:*')).toEqual([]);
    expect(lock.signal.aborted).toBe(true);
    await expect(lock.release()).resolves.toBe(false);
    const again = createTransactor(await redis.connect());
    await (await again.lock(['kept'], { acquireTimeoutMs: 0 })).release();
    await again.close();
  });
});
