import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type RedisClientType } from 'redis';
import { type EmbeddedRedis, startEmbeddedRedis } from '../../examples/support/embedded-redis';
import { createTransactor, InvalidOptionsError, isTransactNotReplicatedError, type Transactor } from '../../lib';
import { injectFaults } from '../../lib/testing';
import { commandCalls, waitFor } from '../support/redis';
import { TcpProxy } from '../support/tcp-proxy';

/** A primary and one replica, each with files in a temp dir of its own. */
let dir: string;
let primary: EmbeddedRedis;
let primaryClient: RedisClientType | undefined;
let replica: EmbeddedRedis;
const opened: Array<{ close(): Promise<unknown> }> = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'replication-wait-'));
  const files = (name: string) => ['--dir', dir, '--dbfilename', `${name}.rdb`, '--save', '', '--appendonly', 'no'];
  primary = await startEmbeddedRedis({ args: files('primary') });
  replica = await startEmbeddedRedis({ args: [...files('replica'), '--replicaof', primary.host, String(primary.port)] });
  const admin = await connect(replica.url);
  await waitFor(async () => /master_link_status:up/.test(await admin.info('replication')), 'the replica to sync', 10_000);
  primaryClient = createClient({ url: primary.url });
  await primaryClient.connect();
}, 30_000);
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close().catch(() => {})));
});
afterAll(async () => {
  await primaryClient?.close();
  await replica?.stop();
  await primary?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(url: string): Promise<RedisClientType> {
  const client: RedisClientType = createClient({ url });
  client.on('error', () => {});
  opened.push(client);
  return client.connect();
}

function transactor(client: RedisClientType, options?: Parameters<typeof createTransactor>[1]): Transactor {
  const tx = createTransactor(client, options);
  opened.push(tx);
  return tx;
}

const increment = (key: string) => async (t: { read: RedisClientType; write: { set(k: string, v: string): unknown } }) => {
  t.write.set(key, String(Number(await t.read.get(key)) + 1));
};

describe('replication: wait for replicas after the commit (WAIT)', () => {
  it('reports how many replicas acknowledged the commit, and the replica has it when the call resolves', async () => {
    const tx = transactor(await connect(primary.url));
    const onReplica = await connect(replica.url);

    for (let i = 1; i <= 20; i++) {
      const result = await tx.transact(['n'], increment('n'), { replication: { replicas: 1, timeoutMs: 5_000 } });
      expect(result.replicatedTo).toBe(1);
      expect(await onReplica.get('n')).toBe(String(i)); // no read-your-writes lag: it was acknowledged
    }
  });

  it('rides in the same write as EXEC: an uncontended transaction still costs two round trips', async () => {
    const proxy = await TcpProxy.inFrontOf(primary.url);
    try {
      const tx = transactor(await proxy.connectClient(), { replication: { replicas: 1, timeoutMs: 5_000 } });
      const admin = await connect(primary.url);
      await tx.transact(['rt'], increment('rt')); // opens the dedicated connection
      const waits = await commandCalls(admin, 'wait');
      const before = proxy.flights;

      const result = await tx.transact(['rt'], increment('rt'));

      expect(proxy.flights - before).toBe(2);
      expect(result.replicatedTo).toBe(1);
      expect(await commandCalls(admin, 'wait')).toBe(waits + 1);
    } finally {
      await proxy.stop();
    }
  });

  // A WAIT sent before EXEC (on a fresh connection: nothing written yet) would answer 1 at once:
  // the count of 0 here also pins WAIT behind EXEC.
  it('reports 0 when no replica acknowledged within timeoutMs: the commit stands on the primary', async () => {
    const tx = transactor(await connect(primary.url));
    const onReplica = await connect(replica.url);
    // The replica stops applying (and acknowledging) the replication stream while paused.
    await onReplica.sendCommand(['CLIENT', 'PAUSE', '500', 'ALL']);

    const result = await tx.transact(['p'], increment('p'), { replication: { replicas: 1, timeoutMs: 50 } });

    expect(result.replicatedTo).toBe(0);
    expect(await (await connect(primary.url)).get('p')).toBe('1');
    await waitFor(async () => (await onReplica.get('p')) === '1', 'the replica to catch up once unpaused', 5_000);
  });

  it('ends the wait with the call’s deadline: 0 replicas, long before timeoutMs, the commit standing', async () => {
    const tx = transactor(await connect(primary.url));
    const onReplica = await connect(replica.url);
    await onReplica.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);

    const result = await tx.transact(['d'], increment('d'), { replication: { replicas: 1, timeoutMs: 60_000 }, retry: { deadlineMs: 200 } });

    expect(result.replicatedTo).toBe(0);
    // The replica has not acknowledged the commit yet (it is still paused): the call did not wait for it.
    const info = await (await connect(primary.url)).info('replication');
    const acked = Number(/slave0:[^\r\n]*offset=(\d+)/.exec(info)![1]);
    expect(acked).toBeLessThan(Number(/master_repl_offset:(\d+)/.exec(info)![1]));
    expect(await (await connect(primary.url)).get('d')).toBe('1');
    await waitFor(async () => (await onReplica.get('d')) === '1', 'the replica to catch up once unpaused', 10_000);
  });

  it('rejects with TransactNotReplicatedError when required replicas did not acknowledge: committed on the primary, value and replies carried', async () => {
    const tx = transactor(await connect(primary.url));
    const admin = await connect(primary.url);
    const onReplica = await connect(replica.url);
    const required = { replicas: 1, timeoutMs: 100, required: true };
    const resolved = await tx.transact(['req'], increment('req'), { replication: required });
    await onReplica.sendCommand(['CLIENT', 'PAUSE', '1000', 'ALL']);

    const err = await tx
      .transact(['req'], async (t) => {
        await increment('req')(t);
        return 'mine';
      }, { replication: required })
      .catch((e: unknown) => e);

    expect(resolved.replicatedTo).toBe(1);
    expect(isTransactNotReplicatedError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'ERR_TRANSACT_NOT_REPLICATED', value: 'mine', replies: ['OK'], replicatedTo: 0, replicas: 1, attempts: 1 });
    expect((err as Error).message).toBe(
      'the transaction on [req] committed on the primary, but 0 of the 1 replicas required acknowledged it in time: a failover now could lose it',
    );
    expect(await admin.get('req')).toBe('2');
    expect(tx.stats()).toMatchObject({ commits: 2, failures: 0 });
    await waitFor(async () => (await onReplica.get('req')) === '2', 'the replica to catch up once unpaused', 10_000);
  });

  it('retries a commit refused for want of replicas (min-replicas-to-write: NOREPLICAS) as a passing state, writing nothing', async () => {
    const admin = await connect(primary.url);
    const reasons: string[] = [];
    const tx = transactor(await connect(primary.url), { retry: { maxAttempts: 3 }, hooks: { onRetry: (e) => void reasons.push(e.reason) } });
    await admin.configSet('min-replicas-to-write', '2'); // one replica only: every write is refused
    try {
      const err = await tx.transact(['noreplicas'], increment('noreplicas')).catch((e: unknown) => e);

      expect(err).toMatchObject({ code: 'ERR_TRANSACT_CONNECTION', cause: expect.objectContaining({ message: expect.stringMatching(/^NOREPLICAS/) }) });
      expect(reasons).toEqual(['connection', 'connection']);
      expect(await admin.exists('noreplicas')).toBe(0);
    } finally {
      await admin.configSet('min-replicas-to-write', '0');
    }
  });

  it.each(['optimistic', 'lock'] as const)('sends no WAIT after EXEC and reports nothing when fn queued nothing (%s mode)', async (mode) => {
    const tx = transactor(await connect(primary.url), { replication: { replicas: 1, timeoutMs: 1_000 } });
    const admin = await connect(primary.url);
    const waits = await commandCalls(admin, 'wait');

    const result = await tx.transact(['quiet'], (t) => t.read.get('quiet'), { mode });

    expect('replicatedTo' in result).toBe(false);
    // Lock mode's one WAIT is its lock's (the lock must reach the replicas before fn runs).
    expect(await commandCalls(admin, 'wait')).toBe(waits + (mode === 'lock' ? 1 : 0));
  });

  it('takes a call’s replication over the transactor’s', async () => {
    const tx = transactor(await connect(primary.url), { replication: { replicas: 1, timeoutMs: 1 } });
    const onReplica = await connect(replica.url);

    // While the replica is paused for 300 ms, the transactor's 1 ms wait sees no replica, and the
    // call's own 5 s wait sees it once it resumes.
    await onReplica.sendCommand(['CLIENT', 'PAUSE', '300', 'ALL']);
    const byDefault = await tx.transact(['o'], increment('o'));
    const ownWait = await tx.transact(['o'], increment('o'), { replication: { replicas: 1, timeoutMs: 5_000 } });

    expect(byDefault.replicatedTo).toBe(0);
    expect(ownWait.replicatedTo).toBe(1);
  });

  it('has nothing to report when the EXEC reply was lost and settled (exactly-once): replicatedTo is absent', async () => {
    const tx = transactor(await connect(primary.url));
    const faulty = injectFaults(tx, { lostReply: 'committed' });
    const plain = await tx.transact(['lost'], increment('lost'), { exactlyOnce: true, replication: { replicas: 1, timeoutMs: 1_000 } });

    const result = await faulty.transact(['lost'], increment('lost'), { exactlyOnce: true, replication: { replicas: 1, timeoutMs: 1_000 } });

    expect(plain.replicatedTo).toBe(1); // the same call without the fault reports it
    expect(result).toMatchObject({ repliesLost: true });
    expect('replicatedTo' in result).toBe(false);
  });

  it('refuses a transactor’s bad replication option', () => {
    expect(() => createTransactor(primaryClient!, { replication: { replicas: 101, timeoutMs: 1 } })).toThrow(
      'options.replication.replicas: must be a whole number from 1 to 100, got 101',
    );
  });

  it.each([
    [{ replicas: 0, timeoutMs: 100 }, 'options.replication.replicas: must be a whole number from 1 to 100, got 0'],
    [{ replicas: 1, timeoutMs: 0 }, 'options.replication.timeoutMs: must be a whole number of milliseconds, at least 1 (WAIT with 0 never ends), got 0'],
    [{ replicas: 1, timeoutMs: 2 ** 31 }, 'options.replication.timeoutMs: must be at most 2147483647'],
    [{ replicas: 1 }, 'options.replication.timeoutMs: is required'],
    [{ replicas: 1, timeoutMs: 10, required: 'yes' }, 'options.replication.required: must be true or false, got "yes"'],
  ])('refuses replication %j before anything is sent', async (replication, message) => {
    const tx = transactor(await connect(primary.url));
    const admin = await connect(primary.url);
    const watches = await commandCalls(admin, 'watch');

    const call = tx.transact(['bad'], increment('bad'), { replication: replication as never });

    await expect(call).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(call).rejects.toThrow(message);
    expect(await commandCalls(admin, 'watch')).toBe(watches);
  });
});

describe('replication: a lock counts once the replicas have it', () => {
  const REPLICATED = { replication: { replicas: 1, timeoutMs: 1_000 } };
  const lockKeys = (client: RedisClientType) => client.keys('rtlock:lock:*');

  it('tx.lock, withLock and lock mode hand out a lock only once the replica holds it', async () => {
    const tx = transactor(await connect(primary.url), REPLICATED);
    const onReplica = await connect(replica.url);
    const admin = await connect(primary.url);
    await tx.transact(['warm'], increment('warm'), { mode: 'lock' }); // the scripts in the cache: no EVAL fallback below
    const waits = await commandCalls(admin, 'wait');

    const lock = await tx.lock(['r1']);
    const afterLock = await lockKeys(onReplica);
    await lock.release();
    const inWithLock = await tx.withLock(['r2'], () => lockKeys(onReplica));
    let inLockMode: string[] = [];
    await tx.transact(['m1'], async (t) => {
      inLockMode = await lockKeys(onReplica);
      await increment('m1')(t);
    }, { mode: 'lock' });

    // Read on the replica at once, no waiting: the lock was there before it was handed out.
    expect(afterLock).toHaveLength(1);
    expect(inWithLock).toHaveLength(1);
    expect(inLockMode).toHaveLength(1);
    // One WAIT behind each acquisition, and one behind the lock-mode commit.
    expect(await commandCalls(admin, 'wait')).toBe(waits + 4);
  });

  it('hands a lock out only after the replica acknowledged it: tx.lock waits out a replica paused for less than timeoutMs', async () => {
    const tx = transactor(await connect(primary.url), { replication: { replicas: 1, timeoutMs: 10_000 } });
    const admin = await connect(primary.url);
    const onReplica = await connect(replica.url);
    const offset = async (pattern: RegExp) => Number(pattern.exec(await admin.info('replication'))![1]);
    const before = await offset(/master_repl_offset:(\d+)/);
    await onReplica.sendCommand(['CLIENT', 'PAUSE', '300', 'ALL']);

    const lock = await tx.lock(['r0']);

    // The replica's acknowledged offset is past everything written before the lock was asked
    // for: it acknowledged the lock's write before the lock was handed out.
    expect(await offset(/slave0:[^\r\n]*offset=(\d+)/)).toBeGreaterThan(before);
    await lock.release();
  });

  it('gives back a lock the replica did not acknowledge: LockUnavailableError (replication), nothing held, fn never ran', async () => {
    const tx = transactor(await connect(primary.url), { replication: { replicas: 1, timeoutMs: 50 } });
    const admin = await connect(primary.url);
    const onReplica = await connect(replica.url);
    await onReplica.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);
    let ran = false;

    const locked = await tx.lock(['r3'], { acquireTimeoutMs: 300 }).catch((err: unknown) => err);
    const lockMode = await tx.transact(['m2'], () => void (ran = true), { mode: 'lock', lock: { acquireTimeoutMs: 300 } }).catch((err: unknown) => err);

    const notReplicated = { code: 'ERR_LOCK_UNAVAILABLE', reason: 'replication', message: expect.stringMatching(/reached 0 of the 1 replicas required within 50 ms/) };
    expect(locked).toMatchObject(notReplicated);
    expect(lockMode).toMatchObject(notReplicated);
    expect(ran).toBe(false);
    expect(await lockKeys(admin)).toEqual([]);
    await waitFor(async () => (await lockKeys(onReplica)).length === 0, 'the replica to catch up once unpaused', 10_000);
  });

  it('withLock: a renewal the replica did not acknowledge does not count, and lock.signal aborts before the lease ends', async () => {
    const tx = transactor(await connect(primary.url), { replication: { replicas: 1, timeoutMs: 50 } });
    const onReplica = await connect(replica.url);
    let abortedAfterMs = 0;

    const outcome = await tx.withLock(['r4'], async (lock) => {
      const startedAt = Date.now();
      await onReplica.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);
      await new Promise((resolve) => lock.signal.addEventListener('abort', resolve, { once: true }));
      abortedAfterMs = Date.now() - startedAt;
    }, { ttlMs: 400 }).catch((err: unknown) => err);

    // The renewals ran on the primary, but the replica still has the first lease: the holder
    // stops within that lease, not the renewed one.
    expect(outcome).toMatchObject({ code: 'ERR_LOCK_LOST' });
    expect(abortedAfterMs).toBeLessThan(400);
    await waitFor(async () => (await onReplica.ping()) === 'PONG', 'the replica to be unpaused', 10_000);
  });
});
