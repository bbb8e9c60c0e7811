import { createClient, type RedisClientType } from 'redis';
import type { ShardedSubscriber } from '../../lib/connection/connection';
import { ReleaseNotifier } from '../../lib/lock/release-notifier';
import { useRedis, waitFor } from '../support/redis';

type ShardedListener = (message: string, channel: string) => void;

const redis = useRedis();

describe('ReleaseNotifier', () => {
  let subscriber: RedisClientType;
  let notifier: ReleaseNotifier;
  /** Every message handed to the notifier, once its listener has run. */
  let delivered: string[];

  beforeEach(async () => {
    subscriber = createClient({ url: redis.url });
    await subscriber.connect();
    delivered = [];
    const listeners = new Map<ShardedListener, ShardedListener>();
    const counted: ShardedSubscriber = {
      sSubscribe: (channels, listener) => {
        const counting: ShardedListener = (message, channel) => {
          listener(message, channel);
          delivered.push(message);
        };
        listeners.set(listener, counting);
        return subscriber.sSubscribe(channels, counting);
      },
      sUnsubscribe: (channels, listener) => subscriber.sUnsubscribe(channels, listener && listeners.get(listener)),
    };
    notifier = new ReleaseNotifier(() => Promise.resolve(counted));
  });
  afterEach(async () => {
    notifier.close();
    await subscriber.close();
  });

  it('keeps a release that names the waiter while it is not waiting (busy re-checking)', async () => {
    const publisher = await redis.connect();
    const subscription = await notifier.subscribe(['rtlock:{a}:released'], 'token-1');
    await publisher.sPublish('rtlock:{a}:released', 'token-1:7');
    await waitFor(() => delivered.length === 1, 'the release to reach the notifier'); // before any wait

    // Resolves at once (before any timer could fire), not when its hour is up: the release was kept,
    // with the place in line it handed the lock to.
    const wait = subscription.wait(3_600_000, undefined).then((ticket) => `woken by the kept release to ${ticket}`);
    const timers = new Promise((resolve) => setImmediate(() => resolve('still waiting')));
    expect(await Promise.race([wait, timers])).toBe('woken by the kept release to 7');
    expect(delivered).toEqual(['token-1:7']);

    subscription.close();
  });

  it('wakes only the waiter a release names, and everyone on an empty name', async () => {
    const publisher = await redis.connect();
    const mine = await notifier.subscribe(['rtlock:{b}:released'], 'mine');
    const theirs = await notifier.subscribe(['rtlock:{b}:released'], 'theirs');
    const woken: string[] = [];
    const waits = [
      mine.wait(3_600_000, undefined).then((ticket) => woken.push(`mine ${ticket}`)),
      theirs.wait(3_600_000, undefined).then((ticket) => woken.push(`theirs ${ticket}`)),
    ];

    await publisher.sPublish('rtlock:{b}:released', 'theirs:3');
    await waits[1];
    expect(woken).toEqual(['theirs 3']); // handed to their place 3; 'mine' is not a prefix match either
    await publisher.sPublish('rtlock:{b}:released', '');
    await waits[0];
    expect(woken).toEqual(['theirs 3', 'mine undefined']); // a wake-up, no hand-over
    mine.close();
    theirs.close();
  });
});
