import { createClientPool } from 'redis';
import { createTransactor } from '../lib';
import { useRedis } from './support/redis';

/**
 * A transactor on a node-redis client pool. What a transaction does on any client (commits,
 * conflicts, isolation, key prefix, command errors, bad input, close) is specified once for
 * every client in `spec/clients/`.
 */
const redis = useRedis();

describe('transact', () => {
  it('works from a node-redis client pool, with its key prefix', async () => {
    const pool = createClientPool({ url: redis.url, keyPrefix: 'app:' }, { minimum: 1, maximum: 2 });
    pool.on('error', () => {});
    await pool.connect();
    const tx = createTransactor(pool);
    await pool.set('balance', '5');

    const result = await tx.transact(['balance'], async (t) => {
      const balance = Number(await t.read.get('balance'));
      t.write.set('balance', String(balance + 1));
      return balance;
    });

    expect(result.value).toBe(5);
    const admin = await redis.connect();
    expect(await admin.get('app:balance')).toBe('6');
    await tx.close();
    await pool.close();
  });
});
