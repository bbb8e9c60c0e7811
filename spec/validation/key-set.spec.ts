import { createTransactor, LockUnavailableError } from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { KeySet } from '../../lib/validation/key-set';
import { useRedis, waitFor } from '../support/redis';

const redis = useRedis();

describe('a key set’s identity', () => {
  it('is the same for the same keys in any order, and differs for any other keys', () => {
    expect(new KeySet(['a', 'b']).id).toBe(new KeySet(['b', 'a']).id);
    const distinct = [
      ['a', 'b'],
      ['a\u0000b'], // what a NUL join of the two would give
      ['a', 'b', 'c'],
      ['a,b'],
      ['["a","b"]'], // what a JSON encoding of the two would give
      ['"a","b"'],
      ['a'],
      ['b'],
      [''],
    ].map((keys) => new KeySet(keys).id);
    expect(new Set(distinct).size).toBe(distinct.length);
  });
});

describe('lanes per key set', () => {
  it('never run a lock-mode call on ["a", "b"] under the lock of ["a\\u0000b"]', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect(), { lock: { acquireTimeoutMs: 200 } });
    const other = createTransactor(await redis.connect());
    const held = await other.lock(['a'], { ttlMs: 10_000 }); // another process holds `a`

    let releaseSlow!: () => void;
    const slowMayEnd = new Promise<void>((resolve) => (releaseSlow = resolve));
    const slow = tx.transact(['a\u0000b'], async (t) => {
      await slowMayEnd;
      t.write.set('x', '1');
    }, { mode: 'lock' });
    await waitFor(async () => (await admin.exists(resourceKeys('a\u0000b').lock)) === 1, 'the first call to hold its lock');

    let ran = false;
    const pair = tx.transact(['a', 'b'], (t) => {
      ran = true;
      t.write.set('a', 'written while another process held the lock on a');
    }, { mode: 'lock' });
    releaseSlow(); // were the two calls sharing a lane, the pair would now get the turn, and that lane's lock

    await expect(pair).rejects.toBeInstanceOf(LockUnavailableError); // it waited for `a`, in its own lane
    expect(ran).toBe(false);
    expect(await admin.get('a')).toBeNull();
    await slow;
    await held.release();
    await tx.close();
    await other.close();
  });
});
