/**
 * Lock scripts that Redis refuses (OOM under `maxmemory` with `noeviction`) end lock waits with a
 * typed error that says nothing is held, in lock mode and in `tx.lock`; on a replica (READONLY:
 * a failover in progress) they are tried again until the wait or the policy ends.
 */
import { tmpdir } from 'node:os';
import { isLockUnavailableError, isTransactCommandError, type Transactor } from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { type EmbeddedRedis, startEmbeddedRedis } from '../../examples/support/embedded-redis';
import { createTransactor } from '../../lib';
import { createClient, type RedisClientType } from 'redis';
import { useRedis, waitFor } from '../support/redis';

// No RDB files: the replica below syncs from this server without writing any to disk.
const NO_DISK = ['--save', '', '--appendonly', 'no', '--dir', tmpdir()];
const redis = useRedis({ args: ['--maxmemory', '4mb', '--maxmemory-policy', 'noeviction', '--repl-diskless-sync', 'yes', ...NO_DISK] });

/** Writes until the server refuses writes (OOM). */
async function fill(admin: RedisClientType): Promise<void> {
  const value = 'x'.repeat(10_000);
  for (let i = 0; ; i++) {
    try {
      await admin.set(`fill:${i}`, value);
    } catch (err) {
      if ((err as Error).message.startsWith('OOM')) return;
      throw err;
    }
  }
}

/** What a lock-mode call, an optimistic call and tx.lock settle with. */
async function attempts(tx: Transactor) {
  const write = (t: { write: { set(k: string, v: string): unknown } }) => void t.write.set('k', 'v');
  return {
    lockMode: await tx.transact(['k'], write, { mode: 'lock' }).catch((err: unknown) => err),
    optimistic: await tx.transact(['k'], write).catch((err: unknown) => err),
    locked: await tx.lock(['r'], { acquireTimeoutMs: 1_000 }).catch((err: unknown) => err),
  };
}

const refused = (reply: RegExp) => ({ code: 'ERR_LOCK_UNAVAILABLE', reason: 'refused', cause: expect.objectContaining({ message: expect.stringMatching(reply) }) });

describe('lock scripts Redis refuses', () => {
  it('under maxmemory with noeviction (OOM): LockUnavailableError, reason refused, nothing held', async () => {
    const admin = await redis.connect();
    const tx = await redis.transactor();
    await fill(admin);

    const { lockMode, optimistic, locked } = await attempts(tx);

    expect(isLockUnavailableError(lockMode)).toBe(true);
    expect(lockMode).toMatchObject(refused(/^OOM/));
    expect(locked).toMatchObject(refused(/^OOM/));
    expect(isTransactCommandError(optimistic) && optimistic.applied).toBe('none');
    expect(await admin.exists([resourceKeys('k').lock, resourceKeys('r').lock, 'k'])).toBe(0);
  });

  it('on a replica (READONLY): waited out like a failover in progress, and the error says READONLY', async () => {
    const { hostname, port } = new URL(redis.url);
    let replica: EmbeddedRedis | undefined;
    let client: RedisClientType | undefined;
    try {
      replica = await startEmbeddedRedis({ args: ['--replicaof', hostname, port, '--repl-diskless-load', 'on-empty-db', ...NO_DISK] });
      client = createClient({ url: replica.url });
      client.on('error', () => {});
      await client.connect();
      await waitFor(async () => /master_link_status:up/.test(await client!.info('replication')), 'the replica to sync');
      const tx = createTransactor(client);

      const { lockMode, locked } = await attempts(tx);

      // A replica may be the primary's successor-to-be (or the primary moved away): READONLY is
      // retried under the policy, not taken as Redis's last word.
      const readOnly = expect.objectContaining({ message: expect.stringMatching(/^READONLY/) });
      expect(lockMode).toMatchObject({ code: 'ERR_TRANSACT_CONNECTION', cause: readOnly });
      expect(locked).toMatchObject({ code: 'ERR_LOCK_UNAVAILABLE', reason: 'timeout', cause: readOnly });
      await tx.close();
    } finally {
      await client?.close();
      await replica?.stop();
    }
  }, 30_000);
});
