import { createTransactor } from '../../lib';
import { NODE_REDIS_COPY_WARNING_CODE } from '../../lib/connection/node-redis-copy';
import { useRedis } from '../support/redis';

const redis = useRedis();

describe('a client from another copy of node-redis', () => {
  it('works, and is reported once as a process warning that says what to do', async () => {
    const warnings: Error[] = [];
    const emit = jest.spyOn(process, 'emitWarning').mockImplementation((warning) => void warnings.push(warning as Error));
    try {
      // Our own copy: no warning.
      const own = createTransactor(await redis.connect());
      await own.close();
      expect(warnings).toEqual([]);

      // A second load of node-redis: classes of its own, as an app's own `redis` beside a clone's.
      let other!: typeof import('redis');
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- a second, isolated load is the point
        other = require('redis') as typeof import('redis');
      });
      const client = other.createClient({ url: redis.url });
      client.on('error', () => {});
      await client.connect();
      const tx = createTransactor(client);
      const { value } = await tx.transact(['k'], async (t) => {
        t.write.set('k', String(await t.read.get('k')));
        return 'committed';
      });
      createTransactor(client); // once per process
      await tx.close();
      await client.close();

      expect(value).toBe('committed');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ name: 'RedisTransactWarning', code: NODE_REDIS_COPY_WARNING_CODE });
      expect(warnings[0]!.message).toMatch(/another copy of node-redis/);
      expect(warnings[0]!.message).toMatch(/npm pack/);
    } finally {
      emit.mockRestore();
    }
  });
});
