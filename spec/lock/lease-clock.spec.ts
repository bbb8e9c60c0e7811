import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LockLostError, type Transactor } from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { useRedis } from '../support/redis';

const redis = useRedis();
const TAKE_LOCK = join(__dirname, '../support/take-lock.ts');
const transactor = (): Promise<Transactor> => redis.transactor();

/**
 * Blocks this process's event loop (no renewal and no timer can run) until another process holds
 * `resource`: it gets it only once this holder's lease ran out in Redis. Returns its token.
 */
function blockUntilTakenElsewhere(resource: string): string {
  const competitor = spawnSync(process.execPath, ['--import', 'tsx', TAKE_LOCK, redis.url, resource], { encoding: 'utf8' });
  if (competitor.status !== 0) throw new Error(`competitor failed: ${competitor.stderr}`);
  return competitor.stdout;
}

describe('a lease judged on the monotonic clock', () => {
  it('withLock rejects with LockLostError when fn blocked the event loop past the lease, before any timer ran, and leaves the new holder alone', async () => {
    const admin = await redis.connect();
    const tx = await transactor();
    let competitor = '';
    let abortedWhenFnReturned: boolean | undefined;

    const outcome = tx.withLock(['report'], (lock) => {
      competitor = blockUntilTakenElsewhere('report');
      abortedWhenFnReturned = lock.signal.aborted;
      return 'written';
    }, { ttlMs: 200 });

    await expect(outcome).rejects.toBeInstanceOf(LockLostError);
    expect(abortedWhenFnReturned).toBe(false); // no timer had run: the clock gave the verdict
    expect(competitor).toMatch(/^[0-9a-f]{32}$/);
    expect(await admin.get(resourceKeys('report').lock)).toBe(competitor); // its lock was not released
  });

  it('lock.extend() refuses a lease that ran out on the clock before its expiry timer ran, and aborts the signal', async () => {
    const tx = await transactor();
    const lock = await tx.lock(['r'], { ttlMs: 1_000 });
    while (lock.validityMs > 0); // blocks the event loop: the expiry timer cannot run

    expect(lock.held).toBe(false);
    const renewal = lock.extend();
    expect(lock.signal.aborted).toBe(true);
    await expect(renewal).rejects.toBeInstanceOf(LockLostError);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
  });
});
