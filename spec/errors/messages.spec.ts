import { createTransactor, TransactCommandError, TransactConflictError } from '../../lib';
import { useRedis } from '../support/redis';

const redis = useRedis();

/** Messages are for humans: each reads as one sentence, with the numbers a reader needs. */
describe('error messages and retry events read as sentences', () => {
  it('says "1 attempt", not "1 attempts"', async () => {
    const admin = await redis.connect();
    const tx = createTransactor(await redis.connect(), { retry: { maxAttempts: 1 } });
    const failure = tx.transact(['k'], async (t) => {
      await t.read.get('k');
      await admin.set('k', 'changed'); // every attempt conflicts
      t.write.set('k', 'mine');
    });
    await expect(failure).rejects.toBeInstanceOf(TransactConflictError);
    const { message } = (await failure.catch((e: unknown) => e)) as Error;
    expect(message).toMatch(/\b1 attempt\b/);
    expect(message).not.toMatch(/\b1 attempts\b/);
    await tx.close();
  });

  it('names the first failed command of a partial failure and why it failed, in one sentence', async () => {
    const admin = await redis.connect();
    await admin.set('text', 'not a number');
    const tx = createTransactor(await redis.connect());
    const failure = tx.transact(['text', 'n'], (t) => void t.write.incr('text').set('n', '1'));
    const error = (await failure.catch((e: unknown) => e)) as TransactCommandError;
    expect(error).toBeInstanceOf(TransactCommandError);
    expect(error).toMatchObject({ applied: 'partial', errorIndexes: [0] });
    expect(error.message).toBe(
      'Redis refused a command queued for [text, n]: ERR value is not an integer or out of range; ' +
        '1 of 2 commands failed (the first at index 0); the other 1 was applied',
    );
    expect(await admin.get('n')).toBe('1');
    await tx.close();
  });

  it('reports retry delays in whole milliseconds', async () => {
    const admin = await redis.connect();
    const delays: number[] = [];
    const tx = createTransactor(await redis.connect(), {
      retry: { maxAttempts: 6, backoff: 'exponential', baseDelayMs: 1, maxDelayMs: 5, jitter: 'full' },
      hooks: { onRetry: (e) => delays.push(e.delayMs) },
    });
    await tx.transact(['k'], async (t) => {
      await t.read.get('k');
      if (t.attempt < 6) await admin.set('k', String(t.attempt)); // 5 conflicts, then a commit
      t.write.set('k', 'mine');
    });
    expect(delays).toHaveLength(5);
    for (const delay of delays) expect(Number.isInteger(delay)).toBe(true);
    await tx.close();
  });
});
