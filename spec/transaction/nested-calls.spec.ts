import { createTransactor, TransactUsageError } from '../../lib';
import { useRedis } from '../support/redis';

const redis = useRedis();

// Each of these never settled before: the bound is the test's own timeout.
const BOUND_MS = 5_000;

describe('a call made from inside fn', () => {
  it('on the same keys is refused (it would wait for the turn its caller holds)', async () => {
    const tx = createTransactor(await redis.connect());
    const outer = tx.transact(['n'], async (t) => {
      await t.read.get('n');
      return tx.transact(['n'], (u) => void u.write.incr('n'));
    });
    await expect(outer).rejects.toThrow(TransactUsageError);
    await expect(outer).rejects.toThrow(/same keys/);
    await tx.close();
  }, BOUND_MS);

  it('that needs the last connection its caller holds is refused (maxConnections: 1)', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect(), { maxConnections: 1 });
    const outer = tx.transact(['a'], async (t) => {
      await t.read.get('a');
      await tx.transact(['b'], (u) => void u.write.incr('b'));
      t.write.incr('a');
    });
    await expect(outer).rejects.toThrow(/last of the transactor's 1 connection/);
    expect(await admin.mGet(['a', 'b'])).toEqual([null, null]);
    await tx.close();
  }, BOUND_MS);

  it('in lock mode, on the same keys, is refused too', async () => {
    const tx = createTransactor(await redis.connect());
    const outer = tx.transact(['n'], () => tx.transact(['n'], (u) => void u.write.incr('n'), { mode: 'lock' }), { mode: 'lock' });
    await expect(outer).rejects.toThrow(TransactUsageError);
    await tx.close();
  }, BOUND_MS);

  it('on other keys, with a connection to spare, runs as usual', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect(), { maxConnections: 2 });
    const { value } = await tx.transact(['a'], async (t) => {
      await t.read.get('a');
      const inner = await tx.transact(['b'], (u) => void u.write.incr('b'));
      t.write.incr('a');
      return inner.replies;
    });
    expect(value).toEqual([1]);
    expect(await admin.mGet(['a', 'b'])).toEqual(['1', '1']);
    await tx.close();
  }, BOUND_MS);

  it('on the same keys, once its caller’s fn has returned, waits its turn like any call', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    let later: Promise<unknown> | undefined;
    await tx.transact(['n'], (t) => {
      // Started from inside fn, but only after fn returned (the turn is passing on by then).
      later = Promise.resolve().then(() => new Promise((resolve) => setImmediate(resolve))).then(() =>
        tx.transact(['n'], (u) => void u.write.incr('n')),
      );
      t.write.incr('n');
    });
    await later;
    expect(await admin.get('n')).toBe('2');
    await tx.close();
  }, BOUND_MS);
});
