import { createTransactor, isLockLostError } from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { EXTEND, RELEASE } from '../../lib/lock/scripts';
import { useRedis, waitFor } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';

const redis = useRedis();

describe('the lock of a lock-mode lane', () => {
  it('is never reported lost after a conflict when a sibling’s EXEC released it (nobody else held it)', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const writer = await redis.connect();
    const tx = createTransactor(await proxy.connectClient(), { retry: { backoff: 'fixed', baseDelayMs: 20, maxDelayMs: 20, jitter: 'none' } });
    let siblingDone!: () => void;
    const siblingCommitted = new Promise<void>((resolve) => (siblingDone = resolve));
    // A renewal of the lock after A's conflict would go out only once the sibling committed (and,
    // with nobody waiting then, released the lock in its EXEC).
    proxy.onRequest = (chunk) => (chunk.includes(EXTEND.sha) ? { after: siblingCommitted } : 'forward');

    const a = tx.transact(['x', 'y'], async (t) => {
      const v = Number(await t.read.get('x'));
      if (t.attempt === 1) await writer.set('x', String(v + 1000)); // a writer that ignores the lock
      t.write.set('y', String(v));
    }, { mode: 'lock' });
    const sibling = tx.transact(['x', 'y'], (t) => void t.write.set('z', 'sibling'), { mode: 'lock' });
    void sibling.then(siblingDone, siblingDone);

    const outcome = await a.then(
      (result) => ({ attempts: result.attempts }),
      (err: unknown) => ({ error: isLockLostError(err) ? 'LockLostError' : err }),
    );
    expect(outcome).toEqual({ attempts: 2 });
    await expect(sibling).resolves.toMatchObject({ attempts: 1 });
    expect(await writer.mGet(['x', 'y', 'z'])).toEqual(['1000', '1000', 'sibling']);
    expect(await writer.exists(resourceKeys('x').lock)).toBe(0);
    await tx.close();
    await proxy.stop();
  });

  it('is let go of before the call settles: a call whose fn threw waits for the release’s reply', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    const tx = createTransactor(await proxy.connectClient());
    let releaseMayGo!: () => void;
    const releaseHeld = new Promise<void>((resolve) => (releaseMayGo = resolve));
    proxy.onRequest = (chunk) => (chunk.includes(RELEASE.sha) ? { after: releaseHeld } : 'forward');

    let settled = false;
    const call = tx.transact(['k'], () => {
      throw new Error('fn failed');
    }, { mode: 'lock' });
    void call.then(() => (settled = true), () => (settled = true));

    await waitFor(() => proxy.delayed === 1, 'the release to be on its way');
    expect(await admin.exists(resourceKeys('k').lock)).toBe(1);
    expect(settled).toBe(false); // its cleanup is not done yet
    releaseMayGo();
    await expect(call).rejects.toThrow('fn failed');
    expect(await admin.exists(resourceKeys('k').lock)).toBe(0); // gone by the time it settled
    await tx.close();
    await proxy.stop();
  });

  it('hands the next transaction a fresh connection when a releasing EXEC was cut off by the deadline', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    const tx = createTransactor(await proxy.connectClient());
    proxy.atExec('stall'); // the EXEC that carries the release never gets a reply

    const holder = tx.transact(['k'], (t) => void t.write.set('k', 'holder'), { mode: 'lock', retry: { deadlineMs: 300 } });
    await waitFor(() => proxy.holding, 'the releasing EXEC to be held');
    const next = tx.transact(['k'], (t) => void t.write.set('k', 'next'), { retry: { deadlineMs: 5_000 } }); // waits for the turn
    await expect(holder).rejects.toMatchObject({ code: 'ERR_TRANSACT_OUTCOME_UNKNOWN' });
    // It never started on the stalled connection (where its WATCH would have waited behind the EXEC).
    await expect(next).resolves.toMatchObject({ attempts: 1 });
    expect(await admin.get('k')).toBe('next');
    expect(await admin.exists(resourceKeys('k').lock)).toBe(0);
    await tx.close();
    await proxy.stop();
  });
});
