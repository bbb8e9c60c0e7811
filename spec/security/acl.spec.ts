import { createClient, type RedisClientType } from 'redis';
import { createTransactor } from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { useRedis, waitFor } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';
import { LIBRARY_ACL } from '../support/acl';

/** The application's own keys and data commands, on top of the library's minimum. */
const APP_ACL = '~app:* +get +set +incr +rpush +lrange';

const redis = useRedis();

describe('as an ACL user restricted to the documented minimum', () => {
  let user: RedisClientType;

  beforeEach(async () => {
    const admin = await redis.connect();
    await admin.sendCommand(['ACL', 'SETUSER', 'app', 'reset', 'on', '>s3cret', ...`${LIBRARY_ACL} ${APP_ACL}`.split(' ')]);
    const url = new URL(redis.url);
    url.username = 'app';
    url.password = 's3cret';
    user = createClient({ url: url.toString() });
    user.on('error', () => {});
    await user.connect();
  });
  afterEach(async () => {
    await user.close();
  });

  it('is really restricted (AUTH passed through to the dedicated connections)', async () => {
    await expect(user.sendCommand(['FLUSHALL'])).rejects.toThrow(/NOPERM/);
    await expect(user.get('other:key')).rejects.toThrow(/NOPERM/);
  });

  it('runs optimistic transactions, with a conflict', async () => {
    const tx = createTransactor(user);
    await user.set('app:n', '0');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        tx.transact(['app:n'], async (t) => {
          const n = Number(await t.read.get('app:n'));
          if (i === 0 && t.attempt === 1) await user.incr('app:n'); // another writer gets in first
          t.write.set('app:n', String(n + 1)).rPush('app:log', String(n));
        }, { retry: { maxAttempts: 100 } }),
      ),
    );
    expect(await user.get('app:n')).toBe('21');
    expect(results[0]!.attempts).toBe(2);
    await tx.close();
  });

  it('runs exactly-once calls and settles a lost reply by its marker', async () => {
    const proxy = await TcpProxy.inFrontOf(redis.url);
    const url = new URL(proxy.url);
    url.username = 'app';
    url.password = 's3cret';
    const proxied = createClient({ url: url.toString() });
    proxied.on('error', () => {});
    await proxied.connect();
    const tx = createTransactor(proxied, { exactlyOnce: true });
    proxy.atExec('cut-after-reply', { every: true });

    const result = await tx.transact(['app:n'], async (t) => {
      const n = Number(await t.read.get('app:n'));
      t.write.set('app:n', String(n + 1));
    }, { mode: 'lock' });

    expect(result).toMatchObject({ attempts: 1, repliesLost: true });
    expect(await user.get('app:n')).toBe('1');
    await tx.close();
    proxied.destroy();
    await proxy.stop();
  });

  it('takes locks, waits on release notifications, and runs lock mode', async () => {
    const tx = createTransactor(user);
    const held = await tx.lock(['app:doc'], { ttlMs: 30_000 });
    const order: string[] = [];
    const waiter = tx.withLock(['app:doc'], () => void order.push('waiter'));
    const admin = await redis.connect();
    await waitFor(async () => (await admin.zCard(resourceKeys('app:doc').queue)) === 1, 'the waiter to queue');
    order.push('release');
    await held.release();
    await waiter;

    const result = await tx.transact(['app:doc'], async (t) => {
      const v = await t.read.get('app:doc');
      t.write.set('app:doc', `${v ?? ''}x`);
    }, { mode: 'lock' });

    expect(order).toEqual(['release', 'waiter']);
    expect(result.attempts).toBe(1);
    expect(await user.get('app:doc')).toBe('x');
    await tx.close();
  });
});
