import { createTransactor, type Transactor } from '../../lib';
import { useRedis, waitFor } from '../support/redis';

const redis = useRedis();

/**
 * Two transactors (two processes, as far as Redis can tell) hammer one key in auto mode while a
 * third one's calls lose: once a call lost `escalateAfter` times it must not go on losing for as
 * long as the hammering lasts.
 */
describe('auto mode: a call that keeps losing gets the key', () => {
  it('commits at the first attempt after it escalates, while 2 other transactors hammer the key', async () => {
    const admin = await redis.connect();
    const escalateAfter = 3;
    const hammers = [createTransactor(await redis.connect()), createTransactor(await redis.connect())];
    let mode = 'optimistic';
    let startedUnderLock = false;
    const escalatedAt: number[] = [];
    const loser = createTransactor(await redis.connect(), {
      auto: { escalateAfter },
      retry: { backoff: 'none', maxAttempts: 50 },
      hooks: {
        onAttempt: (e) => {
          mode = e.mode;
          if (e.attempt === 1) startedUnderLock = e.mode === 'lock';
        },
        onEscalate: (e) => void escalatedAt.push(e.attempt),
      },
    });
    let stop = false;
    let hammered = 0;
    let forced = 0;
    const hammer = async (tx: Transactor) => {
      while (!stop) {
        await tx.transact(['stock'], async (t) => {
          const n = Number(await t.read.get('stock'));
          t.write.set('stock', String(n + 1));
        }, { mode: 'auto' });
        hammered++;
      }
    };
    const hammering = hammers.flatMap((tx) => Array.from({ length: 8 }, () => hammer(tx)));
    try {
      await waitFor(() => hammered >= 200, 'the hammers to commit 200 increments');
      const further: number[] = [];
      for (let call = 0; call < 10; call++) {
        const hammeredBefore = hammered;
        const before = escalatedAt.length;
        const result = await loser.transact(['stock'], async (t) => {
          const n = Number(await t.read.get('stock'));
          // Optimistic attempts lose for sure (a write lands between WATCH and EXEC), as calls of a
          // slow process do against faster ones; under the lock nothing may make it lose.
          if (mode === 'optimistic') {
            await admin.incr('stock');
            forced++;
          }
          t.write.set('stock', String(n + 1));
        }, { mode: 'auto' });
        if (startedUnderLock) {
          // Its own earlier losses marked the key hot: it starts under the lock, and never loses.
          expect({ attempts: result.attempts, escalations: escalatedAt.length - before }).toEqual({ attempts: 1, escalations: 0 });
        } else {
          expect(escalatedAt.length).toBe(before + 1); // it escalated: by its losses, or a hammer's lock
          further.push(result.attempts - escalatedAt[before]!);
        }
        expect(hammered).toBeGreaterThan(hammeredBefore); // they really hammered while it ran
      }
      // One attempt after the switch, under the lock: the hammers' lock-aware attempts cannot
      // commit in between, and no call lost more than escalateAfter times first.
      expect(further.length).toBeGreaterThan(0);
      expect(further).toEqual(Array(further.length).fill(1));
      expect(escalatedAt.every((attempt) => attempt <= escalateAfter)).toBe(true);
      expect(loser.stats()).toMatchObject({ commits: 10, failures: 0, escalations: further.length });
    } finally {
      stop = true;
      await Promise.allSettled(hammering);
    }
    // Nothing lost: every increment of the hammers, the forced writes and the loser's 10 calls.
    expect(Number(await admin.get('stock'))).toBe(hammered + forced + 10);
    await Promise.all([...hammers, loser].map((tx) => tx.close()));
  });
});
