import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { LockConnections, ShardedSubscriber } from '../../lib/connection/connection';
import { acquireLock } from '../../lib/lock/acquire-lock';
import { LockKeyspace, QUEUE_ENTRY_TTL_MS, resourceKeys } from '../../lib/lock/lock-keys';
import { ReleaseNotifier } from '../../lib/lock/release-notifier';
import { RELEASE } from '../../lib/lock/scripts';
import { SingleNodeBackend } from '../../lib/lock/single-node-backend';
import { useRedis, waitFor } from '../support/redis';

const redis = useRedis();

/**
 * A lane's lock takes a hand-over as its grant, without a confirming try. That is right only for a
 * hand-over to the place in line the waiter still holds: one it lost (its event loop stalled past
 * the lease, someone else took the lock, it queued again) must not be taken for a grant when its
 * message is read late.
 */
describe('a hand-over read late, after the waiter lost it and queued again', () => {
  it('is not taken as a grant: the waiter waits for the lock it does not hold', async () => {
    const admin = await redis.connect();
    const commands = await redis.connect();
    const subscriber = await redis.connect();
    // Counts the release messages this process has read.
    const read: string[] = [];
    const counting: ShardedSubscriber = {
      sSubscribe: (channels, listener) => subscriber.sSubscribe(channels, (message: string, channel: string) => {
        read.push(message);
        listener(message, channel);
      }),
      sUnsubscribe: () => Promise.resolve(),
    };
    const connections: LockConnections = {
      commands: () => Promise.resolve(commands),
      subscriber: () => Promise.resolve(counting),
      loadScripts: async (sources) => {
        for (const source of sources) await admin.scriptLoad(source);
      },
      close: () => Promise.resolve(),
    };
    const keyspace = new LockKeyspace('');
    const backend = new SingleNodeBackend(connections, new ReleaseNotifier(() => connections.subscriber()), keyspace);
    await backend.loadScripts();
    const lock = resourceKeys('r').lock;
    const ttlMs = 300;
    await admin.set(lock, 'H', { PX: 60_000 });
    const { port } = new URL(redis.url);
    // Synchronous commands, so that they run while this process's event loop is held up.
    const cli = (...args: string[]) => execFileSync('redis-cli', ['-p', port, ...args]).toString().trim();

    const options = { ttlMs, acquireTimeoutMs: 5_000, autoExtend: false, signal: undefined };
    let settled = false;
    const waiting = acquireLock(backend, ['r'], 'W', options, undefined, true).finally(() => (settled = true));
    await waitFor(async () => (await admin.zCard(resourceKeys('r').queue)) === 1, 'W to queue');

    await new Promise<void>((resolve) =>
      setImmediate(() => {
        // H hands the lock to W; W's loop stalls past the lease; X takes the lock that ran out.
        const keys = keyspace.keys(['r'], 'H');
        cli('EVALSHA', RELEASE.sha, String(keys.length), ...keys, 'H', '1', ...keyspace.channels(['r']));
        // The stall: no timer, no socket read, for longer than the lease and than W's wait, so that
        // when the loop runs again W's wait times out first and its next try goes out before the
        // hand-over message is read.
        const until = performance.now() + Math.max(ttlMs, QUEUE_ENTRY_TTL_MS / 3) + 300;
        while (performance.now() < until);
        cli('SET', lock, 'X', 'PX', '60000', 'NX');
        resolve();
      }),
    );
    // W reads the hand-over late and queues again (X holds the lock now); one more round trip lets
    // W's reply to that try be read too.
    await waitFor(async () => read.length === 1 && (await admin.zCard(resourceKeys('r').queue)) === 1, 'W to read the hand-over and queue again');
    await admin.ping();
    expect(read).toEqual([expect.stringMatching(/^W:\d+$/)]);
    expect(settled).toBe(false); // W must not believe it holds X's lock
    expect(await admin.get(lock)).toBe('X');

    await admin.del(lock); // X goes away without a release: W takes it at its next look
    await expect(waiting).resolves.toMatchObject({ acquired: true });
    expect(await admin.get(lock)).toBe('W');
  });
});
