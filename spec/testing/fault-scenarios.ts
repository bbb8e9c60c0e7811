/**
 * The testing kit's faults, each against a real server in every mode: one source for a single
 * server and for a Redis Cluster (the spec files say where).
 */
import {
  LockLostError,
  TransactOutcomeUnknownError,
  TransactTimeoutError,
  type ContextOf,
  type TransactMode,
  type Transactor,
  type TransactorOptions,
} from '../../lib';
import { injectFaults } from '../../lib/testing';

/** What a scenario needs of its server. */
export interface FaultTarget {
  transactor(options?: TransactorOptions): Promise<Transactor>;
  /** A key's value, read by another client. */
  get(key: string): Promise<string | null>;
  /** Lock keys left on the server. */
  lockKeys(): Promise<string[]>;
  /** Two keys in one hash slot, fresh per call. */
  keys(): [string, string];
}

const MODES: readonly TransactMode[] = ['optimistic', 'lock', 'auto'];

export function describeFaults(target: () => FaultTarget): void {
  /** fn of every scenario: one more order, counted; `runs` counts the times it ran. */
  function order(keys: [string, string]) {
    const [count, log] = keys;
    const state = { runs: 0 };
    const fn = async (t: ContextOf<any>) => {
      state.runs++;
      const n = Number((await t.read.get(count)) ?? 0);
      t.write.set(count, String(n + 1)).rPush(log, `order-${n + 1}`);
      return n + 1;
    };
    return { fn, state };
  }

  async function applied(keys: [string, string]): Promise<number> {
    return Number((await target().get(keys[0])) ?? 0);
  }

  describe.each(MODES)('in %s mode', (mode) => {
    it('conflicts: 2 → fn runs 3 times, attempts is 3, the writes apply once', async () => {
      const keys = target().keys();
      const faulty = injectFaults(await target().transactor({ retry: { backoff: 'none' } }), { conflicts: 2 });
      const { fn, state } = order(keys);

      const result = await faulty.transact(keys, fn, { mode });

      expect(result.attempts).toBe(3);
      expect(state.runs).toBe(3);
      expect(await applied(keys)).toBe(1);
      expect(faulty.faults.map((f) => [f.kind, f.attempt])).toEqual([
        ['conflict', 1],
        ['conflict', 2],
      ]);
    });

    it("lostReply: 'committed' → TransactOutcomeUnknownError, and the writes were applied", async () => {
      const keys = target().keys();
      const faulty = injectFaults(await target().transactor(), { lostReply: 'committed' });

      await expect(faulty.transact(keys, order(keys).fn, { mode })).rejects.toBeInstanceOf(TransactOutcomeUnknownError);

      expect(await applied(keys)).toBe(1);
      expect(faulty.faults).toEqual([expect.objectContaining({ kind: 'lost-reply', committed: true, attempt: 1 })]);
    });

    it("lostReply: 'committed' with exactlyOnce → resolved, repliesLost, applied once", async () => {
      const keys = target().keys();
      const faulty = injectFaults(await target().transactor(), { lostReply: 'committed' });
      const { fn, state } = order(keys);

      const result = await faulty.transact(keys, fn, { mode, exactlyOnce: true });

      expect(result).toMatchObject({ value: 1, attempts: 1, repliesLost: true, replies: [] });
      expect(state.runs).toBe(1);
      expect(await applied(keys)).toBe(1);
    });

    it("lostReply: 'not-committed' with exactlyOnce → retried, applied once", async () => {
      const keys = target().keys();
      const faulty = injectFaults(await target().transactor({ retry: { backoff: 'none' } }), { lostReply: 'not-committed' });
      const { fn, state } = order(keys);

      const result = await faulty.transact(keys, fn, { mode, exactlyOnce: true });

      expect(result).toMatchObject({ value: 1, attempts: 2, repliesLost: false });
      expect(state.runs).toBe(2);
      expect(await applied(keys)).toBe(1);
      expect(faulty.faults).toEqual([expect.objectContaining({ kind: 'lost-reply', committed: false, attempt: 1 })]);
    });

    it("lostReply: 'not-committed' without exactlyOnce → TransactOutcomeUnknownError, and nothing was applied", async () => {
      const keys = target().keys();
      const faulty = injectFaults(await target().transactor(), { lostReply: 'not-committed' });

      await expect(faulty.transact(keys, order(keys).fn, { mode })).rejects.toBeInstanceOf(TransactOutcomeUnknownError);

      expect(await applied(keys)).toBe(0);
    });

    it("deadline: 'exec' → EXEC ran, the call is stopped while its reply is on the way: unknown, or settled under exactlyOnce", async () => {
      const keys = target().keys();
      const faulty = injectFaults(await target().transactor(), { deadline: 'exec' });

      const unknown = faulty.transact(keys, order(keys).fn, { mode, retry: { deadlineMs: 300 } });
      await expect(unknown).rejects.toBeInstanceOf(TransactOutcomeUnknownError);
      expect(await applied(keys)).toBe(1);

      const settled = await faulty.transact(keys, order(keys).fn, { mode, exactlyOnce: true, retry: { deadlineMs: 300 } });
      expect(settled).toMatchObject({ value: 2, repliesLost: true });
      expect(await applied(keys)).toBe(2);
      expect(faulty.faults.map((f) => f.kind)).toEqual(['deadline', 'deadline']);
    });

    it("deadline: 'read' → TransactTimeoutError, nothing written", async () => {
      const keys = target().keys();
      const faulty = injectFaults(await target().transactor(), { deadline: 'read' });
      const { fn, state } = order(keys);

      await expect(faulty.transact(keys, fn, { mode, retry: { deadlineMs: 200 } })).rejects.toBeInstanceOf(TransactTimeoutError);

      expect(state.runs).toBe(0);
      expect(await applied(keys)).toBe(0);
      expect(await target().lockKeys()).toEqual([]);
    });
  });

  describe('lockLost (the lease runs out while fn runs)', () => {
    // Short, since the fault waits it out; not shorter: a lock whose acquiring outlasts the lease's
    // validity is not taken (LockUnavailableError), which a loaded machine did with 100 ms.
    const lock = { ttlMs: 500 };
    it('in lock mode → LockLostError, nothing applied, no lock left', async () => {
      const keys = target().keys();
      const faulty = injectFaults(await target().transactor(), { lockLost: true });

      await expect(faulty.transact(keys, order(keys).fn, { mode: 'lock', lock })).rejects.toBeInstanceOf(LockLostError);

      expect(await applied(keys)).toBe(0);
      expect(faulty.faults).toEqual([expect.objectContaining({ kind: 'lock-lost', attempt: 1 })]);
      expect(await target().lockKeys()).toEqual([]);
    });

    it('in auto mode, on the attempt that escalated to the lock → LockLostError, nothing applied', async () => {
      const keys = target().keys();
      const tx = await target().transactor({ auto: { escalateAfter: 1 }, retry: { backoff: 'none' } });
      const faulty = injectFaults(tx, { conflicts: 1, lockLost: true });

      await expect(faulty.transact(keys, order(keys).fn, { mode: 'auto', lock })).rejects.toBeInstanceOf(LockLostError);

      expect(await applied(keys)).toBe(0);
      expect(faulty.faults.map((f) => [f.kind, f.attempt])).toEqual([
        ['conflict', 1],
        ['lock-lost', 2],
      ]);
    });

    it('in optimistic mode there is no lease to lose: the call commits and the log shows no fault', async () => {
      const keys = target().keys();
      const faulty = injectFaults(await target().transactor(), { lockLost: true });

      await expect(faulty.transact(keys, order(keys).fn)).resolves.toMatchObject({ attempts: 1 });

      expect(faulty.faults).toEqual([]);
    });

    it('in withLock → LockLostError, and lock.signal aborted while fn ran', async () => {
      const keys = target().keys();
      const faulty = injectFaults(await target().transactor(), { lockLost: true });
      let abortedInFn = false;

      await expect(
        faulty.withLock(keys, async (lock) => {
          await new Promise<void>((resolve) => lock.signal.addEventListener('abort', () => resolve(), { once: true }));
          abortedInFn = lock.signal.aborted;
        }),
      ).rejects.toBeInstanceOf(LockLostError);

      expect(abortedInFn).toBe(true);
      expect(faulty.faults).toEqual([{ call: 1, attempt: 1, keys, kind: 'lock-lost' }]);
      expect(await target().lockKeys()).toEqual([]);
    });
  });
}
