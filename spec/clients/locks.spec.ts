import { type CommitEvent, type EscalationEvent, LockUnavailableError } from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { CLIENTS, useClients } from '../support/clients';
import { recorder } from '../support/hook-recorder';
import { commandCalls, waitFor } from '../support/redis';

/**
 * Lock mode, auto mode and the locks of `tx.lock`/`withLock`, written once and run for every
 * client of the matrix. (Redlock, over several servers, is in `redlock.spec.ts`.)
 */
const clients = useClients();


describe.each(CLIENTS)("mode: 'lock' on $name", (kind) => {
  it('commits under the lock and releases it in the same EXEC', async () => {
    const admin = await clients.admin();
    const { tx } = await clients.transactor(kind);
    await admin.set('stock:1', '5');

    const result = await tx.transact(['stock:1'], async (t) => {
      const stock = Number(await t.read.get('stock:1'));
      // Held while fn runs: a lock token, with a lease (the default 10 s).
      expect(await admin.get(resourceKeys('stock:1').lock)).toMatch(/^[0-9a-f]{32}$/);
      const lease = await admin.pTTL(resourceKeys('stock:1').lock);
      expect(lease).toBeGreaterThan(0);
      expect(lease).toBeLessThanOrEqual(10_000);
      t.write.set('stock:1', String(stock - 1));
      return stock;
    }, { mode: 'lock' });

    expect(result).toEqual({ value: 5, replies: ['OK'], attempts: 1, repliesLost: false });
    expect(await admin.get('stock:1')).toBe('4');
    expect(await admin.exists(resourceKeys('stock:1').lock)).toBe(0);
  });

  it('serialises the concurrent callers of one transactor: one fn at a time, no conflicts, exact result, no lock left', async () => {
    const admin = await clients.admin();
    const { tx } = await clients.transactor(kind, { retry: { maxAttempts: 1 } });
    let inside = 0;
    let most = 0;

    const results = await Promise.all(
      Array.from({ length: 40 }, () =>
        tx.transact(['counter'], async (t) => {
          most = Math.max(most, ++inside);
          const n = Number(await t.read.get('counter'));
          t.write.set('counter', String(n + 1));
          inside--;
        }, { mode: 'lock' }),
      ),
    );

    expect(most).toBe(1);
    expect(await admin.get('counter')).toBe('40'); // maxAttempts 1: a single conflict would have failed a call
    expect(results.map((r) => r.attempts)).toEqual(Array.from({ length: 40 }, () => 1)); // fn ran once per call
    await tx.close();
    expect(await admin.keys('rtlock:lock:*')).toEqual([]);
  });

  it('never runs fn outside the lock: one fn at a time across transactors, one attempt each', async () => {
    const admin = await clients.admin();
    // Two transactors with their own connections and lanes stand for two processes.
    const transactors = [(await clients.transactor(kind)).tx, (await clients.transactor(kind)).tx];
    let running = 0;
    let most = 0;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        transactors[i % 2]!.transact(['one'], async (t) => {
          most = Math.max(most, ++running);
          const n = Number(await t.read.get('one'));
          await new Promise((resolve) => setImmediate(resolve)); // let the other transactor try to get in
          t.write.set('one', String(n + 1));
          running--;
        }, { mode: 'lock' }),
      ),
    );

    expect(most).toBe(1);
    expect(results.map((r) => r.attempts)).toEqual(Array.from({ length: 10 }, () => 1));
    expect(await admin.get('one')).toBe('10');
  });
});

describe.each(CLIENTS)("mode: 'auto' on $name", (kind) => {
  it('starts optimistic and escalates to lock mode after repeated conflicts with another process', async () => {
    const other = await clients.connect(kind);
    const { hooks, of } = recorder();
    const { tx } = await clients.transactor(kind, { hooks, auto: { escalateAfter: 2 }, retry: { backoff: 'none' } });

    const result = await tx.transact(['hot'], async (t) => {
      const v = Number(await t.read.get('hot'));
      if (t.attempt <= 2) await other.incr('hot'); // another process wins twice
      t.write.set('hot', String(v + 100));
    }, { mode: 'auto' });

    expect(result.attempts).toBe(3);
    expect(of<EscalationEvent>('onEscalate')).toEqual([{ keys: ['hot'], attempt: 2, reason: 'conflicts' }]);
    expect(of<{ mode: string }>('onAttempt').map((e) => e.mode)).toEqual(['optimistic', 'optimistic', 'lock']);
    expect(of<CommitEvent>('onCommit')[0]).toMatchObject({ mode: 'lock', attempts: 3 });
    expect(tx.stats()).toMatchObject({ escalations: 1, conflicts: 2 });
    expect(await other.get('hot')).toBe('102');
  });
});

describe.each(CLIENTS)('tx.lock and withLock on $name', (kind) => {
  it('gives one holder at a time, and the next one, with a higher fencing token, after release', async () => {
    const admin = await clients.admin();
    const a = (await clients.transactor(kind)).tx;
    const b = (await clients.transactor(kind)).tx;

    const first = await a.lock(['invoice:7']);
    const busy = b.lock(['invoice:7'], { acquireTimeoutMs: 0 });
    await expect(busy).rejects.toBeInstanceOf(LockUnavailableError);
    await expect(busy).rejects.toMatchObject({ code: 'ERR_LOCK_UNAVAILABLE', reason: 'timeout', resources: ['invoice:7'] });
    expect(await admin.get(resourceKeys('invoice:7').lock)).toBe(first.token);

    expect(await first.release()).toBe(true);
    const second = await b.lock(['invoice:7'], { acquireTimeoutMs: 0 });
    expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
    expect(first.signal.aborted).toBe(true);
    await second.release();
  });

  it('wakes a waiter when the holder releases, without polling', async () => {
    const admin = await clients.admin();
    const a = (await clients.transactor(kind)).tx;
    const b = (await clients.transactor(kind)).tx;
    const held = await a.lock(['hot'], { ttlMs: 60_000 });
    await admin.configResetStat();

    const waiting = b.lock(['hot'], { acquireTimeoutMs: 30_000 });
    await waitFor(async () => (await admin.zCard(resourceKeys('hot').queue)) === 1, 'the waiter to queue');
    await held.release();
    const next = await waiting;

    // A first try, one after subscribing, one after the release named it, and the release: 4, no
    // polling loop (3 when the release handed it the lock before its try after subscribing).
    expect([3, 4]).toContain(await commandCalls(admin, 'evalsha'));
    expect(next.fencingToken).toBeGreaterThan(held.fencingToken);
    await next.release();
  });

  // ioredis without re-sending drops what was unanswered when its socket closed, never settling it;
  // the lock connection fails those itself (ioredis-lock-connections.ts), or tx.lock would wait out
  // its whole acquireTimeoutMs.
  it(
    'takes the lock when the connection its script went out on was killed while the server held the script',
    async () => {
      const admin = await clients.admin();
      const { tx } = await clients.transactor(kind);
      await (await tx.lock(['warm'])).release(); // the lock connection is open
      // The lock connection's last command was the release script: EVAL on a server that has not
      // run the script before (a fresh one, when this test runs alone), EVALSHA after.
      const id = async () => /\bid=(\d+)\b[^\n]*\bcmd=eval(?:sha)?\b/.exec(await admin.sendCommand<string>(['CLIENT', 'LIST', 'TYPE', 'normal']))?.[1];
      const lockConnection = Number(await id());
      expect(lockConnection).toBeGreaterThan(0);
      await admin.sendCommand(['CLIENT', 'PAUSE', '10000', 'WRITE']);

      const lock = tx.lock(['r']); // the default acquireTimeoutMs: 10 s
      lock.catch(() => {}); // asserted below, after the fault is injected
      await waitFor(
        async () => /flags=\S*b/.test(await admin.sendCommand<string>(['CLIENT', 'LIST', 'ID', String(lockConnection)])),
        'the lock script to be held by CLIENT PAUSE',
      );
      await admin.clientKill({ filter: 'ID', id: lockConnection });
      await admin.sendCommand(['CLIENT', 'UNPAUSE']);

      const held = await lock;
      expect(held.fencingToken).toBeGreaterThan(0);
      expect(await admin.get(resourceKeys('r').lock)).toBe(held.token);
      await held.release();
    },
  );
});
