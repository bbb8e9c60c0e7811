import { createTransactor } from '../../lib';
import { useRedis, waitFor } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';

const redis = useRedis();

describe('in-process coalescing: same-key transactions take turns', () => {
  it('never conflicts with itself: 100 concurrent increments with maxAttempts 1', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect(), { retry: { maxAttempts: 1 } });

    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        tx.transact(['counter'], async (t) => {
          const n = Number(await t.read.get('counter'));
          t.write.set('counter', String(n + 1));
        }),
      ),
    );

    expect(await admin.get('counter')).toBe('100');
    expect(results.map((r) => r.attempts)).toEqual(Array.from({ length: 100 }, () => 1));
    await tx.close();
  });

  it('serves callers in call order', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());

    await Promise.all(Array.from({ length: 30 }, (_, i) => tx.transact(['log'], (t) => void t.write.rPush('log', String(i)))));

    expect(await admin.lRange('log', 0, -1)).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    await tx.close();
  });

  it('pipelines each turn behind the previous EXEC: about one round trip per transaction', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const client = await proxy.connectClient();
    const tx = createTransactor(client);
    const increment = () =>
      tx.transact(['n'], async (t) => {
        const n = Number(await t.read.get('n'));
        t.write.set('n', String(n + 1));
      });
    await increment(); // the connection is open

    const before = proxy.flights;
    await Promise.all(Array.from({ length: 20 }, increment));
    const flights = proxy.flights - before;

    expect(await client.get('n')).toBe('21');
    expect(flights).toBeLessThanOrEqual(21); // one per transaction (+1 for the last EXEC), not two
    await tx.close();
    await proxy.stop();
  });

  it('keeps different key sets independent (no head-of-line blocking)', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    const events: string[] = [];
    let releaseSlow!: () => void;
    const slowMayFinish = new Promise<void>((resolve) => (releaseSlow = resolve));
    let slowRunning!: () => void;
    const slowStarted = new Promise<void>((resolve) => (slowRunning = resolve));

    const slow = tx.transact(['a'], async (t) => {
      slowRunning();
      await slowMayFinish;
      t.write.set('a', 'slow');
    }).then(() => events.push('slow committed'));
    await slowStarted; // a's transaction is in the middle of its turn
    const fast = tx.transact(['b'], (t) => void t.write.set('b', 'fast')).then(() => events.push('fast committed'));
    try {
      // Behind a's turn, the call on b would never settle while a's fn is held.
      await waitFor(() => events.includes('fast committed'), 'the call on b to commit while the one on a is held');
    } finally {
      events.push('slow released');
      releaseSlow();
    }
    await Promise.all([slow, fast]);

    expect(events).toEqual(['fast committed', 'slow released', 'slow committed']);
    expect(await admin.mGet(['a', 'b'])).toEqual(['slow', 'fast']);
    await tx.close();
  });

  it('lets a transaction that lost to another process retry first, ahead of those already waiting', async () => {
    const admin = await redis.connect();
    let lost!: () => void;
    const firstLost = new Promise<void>((resolve) => (lost = resolve));
    const tx = createTransactor(await redis.connect(), { retry: { backoff: 'none' }, hooks: { onConflict: () => lost() } });
    const order: string[] = [];

    await Promise.all([
      tx.transact(['k'], async (t) => {
        await t.read.get('k');
        if (t.attempt === 1) await admin.set('k', 'other process');
        t.write.set('k', 'first');
        order.push(`first (attempt ${t.attempt})`);
      }),
      tx.transact(['k'], async (t) => {
        // Holds the turn until the first has lost and queued its retry behind this one.
        await firstLost;
        t.write.set('k', 'second');
        order.push(`second (attempt ${t.attempt})`);
      }),
      tx.transact(['k'], (t) => {
        t.write.set('k', 'third');
        order.push(`third (attempt ${t.attempt})`);
      }),
    ]);

    // The third queued long before the first's retry; plain first come, first served would run
    // it next. The retry goes first.
    expect(order).toEqual(['first (attempt 1)', 'second (attempt 1)', 'first (attempt 2)', 'third (attempt 1)']);
    expect(await admin.get('k')).toBe('third');
    await tx.close();
  });

  it('never drops a shared connection under a sibling’s EXEC when one caller gives up', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    let id = 0;
    let execHeld!: () => void;
    const held = new Promise<void>((resolve) => (execHeld = resolve));

    const first = tx.transact(['k'], async (t) => {
      id = await t.read.clientId();
      await t.read.get('k');
      await admin.sendCommand(['CLIENT', 'PAUSE', '10000', 'WRITE']); // its EXEC waits on the server
      t.write.set('k', 'first');
      execHeld();
    });
    await held;
    const controller = new AbortController();
    // The second runs right behind the first's EXEC, on the same connection: its read waits too.
    const second = tx.transact(['k'], async (t) => {
      await t.read.get('k');
      t.write.set('k', 'second');
    }, { signal: controller.signal });
    await waitFor(async () => /flags=\S*b/.test(await admin.sendCommand<string>(['CLIENT', 'LIST', 'ID', String(id)])), 'the first EXEC to be held');
    controller.abort(new Error('the second caller gives up'));

    await expect(second).rejects.toMatchObject({ code: 'ERR_TRANSACT_ABORTED' });
    await admin.sendCommand(['CLIENT', 'UNPAUSE']);
    await expect(first).resolves.toMatchObject({ attempts: 1 }); // not outcome unknown
    expect(await admin.get('k')).toBe('first');
    await tx.close();
  });

  it('drops the WATCH of a transaction that queued nothing before the connection serves another', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect(), { maxConnections: 1, retry: { maxAttempts: 1 } });

    await tx.transact(['watched'], (t) => t.read.get('watched'), { mode: 'auto' }); // reads only
    await admin.set('watched', 'changed by someone'); // would abort a WATCH left behind
    const next = await tx.transact(['other'], (t) => void t.write.set('other', '1'), { mode: 'auto' });

    expect(next.attempts).toBe(1);
    expect(await admin.get('other')).toBe('1');
    await tx.close();
  });
});

