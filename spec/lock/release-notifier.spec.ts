import { createClient, type RedisClientType } from 'redis';
import type { ShardedSubscriber } from '../../lib/connection/connection';
import { ReleaseNotifier } from '../../lib/lock/release-notifier';
import { useRedis } from '../support/redis';

const redis = useRedis();

describe('ReleaseNotifier', () => {
  let subscriber: RedisClientType;
  let notifier: ReleaseNotifier;

  beforeEach(async () => {
    subscriber = createClient({ url: redis.url });
    await subscriber.connect();
    notifier = new ReleaseNotifier(() => Promise.resolve(subscriber as unknown as ShardedSubscriber));
  });
  afterEach(async () => {
    notifier.close();
    await subscriber.close();
  });

  it('keeps a release that names the waiter while it is not waiting (busy re-checking)', async () => {
    const publisher = await redis.connect();
    const subscription = await notifier.subscribe(['rtlock:{a}:released'], 'token-1');
    await publisher.sPublish('rtlock:{a}:released', 'token-1');
    await new Promise((resolve) => setImmediate(resolve)); // the message is delivered meanwhile

    await subscription.wait(3_600_000, undefined); // resolves at once: the release was kept

    subscription.close();
  });

  it('wakes only the waiter a release names, and everyone on an empty name', async () => {
    const publisher = await redis.connect();
    const mine = await notifier.subscribe(['rtlock:{b}:released'], 'mine');
    const theirs = await notifier.subscribe(['rtlock:{b}:released'], 'theirs');
    const woken: string[] = [];
    const waits = [mine.wait(3_600_000, undefined).then(() => woken.push('mine')), theirs.wait(3_600_000, undefined).then(() => woken.push('theirs'))];

    await publisher.sPublish('rtlock:{b}:released', 'theirs');
    await waits[1];
    expect(woken).toEqual(['theirs']);
    await publisher.sPublish('rtlock:{b}:released', '');
    await waits[0];
    expect(woken).toEqual(['theirs', 'mine']);
    mine.close();
    theirs.close();
  });
});
