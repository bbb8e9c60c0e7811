/* eslint-disable @typescript-eslint/require-await -- the fakes are async like what they stand for */
/**
 * The lane's state machine on its own: turns, the lock a lane holds for a burst, when the release
 * rides in an EXEC, what a waiter holds, and what is cleaned up before a seat's leave settles.
 * Against a fake connection pool and a fake lock backend (a lock in memory): what is checked is the
 * lane's bookkeeping, not Redis (the lock-mode specs run the same paths on real servers).
 */
import { performance } from 'node:perf_hooks';
import { WatchError } from 'redis';
import type { ConnectionPool } from '../../lib/connection/connection-pool';
import type { DedicatedConnection, ExecPlan, Transaction } from '../../lib/connection/connection';
import { type CallLocking, lockModeLocking, optimisticLocking } from '../../lib/coalescing/call-locking';
import { Lanes } from '../../lib/coalescing/lanes';
import type { ExecOutcome, Seat } from '../../lib/coalescing/seat';
import { LockLostError } from '../../lib/errors/lock-errors';
import { LockKeyspace } from '../../lib/lock/lock-keys';
import type { SingleNodeBackend } from '../../lib/lock/single-node-backend';
import type { Route } from '../../lib/topology/topology';
import { classify, type Verdict } from '../../lib/transaction/classify';
import { STOPPED } from '../../lib/util/stopped';
import { KeySet } from '../../lib/validation/key-set';
import { waitFor } from '../support/redis';

const OPTIONS = { ttlMs: 10_000, acquireTimeoutMs: 10_000, autoExtend: true, signal: undefined };

/** A lock in memory with the backend's interface; `queued` plays waiters from elsewhere. */
class FakeLockServer {
  holder: string | null = null;
  queued = 0;
  /** How many times a seat asked whether anyone waits (EXISTS on the queue). */
  queueProbes = 0;
  /** Lease of the next grant, from now (a test makes it short to let a hold run out). */
  leaseMs = OPTIONS.ttlMs - 102;
  readonly calls: string[] = [];
  readonly released: string[] = [];
  #onRelease: (() => void)[] = [];

  backend(): SingleNodeBackend {
    const take = (token: string) => {
      if (this.holder !== null && this.holder !== token) return { acquired: false as const, waitHintMs: 1_000 };
      this.holder = token;
      return { acquired: true as const, fencingToken: 0, validUntil: performance.now() + this.leaseMs };
    };
    const backend = {
      keyspace: new LockKeyspace(''),
      loadScripts: async () => {},
      reloadScripts: async () => {},
      tryTake: async (_r: readonly string[], token: string) => {
        this.calls.push('tryTake');
        return take(token);
      },
      tryAcquire: async (_r: readonly string[], token: string) => {
        this.calls.push('tryAcquire');
        return take(token);
      },
      extend: async (_r: readonly string[], token: string) => (this.holder === token ? performance.now() + 5_000 : null),
      release: async (_r: readonly string[], token: string) => {
        this.calls.push('release');
        return this.release(token);
      },
      listen: async () => ({
        wait: () => new Promise<void>((resolve) => this.#onRelease.push(resolve)),
        close: () => {},
      }),
      close: async () => {},
    };
    return backend as unknown as SingleNodeBackend;
  }

  /** What a release (by token, or run inside an EXEC) does. */
  release(token: string): boolean {
    const held = this.holder === token;
    if (held) {
      this.holder = null;
      this.released.push(token);
      for (const wake of this.#onRelease.splice(0)) wake();
    }
    return held;
  }

  /** A connection whose probe reads this lock. */
  connection(): DedicatedConnection {
    const connection = {
      alive: true,
      sendCommand: async (args: string[]) => {
        if (args[0] === 'MGET') return args.slice(1).map(() => this.holder);
        if (args[0] !== 'EXISTS') return 1;
        this.queueProbes++;
        return this.queued;
      },
      mustLand: () => {},
      abandonWatch: () => {},
    };
    return connection as unknown as DedicatedConnection;
  }
}

function fakePool(server: FakeLockServer) {
  const state = { acquired: 0, released: 0 };
  const idle: DedicatedConnection[] = [];
  const pool = {
    capacity: 4,
    acquire: async () => {
      state.acquired++;
      return idle.pop() ?? server.connection();
    },
    tryAcquire: () => idle.pop(),
    release: (connection: DedicatedConnection, reusable: boolean) => {
      state.released++;
      if (reusable) idle.push(connection);
    },
  } as unknown as ConnectionPool;
  const route: Route = { pool: () => pool, check: () => {}, redirected: () => false, unreachable: () => {} };
  return { state, route };
}

function setUp(burstMs?: number) {
  const server = new FakeLockServer();
  const ended: boolean[] = [];
  const lanes = new Lanes({ backend: () => server.backend(), holdEnded: (_keySet, contended) => ended.push(contended), burstMs });
  const { state, route } = fakePool(server);
  const keySet = new KeySet(['k']);
  const lane = lanes.laneFor(keySet);
  const request = (locking: CallLocking, extra: { signal?: AbortSignal; priority?: boolean }) => ({
    route,
    signal: extra.signal,
    remainingMs: () => Infinity,
    priority: extra.priority ?? false,
    locking,
  });
  /** The seat as the lane gives it: at once when nothing had to be waited for, else a promise. */
  const takeNow = (locking: CallLocking = lockModeLocking(OPTIONS), extra: { signal?: AbortSignal; priority?: boolean } = {}) =>
    lane.take(request(locking, extra));
  const take = (locking?: CallLocking, extra?: { signal?: AbortSignal; priority?: boolean }) => Promise.resolve(takeNow(locking, extra));
  return { server, lanes, lane, take, takeNow, pool: state, ended };
}

/** An EXEC the test answers: `ran` commits (the trailer, a release, runs on the fake server), `aborted` does not. */
class FakeExec {
  trailer: ExecPlan['trailer'];
  #answer!: (how: 'ran' | 'aborted' | 'lost') => void;
  readonly #server: FakeLockServer;

  constructor(server: FakeLockServer) {
    this.#server = server;
  }

  transaction(): Transaction {
    return {
      builder: {},
      seal: () => {},
      exec: (plan) => {
        this.trailer = plan.trailer;
        let ran = false;
        const reply = new Promise<unknown[]>((resolve, reject) => {
          this.#answer = (how) => {
            if (how === 'aborted') return reject(new WatchError());
            if (how === 'lost') return reject(new Error('connection lost'));
            ran = true;
            // The release script runs with the EXEC: by the token it names.
            const release = plan.trailer?.[0];
            if (release) this.#server.release(release[3 + Number(release[2])]!); // EVALSHA sha numkeys keys... token
            resolve([]);
          };
        });
        return {
          wrote: true,
          marked: false,
          reply,
          get trailerReplies() {
            return ran ? (plan.trailer ?? []).map(() => 1) : undefined;
          },
        };
      },
    };
  }

  answer(how: 'ran' | 'aborted' | 'lost'): void {
    this.#answer(how);
  }
}

const RULES = {
  race: <T>(reply: Promise<T>) => reply,
  classify: (err: unknown) => classify(err, 'exec', { alive: true, redirected: false, idempotent: false }),
};

/** Runs a seat's attempt up to EXEC: begin, probe, check. */
async function toExec(seat: Seat): Promise<void> {
  expect(seat.fence?.begin(seat.connection) ?? []).toBeDefined();
  seat.fence?.probe(seat.connection);
  if (seat.fence) expect(await seat.fence.check()).toBe('go');
}

/** Sends the seat's EXEC; returns the EXEC (to answer) and the commit's outcome. */
function send(seat: Seat, server: FakeLockServer): { exec: FakeExec; outcome: Promise<ExecOutcome<Verdict>> } {
  const exec = new FakeExec(server);
  const outcome = seat.commit(exec.transaction(), undefined, RULES);
  return { exec, outcome };
}

/** The seat's EXEC commits; it leaves. Returns whether the EXEC carried the release. */
async function commit(seat: Seat, server: FakeLockServer): Promise<boolean> {
  await toExec(seat);
  const { exec, outcome } = send(seat, server);
  exec.answer('ran');
  expect((await outcome).kind).toBe('committed');
  await seat.leave('keep');
  return exec.trailer !== undefined;
}

const turnOf = async (pending: Promise<Seat>) => {
  let taken = false;
  void pending.then(() => (taken = true));
  await new Promise((resolve) => setImmediate(resolve));
  return taken;
};

describe('a lane’s state machine (fake pool and lock)', () => {
  it('takes the lock once for a burst and hands it on with the turn; the last EXEC carries the release', async () => {
    const { server, take } = setUp();
    const first = await take();
    const second = take(); // waits for the turn
    const third = take();
    expect(server.calls).toEqual(['tryTake']);
    expect(first.fence?.mode).toBe('lock');
    const token = server.holder;

    expect(await commit(first, server)).toBe(false); // siblings wait: the lock stays
    expect(await commit(await second, server)).toBe(false);
    expect(server.holder).toBe(token);
    expect(await commit(await third, server)).toBe(true); // nobody waits: the release rides in this EXEC
    expect(server.calls).toEqual(['tryTake']); // one acquire for three transactions, no separate release
    expect(server.released).toEqual([token]);
  });

  it('passes the turn only once a releasing EXEC landed, so the next transaction acquires after it', async () => {
    const { take, server } = setUp();
    const first = await take();
    await toExec(first);
    const { exec, outcome } = send(first, server);
    expect(exec.trailer).toBeDefined();
    const second = take();
    expect(await turnOf(second)).toBe(false); // the EXEC that releases is still on its way
    exec.answer('ran');
    await outcome;
    await first.leave('keep');
    const s2 = await second;
    expect(server.calls).toEqual(['tryTake', 'tryTake']);
    expect(s2.fence?.mode).toBe('lock');
    await s2.leave('keep');
  });

  it('keeps the lock when the releasing EXEC aborted (the release did not run), and lets go by token once idle', async () => {
    const { take, server } = setUp();
    const first = await take();
    const token = server.holder;
    await toExec(first);
    const { exec, outcome } = send(first, server);
    const retry = take(lockModeLocking(OPTIONS), { priority: true });
    exec.answer('aborted');
    const failed = await outcome;
    expect(failed).toMatchObject({ kind: 'failed', verdict: { next: { do: 'retry', reason: 'conflict' } } });
    await first.leave('keep');
    const again = await retry;
    expect(server.calls).toEqual(['tryTake']); // the retry did not acquire again
    expect(server.holder).toBe(token);
    await toExec(again);
    const second = send(again, server);
    second.exec.answer('aborted');
    await second.outcome;
    // Nobody left: leaving lets go of the lock by token, and is done only once it is let go of.
    await again.leave('keep');
    expect(server.calls).toEqual(['tryTake', 'release']);
    expect(server.released).toEqual([token]);
  });

  it('keeps the lock for its own transactions while the burst budget lasts, then hands it to a waiter from elsewhere', async () => {
    const budgetMs = 250; // room for a busy machine: seats 0-1 and 3-4 must each pass well within it
    const { take, server } = setUp(budgetMs);
    const seats = Array.from({ length: 8 }, () => take());
    const first = await seats[0]!;
    const takenAt = performance.now(); // the hold is at least this old: it was taken before
    server.queued = 1; // another process waits
    const released: boolean[] = [];
    // Within the budget the hold goes on, and nobody asks whether anyone waits; the first
    // transaction that starts after it asks, sees the waiter, and its EXEC carries the release.
    released.push(await commit(first, server), await commit(await seats[1]!, server));
    expect(server.queueProbes).toBe(0);
    await waitFor(() => performance.now() - takenAt >= budgetMs, 'the burst budget to run out');
    released.push(await commit(await seats[2]!, server));
    expect(server.queueProbes).toBe(1);
    // A new hold, a new budget: the seats after it keep the lock again.
    for (const pending of seats.slice(3, 5)) released.push(await commit(await pending, server));
    expect(released).toEqual([false, false, true, false, false]);
    expect(server.calls).toEqual(['tryTake', 'tryTake']); // the next burst takes it again
    for (const pending of seats.slice(5)) await (await pending).leave('keep');
  });

  it('with no budget, hands the lock on at the first EXEC that sees a waiter from elsewhere', async () => {
    const { take, server } = setUp(0);
    const seats = Array.from({ length: 4 }, () => take());
    server.queued = 1;
    const released: boolean[] = [];
    for (const pending of seats.slice(0, 3)) released.push(await commit(await pending, server));
    expect(released).toEqual([true, true, true]); // one transaction per hold: the waiter never waits behind a burst
    expect(server.calls).toEqual(['tryTake', 'tryTake', 'tryTake', 'tryTake']); // the fourth took it too
    for (const pending of seats.slice(3)) await (await pending).leave('keep');
  });

  it('makes a transaction that took the turn with the lock give way before fn once the lease ran out meanwhile', async () => {
    const { take, server } = setUp();
    server.leaseMs = 30;
    const unrenewed = lockModeLocking({ ...OPTIONS, autoExtend: false });
    const first = await take(unrenewed);
    const second = take(unrenewed);
    const token = server.holder;
    await toExec(first);
    const { exec, outcome } = send(first, server); // a sibling waits: the lock is handed on
    const next = await second; // its turn came with the lock
    const leaseEnd = performance.now() + 30;
    await waitFor(() => performance.now() > leaseEnd, 'the lease to run out on the local clock');
    expect(next.fence!.begin(next.connection)).toBeUndefined(); // fn must not run on it
    exec.answer('aborted');
    // The lock that EXEC ran under ran out: the call ends with LockLostError.
    expect(await outcome).toMatchObject({ kind: 'lock-lost', error: expect.any(LockLostError) });
    expect(server.released).toEqual([token]); // let go of by token before the outcome was reported
    await first.leave('keep');
    await next.leave('keep');
    const third = await take();
    expect(server.calls).toEqual(['tryTake', 'release', 'tryTake']); // taken anew
    await third.leave('keep');
  });

  it('ends the hold once a probe finds the lock taken: LockLostError, and the next transaction takes it anew', async () => {
    const { take, server } = setUp();
    const first = await take();
    first.fence!.begin(first.connection);
    server.holder = 'someone-else'; // the lease ran out on the server and another process took it
    first.fence!.probe(first.connection);
    await expect(first.fence!.check()).rejects.toBeInstanceOf(LockLostError);
    await first.leave('keep');
    server.holder = null;
    const next = await take();
    expect(next.fence?.mode).toBe('lock');
    expect(server.calls).toEqual(['tryTake', 'release', 'tryTake']);
    await next.leave('keep');
  });

  it('ends a call whose EXEC aborted after the hold’s lease ran out with LockLostError', async () => {
    const { take, server } = setUp();
    // Long enough to survive being granted on a busy machine, then run out on the local clock.
    server.leaseMs = 30;
    const first = await take();
    const leaseEnd = performance.now() + 30;
    await waitFor(() => performance.now() > leaseEnd, 'the lease to run out on the local clock');
    const { exec, outcome } = send(first, server);
    exec.answer('aborted');
    expect(await outcome).toMatchObject({ kind: 'lock-lost', error: expect.any(LockLostError) });
    await first.leave('keep');
  });

  it('keeps a call whose EXEC aborted on a data key going when a sibling’s EXEC released the lock meanwhile', async () => {
    const { take, server } = setUp();
    const a = await take();
    const b = take();
    await toExec(a);
    const execA = send(a, server); // b waits: no release in A's EXEC; A's turn passes at once
    const seatB = await b;
    await toExec(seatB);
    const execB = send(seatB, server); // nobody waits now: B's EXEC carries the release
    expect(execB.exec.trailer).toBeDefined();
    execB.exec.answer('ran');
    await execB.outcome;
    await seatB.leave('keep');
    execA.exec.answer('aborted'); // a writer that ignores the lock changed a data key
    // Not a lost lock: nobody else ever held it. A retries, and takes the lock anew.
    expect(await execA.outcome).toMatchObject({ kind: 'failed', verdict: { next: { do: 'retry', reason: 'conflict' } } });
    await a.leave('keep');
    const retry = await take(lockModeLocking(OPTIONS), { priority: true });
    expect(retry.fence?.mode).toBe('lock');
    expect(server.calls).toEqual(['tryTake', 'tryTake']);
    await retry.leave('keep');
  });

  it('lets go by token when the reply of a releasing EXEC is lost, before the turn passes', async () => {
    const { take, server } = setUp();
    const first = await take();
    const token = server.holder;
    await toExec(first);
    const { exec, outcome } = send(first, server);
    exec.answer('lost');
    expect(await outcome).toMatchObject({ kind: 'failed', verdict: { next: { do: 'unknown' }, ran: 'unknown' } });
    expect(server.released).toEqual([token]); // done before the outcome was reported
    await first.leave('destroy');
  });

  it('waits for the lock without a connection: a waiter holds nothing a holder needs', async () => {
    const { take, server, pool } = setUp();
    server.holder = 'someone-else';
    const waiting = take();
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.calls.slice(0, 2)).toEqual(['tryTake', 'tryAcquire']); // queued in Redis
    expect(pool.acquired).toBe(0);
    await server.backend().release(['k'], 'someone-else');
    const seat = await waiting;
    expect(pool.acquired).toBe(1);
    expect(await commit(seat, server)).toBe(true);
  });

  it('lets go of the lock by token before leave settles when the lane goes idle holding it (fn threw)', async () => {
    const { take, server, ended } = setUp();
    const seat = await take();
    const token = server.holder;
    await seat.leave('keep');
    expect(server.released).toEqual([token]);
    expect(ended).toEqual([false]);
  });

  it('runs optimistic callers without a fence, and under the lock when the lane holds it', async () => {
    const { take, server } = setUp();
    const plain = await take(optimisticLocking(OPTIONS));
    expect(plain.fence).toBeUndefined();
    const locked = take();
    await plain.leave('keep');
    const holder = await locked;
    const optimistic = take(optimisticLocking(OPTIONS));
    expect(await commit(holder, server)).toBe(false);
    const underLock = await optimistic;
    expect(underLock.fence?.mode).toBe('lock');
    await underLock.leave('keep');
  });

  it('gives the seat at once when the turn is free, no lock is wanted and the lane’s connection is up; else a promise', async () => {
    const { takeNow, pool } = setUp();
    const first = takeNow(optimisticLocking(OPTIONS));
    expect(first).toBeInstanceOf(Promise); // no connection yet: leased from the pool
    const seat = await first;
    const waiting = takeNow(optimisticLocking(OPTIONS));
    expect(waiting).toBeInstanceOf(Promise); // the turn is taken
    await seat.leave('keep');
    const next = await waiting;
    await next.leave('keep');

    const now = takeNow(optimisticLocking(OPTIONS));
    expect(now).not.toBeInstanceOf(Promise);
    const held = now as Seat;
    expect(held.connection).toBe(seat.connection);
    expect(pool.acquired).toBe(1);
    await held.leave('keep');
    const locked = takeNow(); // lock mode: the lock is taken first
    expect(locked).toBeInstanceOf(Promise);
    await (await locked).leave('keep');
  });

  it('drops a waiter whose signal aborts, and goes idle', async () => {
    const { take, server } = setUp();
    const seat = await take();
    const controller = new AbortController();
    const waiting = take(lockModeLocking(OPTIONS), { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toBe(STOPPED);
    await seat.leave('keep');
    expect(server.holder).toBeNull();
  });
});
