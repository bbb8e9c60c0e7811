/* eslint-disable @typescript-eslint/require-await -- the fakes are async like what they stand for */
/**
 * The lane's state machine on its own: turns, the lock a lane holds for a burst, when the release
 * rides in an EXEC, and what a waiter holds. Against a fake connection pool and a fake lock
 * backend (a lock in memory): what is checked is the lane's bookkeeping, not Redis (the lock-mode
 * specs run the same paths on real servers).
 */
import type { ConnectionPool } from '../../lib/connection/connection-pool';
import type { DedicatedConnection } from '../../lib/connection/dedicated-connection';
import type { MultiBuilder } from '../../lib/connection/node-redis-types';
import { type CallLocking, lockModeLocking, optimisticLocking } from '../../lib/coalescing/call-locking';
import type { Seat } from '../../lib/coalescing/lane';
import { LOCAL_HAND_OVERS } from '../../lib/coalescing/lane-lock';
import { Lanes } from '../../lib/coalescing/lanes';
import { LockKeyspace, type SingleNodeBackend } from '../../lib/lock/single-node-backend';
import type { Route } from '../../lib/topology/topology';

const OPTIONS = { ttlMs: 10_000, acquireTimeoutMs: 10_000, autoExtend: true, signal: undefined };
const STOPPED = Symbol('stopped');

/** A lock in memory with the backend's interface; `queued` plays waiters from elsewhere. */
class FakeLockServer {
  holder: string | null = null;
  queued = 0;
  readonly calls: string[] = [];
  readonly released: string[] = [];
  #onRelease: (() => void)[] = [];

  backend(): SingleNodeBackend {
    const take = (token: string) => {
      if (this.holder !== null && this.holder !== token) return { acquired: false as const, waitHintMs: 1_000 };
      this.holder = token;
      return { acquired: true as const, fencingToken: 0, validUntil: performance.now() + OPTIONS.ttlMs - 102 };
    };
    const backend = {
      fair: true,
      keyspace: new LockKeyspace(''),
      loadScripts: async () => {},
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
        const held = this.holder === token;
        if (held) {
          this.holder = null;
          this.released.push(token);
          for (const wake of this.#onRelease.splice(0)) wake();
        }
        return held;
      },
      leave: async () => {},
      listen: async () => ({
        wait: () => new Promise<void>((resolve) => this.#onRelease.push(resolve)),
        close: () => {},
      }),
      close: async () => {},
    };
    return backend as unknown as SingleNodeBackend;
  }

  /** A connection whose probe reads this lock. */
  connection(): DedicatedConnection {
    const client = {
      mGet: async (keys: string[]) => keys.map(() => this.holder),
      exists: async () => this.queued,
      sendCommand: async () => 1,
    };
    return { alive: true, client, mustLand: () => {} } as unknown as DedicatedConnection;
  }
}

function fakePool(server: FakeLockServer) {
  const state = { acquired: 0, released: 0 };
  const pool = {
    capacity: 4,
    acquire: async () => {
      state.acquired++;
      return server.connection();
    },
    release: () => {
      state.released++;
    },
  } as unknown as ConnectionPool;
  const route: Route = { pool: () => pool, check: () => {}, redirected: () => false, unreachable: () => {} };
  return { state, route };
}

function setUp() {
  const server = new FakeLockServer();
  const ended: boolean[] = [];
  const lanes = new Lanes({ backend: () => server.backend(), holdEnded: (_keys, contended) => ended.push(contended) });
  const { state, route } = fakePool(server);
  const lane = lanes.laneFor(['k']);
  const take = (locking: CallLocking = lockModeLocking(OPTIONS), extra: { signal?: AbortSignal; priority?: boolean } = {}) =>
    lane.take({ route, signal: extra.signal, stopped: STOPPED, remainingMs: () => Infinity, priority: extra.priority ?? false, locking });
  return { server, lanes, lane, take, pool: state, ended };
}

const builder = () => {
  const queued: string[][] = [];
  return { queued, builder: { addCommand: (args: string[]) => queued.push(args) } as unknown as MultiBuilder };
};

/** Runs a seat's attempt up to EXEC: probe, check, queue what the fence adds; returns how many. */
async function toExec(seat: Seat): Promise<number> {
  seat.fence?.begin(seat.connection);
  seat.fence?.probe(seat.connection);
  expect(await seat.fence?.check()).toBe('go');
  return seat.fence?.beforeExec(builder().builder) ?? 0;
}

/** The seat's EXEC commits; it leaves. */
function commit(seat: Seat): void {
  seat.passTurn();
  seat.execEnded('committed');
  seat.leave('keep');
}

describe('a lane’s state machine (fake pool and lock)', () => {
  it('takes the lock once for a burst and hands it on with the turn; the last EXEC carries the release', async () => {
    const { server, take, lane } = setUp();
    const first = await take();
    const second = take(); // waits for the turn
    const third = take();
    expect(server.calls).toEqual(['tryTake']);
    expect(first.fence?.mode).toBe('lock');

    expect(await toExec(first)).toBe(0); // siblings wait: the lock stays
    commit(first);
    const s2 = await second;
    expect(await toExec(s2)).toBe(0);
    commit(s2);
    const s3 = await third;
    expect(await toExec(s3)).toBe(1); // nobody waits: the release rides in this EXEC
    s3.passTurn();
    expect(lane.locked).toBe(true); // until the EXEC lands
    s3.execEnded('committed');
    s3.leave('keep');
    expect(server.calls).toEqual(['tryTake']); // one acquire for three transactions, no separate release
    expect(lane.locked).toBe(false);
  });

  it('passes the turn only after a releasing EXEC landed, so the next transaction acquires after it', async () => {
    const { take, server } = setUp();
    const first = await take();
    expect(await toExec(first)).toBe(1);
    first.passTurn();
    let secondStarted = false;
    const second = take().then((seat) => ((secondStarted = true), seat));
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondStarted).toBe(false);
    server.holder = null; // what the committed release did on the server
    first.execEnded('committed');
    first.leave('keep');
    const s2 = await second;
    expect(server.calls).toEqual(['tryTake', 'tryTake']);
    expect(s2.fence?.mode).toBe('lock');
    s2.leave('keep');
  });

  it('keeps the lock when the releasing EXEC aborted (the release did not run)', async () => {
    const { take, lane, server, lanes } = setUp();
    const first = await take();
    expect(await toExec(first)).toBe(1);
    first.passTurn();
    const retry = take(lockModeLocking(OPTIONS), { priority: true });
    first.execEnded('aborted');
    first.leave('keep');
    const again = await retry;
    expect(lane.locked).toBe(true);
    expect(server.calls).toEqual(['tryTake']); // the retry did not acquire again
    expect(await toExec(again)).toBe(1);
    again.passTurn();
    again.execEnded('aborted');
    again.leave('keep');
    // Nobody left: the lane lets go by token.
    await lanes.drain();
    expect(lane.locked).toBe(false);
    expect(server.calls).toEqual(['tryTake', 'release']);
    expect(server.holder).toBeNull();
  });

  it('ends the burst after LOCAL_HAND_OVERS hand-overs once a waiter from elsewhere is seen', async () => {
    const { take, server } = setUp();
    const seats = [take(), ...Array.from({ length: LOCAL_HAND_OVERS + 3 }, () => take())];
    server.queued = 1; // another process waits
    const queuedCounts: number[] = [];
    for (const pending of seats.slice(0, LOCAL_HAND_OVERS + 2)) {
      const seat = await pending;
      const own = await toExec(seat);
      queuedCounts.push(own);
      if (own === 1) server.holder = null;
      commit(seat);
    }
    expect(queuedCounts).toEqual([...Array.from({ length: LOCAL_HAND_OVERS }, () => 0), 1, 0]);
    expect(server.calls).toEqual(['tryTake', 'tryTake']); // the next burst queues again
    for (const pending of seats.slice(LOCAL_HAND_OVERS + 2)) (await pending).leave('keep');
  });

  it('makes a transaction that took the turn with the lock give way before fn when the lock was lost meanwhile', async () => {
    const { take, server, lanes } = setUp();
    const first = await take();
    const second = take();
    expect(await toExec(first)).toBe(0); // a sibling waits: the lock is handed on
    first.passTurn();
    const next = await second; // its turn came with the lock
    server.holder = 'someone-else'; // the lease ran out and another process took it
    first.execEnded('aborted');
    await expect(first.confirmLock()).rejects.toThrow('lost the lock');
    first.leave('keep');
    expect(next.fence?.begin(next.connection)).toBeUndefined(); // fn must not run on it
    next.leave('keep');
    await lanes.drain();
  });

  it('waits for the lock without a connection: a waiter holds nothing a holder needs', async () => {
    const { take, server, pool, lanes } = setUp();
    server.holder = 'someone-else';
    const waiting = take();
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.calls.slice(0, 2)).toEqual(['tryTake', 'tryAcquire']); // queued in Redis
    expect(pool.acquired).toBe(0);
    await server.backend().release(['k'], 'someone-else');
    const seat = await waiting;
    expect(pool.acquired).toBe(1);
    expect(await toExec(seat)).toBe(1);
    server.holder = null;
    commit(seat);
    await lanes.drain();
  });

  it('releases by token when the lane goes idle holding the lock (the last attempt never reached EXEC)', async () => {
    const { take, server, lanes, ended } = setUp();
    const seat = await take();
    const token = server.holder;
    seat.leave('keep'); // fn threw
    await lanes.drain();
    expect(server.released).toEqual([token]);
    expect(ended).toEqual([false]);
  });

  it('runs optimistic callers without a fence, and under the lock when the lane holds it', async () => {
    const { take } = setUp();
    const plain = await take(optimisticLocking(OPTIONS));
    expect(plain.fence).toBeUndefined();
    const locked = take();
    plain.leave('keep');
    const holder = await locked;
    const optimistic = take(optimisticLocking(OPTIONS));
    expect(await toExec(holder)).toBe(0);
    commit(holder);
    const underLock = await optimistic;
    expect(underLock.fence?.mode).toBe('lock');
    underLock.leave('keep');
  });

  it('drops a waiter whose signal aborts, and goes idle', async () => {
    const { take, lanes, server } = setUp();
    const seat = await take();
    const controller = new AbortController();
    const waiting = take(lockModeLocking(OPTIONS), { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toBe(STOPPED);
    seat.leave('keep');
    await lanes.drain();
    expect(server.holder).toBeNull();
  });
});
