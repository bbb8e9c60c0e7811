import { createTransactor, LockLostError, TransactConflictError } from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { commandCalls, useRedis, waitFor } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';

const redis = useRedis();


// Committing under the lock, and one fn at a time within and across transactors, for every client:
// spec/clients/locks.spec.ts.
describe("transact(..., { mode: 'lock' })", () => {
  it('costs one round trip more than optimistic for the first transaction of a burst, and none for its siblings', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const tx = createTransactor(await proxy.connectClient(), { maxConnections: 1 });
    const run = () =>
      tx.transact(['n'], async (t) => {
        const n = Number(await t.read.get('n'));
        t.write.set('n', String(n + 1));
      }, { mode: 'lock' });
    await run(); // connections opened, scripts loaded

    let before = proxy.flights;
    await run();
    // The lock (before fn may run), then WATCH with the reads, then EXEC with the release.
    expect(proxy.flights - before).toBe(3);

    before = proxy.flights;
    await Promise.all(Array.from({ length: 10 }, run));
    // One acquire for the burst; each sibling's WATCH and reads ride behind the EXEC before it.
    expect(proxy.flights - before).toBeLessThanOrEqual(12);
    expect(await (await redis.connect()).get('n')).toBe('12');
    await tx.close();
    await proxy.stop();
  });

  it('shares a hot key fairly between processes: bursts bounded by the burst budget while the other waits', async () => {
    const admin = await redis.connect();
    const transactors = [createTransactor(await redis.connect()), createTransactor(await redis.connect())];
    const order: number[] = [];
    const perProcess = 1_000;
    await Promise.all(
      transactors.flatMap((tx, p) => {
        let left = perProcess;
        // 16 workers per "process", each calling again as soon as its call settles.
        return Array.from({ length: 16 }, async () => {
          while (left > 0) {
            left--;
            await tx.transact(['fair'], (t) => {
              order.push(p);
              t.write.incr('fair');
            }, { mode: 'lock' });
          }
        });
      }),
    );

    expect(await admin.get('fair')).toBe(String(2 * perProcess));
    // Streaks of one process's commits, while both still had calls to make (the first and last
    // streaks are before the other started and after it finished).
    const streaks: number[] = [];
    order.forEach((p, i) => (p === order[i - 1] ? streaks[streaks.length - 1]!++ : streaks.push(1)));
    const inner = streaks.slice(1, -1);
    expect(inner.length).toBeGreaterThan(4); // they took turns, many times
    // A burst ends once the budget is used and the other is seen waiting: no process keeps the key
    // for a large part of its work while the other waits.
    expect(Math.max(...inner)).toBeLessThan(perProcess / 4);
    for (const tx of transactors) await tx.close();
  });

  it('hands the lock between processes on release, without polling', async () => {
    const admin = await redis.connect();
    const a = createTransactor(await redis.connect());
    const b = createTransactor(await redis.connect());
    let letGo!: () => void;
    const mayCommit = new Promise<void>((resolve) => (letGo = resolve));
    let holding!: () => void;
    const holds = new Promise<void>((resolve) => (holding = resolve));
    const first = a.transact(['relay'], async (t) => {
      holding();
      await mayCommit;
      t.write.set('relay', 'a');
    }, { mode: 'lock' });
    await holds;
    await admin.configResetStat();

    const second = b.transact(['relay'], async (t) => {
      t.write.set('relay', `${await t.read.get('relay')}+b`);
    }, { mode: 'lock' });
    await waitFor(async () => (await admin.zCard(resourceKeys('relay').queue)) === 1, 'b to queue for the lock');
    letGo();
    await Promise.all([first, second]);

    expect(await admin.get('relay')).toBe('a+b');
    // b: a cheap try, then (subscribed) a queued try, then nothing until the release in a's EXEC
    // handed it the lock and named it: b takes that as its grant, with no confirming try (a round
    // trip per hand-over between processes); b's EXEC with its own release. A polling waiter would
    // add a try per interval.
    expect(await commandCalls(admin, 'evalsha')).toBe(4);
    await a.close();
    await b.close();
  });

  it('rejects the commit of a holder paused past its lease: LockLostError, data untouched', async () => {
    const admin = await redis.connect();
    const holder = createTransactor(await redis.connect());
    const other = createTransactor(await redis.connect());
    await admin.set('balance', '100');

    const paused = holder.transact(['balance'], async (t) => {
      const balance = Number(await t.read.get('balance'));
      // A GC pause / stalled event loop: the lease runs out and another client takes over.
      await waitFor(async () => (await admin.exists(resourceKeys('balance').lock)) === 0, 'the lease to run out');
      await other.transact(['balance'], (o) => void o.write.set('balance', 'written-by-the-new-holder'), { mode: 'lock' });
      t.write.set('balance', String(balance - 30));
    }, { mode: 'lock', lock: { ttlMs: 100, autoExtend: false } });

    await expect(paused).rejects.toBeInstanceOf(LockLostError);
    await expect(paused).rejects.toMatchObject({ code: 'ERR_LOCK_LOST', resources: ['balance'] });
    expect(await admin.get('balance')).toBe('written-by-the-new-holder');
    await holder.close();
    await other.close();
  });

  it('rejects the commit when the lease ran out even if nobody took the lock', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());

    const failure = tx.transact(['k'], async (t) => {
      await t.read.get('k');
      await waitFor(async () => (await admin.exists(resourceKeys('k').lock)) === 0, 'the lease to run out');
      t.write.set('k', 'late');
    }, { mode: 'lock', lock: { ttlMs: 50, autoExtend: false } });

    await expect(failure).rejects.toBeInstanceOf(LockLostError);
    expect(await admin.get('k')).toBeNull();
    await tx.close();
  });

  it('waits for a withLock holder of the same key', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    const events: string[] = [];
    const held = await tx.lock(['doc:1'], { ttlMs: 30_000 });

    const writing = tx.transact(['doc:1'], (t) => {
      events.push(`transaction attempt ${t.attempt}`);
      t.write.set('doc:1', 'v2');
    }, { mode: 'lock' });
    await waitFor(async () => (await admin.zCard(resourceKeys('doc:1').queue)) === 1, 'the transaction to queue');
    events.push('holder releases');
    await held.release();
    await writing;

    // fn ran once, and only once the lock was the call's.
    expect(events).toEqual(['holder releases', 'transaction attempt 1']);
    expect(await admin.get('doc:1')).toBe('v2');
    await tx.close();
  });

  it('retries under the lock when a writer that ignores the lock changes a watched key', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());

    const result = await tx.transact(['k'], async (t) => {
      const v = await t.read.get('k');
      if (t.attempt === 1) await admin.set('k', 'rogue');
      t.write.set('k', `${v}+mine`);
    }, { mode: 'lock' });

    expect(result.attempts).toBe(2);
    expect(await admin.get('k')).toBe('rogue+mine');
    expect(await admin.exists(resourceKeys('k').lock)).toBe(0);
    await tx.close();
  });

  it('never renews the lease inside the WATCH window (a renewal would abort its own EXEC)', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());

    const result = await tx.transact(['slow'], async (t) => {
      await t.read.get('slow');
      // fn outlives half the lease, where a timer-driven renewal would have touched the watched key
      await waitFor(async () => (await admin.pTTL(resourceKeys('slow').lock)) < 100, 'half the lease to pass');
      t.write.set('slow', 'done');
    }, { mode: 'lock', lock: { ttlMs: 300 } });

    expect(result.attempts).toBe(1);
    expect(await admin.get('slow')).toBe('done');
    await tx.close();
  });

  it('reports an idempotent lock-mode commit whose reply was lost as committed, not as a lost lock', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const admin = await redis.connect();
    const tx = createTransactor(await proxy.connectClient());
    let cut = false;
    proxy.onRequest = (chunk) => {
      if (cut || !chunk.includes('\r\nEXEC\r\n')) return 'forward';
      cut = true;
      return 'cut-after-reply';
    };

    const result = await tx.transact(['order:9'], async (t) => {
      if (await t.read.exists('order:9')) return 'already recorded';
      t.write.set('order:9', 'paid');
      return 'recorded';
    }, { mode: 'lock', idempotent: true });

    expect(cut).toBe(true);
    expect(result).toMatchObject({ value: 'already recorded', attempts: 2 }); // the first EXEC did commit
    expect(await admin.exists(resourceKeys('order:9').lock)).toBe(0);
    await tx.close();
    await proxy.stop();
  });

  it('never lets a waiter hold the connection its lock’s holder needs (maxConnections 1)', async () => {
    const admin = await redis.connect();
    let waiter: Promise<unknown> | undefined;
    const tx = createTransactor(await redis.connect(), {
      maxConnections: 1,
      retry: { backoff: 'fixed', baseDelayMs: 100, maxDelayMs: 100, jitter: 'none' },
      lock: { acquireTimeoutMs: 3_000 },
      hooks: {
        // Another call, on x and y (made from outside the holder's fn: from inside, a call that
        // needs the only connection is refused), takes the only connection while the holder
        // backs off after losing to a writer, and queues behind the holder's lock on x...
        onAttempt: ({ keys, attempt }) => {
          if (keys.length === 1 && attempt === 1 && !waiter) {
            waiter = tx.transact(['x', 'y'], (w) => void w.write.set('y', 'waiter'), { mode: 'lock' });
          }
        },
      },
    });

    const holder = tx.transact(['x'], async (t) => {
      const v = await t.read.get('x');
      if (t.attempt === 1) await admin.set('x', 'rogue');
      // ...so this one's retry needs the connection back while the other waits for the lock.
      t.write.set('x', `${v}+holder`);
    }, { mode: 'lock' });

    await expect(holder).resolves.toMatchObject({ attempts: 2 });
    await expect(waiter).resolves.toMatchObject({ replies: ['OK'] });
    expect(await admin.mGet(['x', 'y'])).toEqual(['rogue+holder', 'waiter']);
    await tx.close();
  });

  it('never lets a same-key sibling wait on the lock while holding the turn its holder needs', async () => {
    const admin = await redis.connect();
    let sibling: Promise<unknown> | undefined;
    const conflicts: number[] = [];
    const tx = createTransactor(await redis.connect(), {
      retry: { backoff: 'fixed', baseDelayMs: 50, maxDelayMs: 50, jitter: 'none' },
      lock: { acquireTimeoutMs: 3_000 },
      hooks: {
        // A second call on the same key, made while the holder has the turn (from outside its fn:
        // a same-key call from inside fn is refused), takes the turn when the holder's EXEC goes
        // out, and finds the lock (still the holder's: the EXEC is aborted by a writer) busy.
        onAttempt: ({ attempt }) => {
          if (attempt !== 1 || sibling) return;
          sibling = tx.transact(['k'], async (s) => {
            const w = await s.read.get('k');
            s.write.set('k', `${w}+sibling`);
          }, { mode: 'lock' });
        },
        onConflict: ({ attempt }) => void conflicts.push(attempt),
      },
    });

    const holder = tx.transact(['k'], async (t) => {
      const v = await t.read.get('k');
      if (t.attempt === 1) await admin.set('k', 'rogue');
      t.write.set('k', `${v}+holder`);
    }, { mode: 'lock' });

    await expect(holder).resolves.toEqual({ value: undefined, replies: ['OK'], attempts: 2, repliesLost: false });
    // The sibling held the turn from the holder's first EXEC until its own: it commits first, at its
    // first attempt (nothing touches the lock key it watches), and the holder's retry, which waits
    // for the turn, reads what the sibling wrote.
    await expect(sibling).resolves.toEqual({ value: undefined, replies: ['OK'], attempts: 1, repliesLost: false });
    expect(conflicts).toEqual([1]); // the holder's first attempt, nothing more
    expect(await admin.get('k')).toBe('rogue+sibling+holder');
    await tx.close();
  });

  it('releases the lock when fn throws', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    const boom = new Error('no');

    await expect(tx.transact(['k'], () => Promise.reject(boom), { mode: 'lock' })).rejects.toBe(boom);
    expect(await admin.exists(resourceKeys('k').lock)).toBe(0);
    await tx.close();
  });

  it('keeps optimistic semantics for conflicts that exhaust the policy', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect(), { retry: { maxAttempts: 2, backoff: 'none' } });

    const failure = tx.transact(['k'], async (t) => {
      await t.read.get('k');
      await admin.incr('k'); // a writer that ignores the lock, every time
      t.write.set('k', 'x');
    }, { mode: 'lock' });

    await expect(failure).rejects.toBeInstanceOf(TransactConflictError);
    expect(await admin.exists(resourceKeys('k').lock)).toBe(0);
    await tx.close();
  });
});

describe('transact(..., { mode: "lock" }) bounded by its deadline', () => {
  it('reports the deadline (TransactTimeoutError), never the lock wait, when the deadline ends the wait', async () => {
    const holder = createTransactor(await redis.connect());
    const held = await holder.lock(['r'], { ttlMs: 10_000 });
    const tx = createTransactor(await redis.connect());
    const codes = new Set<string>();
    for (let i = 0; i < 40; i++) {
      const call = tx.transact(['r'], (t) => void t.write.incr('r'), {
        mode: 'lock',
        retry: { deadlineMs: 20 + (i % 7) },
        lock: { acquireTimeoutMs: 10_000 },
      });
      codes.add(await call.then(() => 'committed', (err: { code?: string }) => err.code ?? 'other'));
    }
    expect([...codes]).toEqual(['ERR_TRANSACT_TIMEOUT']);
    await held.release();
    await tx.close();
    await holder.close();
  });
});
