import { createTransactor, TransactUsageError } from '../../lib';
import { useRedis, waitFor } from '../support/redis';

const redis = useRedis();

/** Queues a write from a timer, after fn returned; resolves to what queueing it threw. */
function queueLater(queue: () => void): { thrown: () => unknown; fired: () => boolean } {
  let thrown: unknown;
  let fired = false;
  setTimeout(() => {
    try {
      queue();
    } catch (err) {
      thrown = err;
    }
    fired = true;
  }, 20);
  return { thrown: () => thrown, fired: () => fired };
}

// A late typed or raw write after a committed fn, for every client: spec/clients/transactions.spec.ts.
describe('t.write after its attempt ended', () => {
  it('refuses node-redis’s way of queueing scripts of the client (addCommand) too', async () => {
    const tx = createTransactor(await redis.connect());
    let write: any;
    await tx.transact(['k'], (t) => {
      write = t.write;
    });
    expect(() => write.addCommand(['SET', 'late', '1'])).toThrow(TransactUsageError);
    await tx.close();
  });

  it('refuses a write queued after fn threw (the attempt was abandoned)', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    let late!: ReturnType<typeof queueLater>;

    await expect(
      tx.transact(['k'], (t) => {
        late = queueLater(() => t.write.set('late', '1'));
        throw new Error('fn failed');
      }),
    ).rejects.toThrow('fn failed');

    await waitFor(late.fired, 'the late write');
    expect(late.thrown()).toBeInstanceOf(TransactUsageError);
    expect(await admin.get('late')).toBeNull();
    await tx.close();
  });

  it('refuses the writes of an attempt that lost to a conflict; the retry’s own writes commit', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect());
    const thrown: unknown[] = [];
    let first: any;

    const result = await tx.transact(['k'], async (t) => {
      await t.read.get('k');
      if (t.attempt === 1) {
        first = t.write;
        await admin.set('k', 'other writer');
      } else {
        try {
          first.set('late', 'from the first attempt');
        } catch (err) {
          thrown.push(err);
        }
      }
      t.write.set('k', `attempt ${t.attempt}`);
    });

    expect(result.attempts).toBe(2);
    expect(thrown).toEqual([expect.any(TransactUsageError)]);
    expect(await admin.mGet(['k', 'late'])).toEqual(['attempt 2', null]);
    await tx.close();
  });
});
