/**
 * A transactor on a client that reaches the primary through the Sentinels (node-redis
 * `createSentinel`, ioredis and iovalkey `new Redis({ sentinels, name })`), against a real
 * deployment: one primary, two replicas and three Sentinels on loopback, failed over for real with
 * `SENTINEL FAILOVER`. What every client must do is written once, for `SENTINEL_CLIENTS`.
 */
import { createSentinel } from 'redis';
import {
  createTransactor,
  isTransactNotReplicatedError,
  isTransactOutcomeUnknownError,
  isTransactUsageError,
  type TransactMode,
  type TransactorOptions,
} from '../../lib';
import type { Client } from '../support/clients';
import { MASTER_NAME, SENTINEL_CLIENTS, type SentinelClient, type SentinelClientKind, useRedisSentinel } from '../support/redis-sentinel';
import { waitFor } from '../support/redis';
import { injectFaults } from '../../lib/testing';
import { LIBRARY_ACL, SENTINEL_DISCOVERY_ACL } from '../support/acl';

const redis = useRedisSentinel({ replicas: 2, sentinels: 3 });

async function connectSentinel(options: { keyPrefix?: string } = {}): Promise<SentinelClient> {
  return redis.sentinel(options);
}

function transactorOn(sentinel: Client, options?: TransactorOptions) {
  return redis.track(createTransactor(sentinel as SentinelClient, options));
}

/** An admin client to the node that is primary now. */
async function primaryAdmin() {
  return redis.deployment.connect(await redis.deployment.primary());
}

describe.each(SENTINEL_CLIENTS)('a transactor on a $name client of the Sentinels', (sentinelKind: SentinelClientKind) => {
  const { kind } = sentinelKind;
  const connect = (options?: { keyPrefix?: string }) => redis.client(sentinelKind, options);
  // Each client's tests start from an empty primary (and replicas), whichever node it is now.
  beforeEach(async () => {
    await (await primaryAdmin()).flushAll();
  });

  it('runs optimistic, lock and auto mode transactions, locks and exactly-once calls on the primary', async () => {
    const tx = transactorOn(await connect(), { retry: { maxAttempts: 200 } });
    const increment = (mode: TransactMode) =>
      tx.transact(['counter'], async (t) => {
        const n: string | null = await t.read.get('counter');
        t.write.set('counter', String(Number(n) + 1));
      }, { mode, exactlyOnce: mode === 'lock' });

    await Promise.all((['optimistic', 'lock', 'auto'] as const).flatMap((mode) => Array.from({ length: 20 }, () => increment(mode))));
    const held = await tx.withLock(['resource'], async () => (await primaryAdmin()).keys('rtlock:lock:*'));
    const lock = await tx.lock(['resource']);
    await lock.release();

    const primary = await redis.deployment.primary();
    const admin = await redis.deployment.connect(primary);
    expect(await admin.get('counter')).toBe('60');
    expect(held).toEqual([expect.stringMatching(/^rtlock:lock:.*resource$/)]);
    expect(await admin.keys('rtlock:lock:*')).toEqual([]);
    // Nothing went to a replica: they only have what the primary replicated.
    const replica = redis.deployment.nodes.find((node) => node.port !== primary.port)!;
    await waitFor(async () => (await (await redis.deployment.connect(replica)).get('counter')) === '60', 'the replica to have the commits');
  });

  it('settles an exactly-once call whose EXEC reply was lost, on the primary: committed once, replies lost', async () => {
    const tx = transactorOn(await connect());
    // The testing kit drops the connection with EXEC's reply, after the primary ran it.
    const faulty = injectFaults(tx, { lostReply: 'committed' });

    const result = await faulty.transact(['once'], async (t) => {
      t.write.set('once', String(Number(await t.read.get('once')) + 1));
    }, { exactlyOnce: true });

    expect(result).toMatchObject({ repliesLost: true, replies: [], attempts: 1 });
    expect(faulty.faults).toEqual([expect.objectContaining({ kind: 'lost-reply', committed: true })]);
    expect(await (await primaryAdmin()).get('once')).toBe('1');
  });

  it('applies the client’s key prefix once, to keys and lock keys alike', async () => {
    const tx = transactorOn(await connect({ keyPrefix: 'app:' }));

    await tx.transact(['k'], async (t) => {
      t.write.set('k', String(Number(await t.read.get('k')) + 1));
    }, { mode: 'lock' });
    const inside = await tx.withLock(['r'], async () => (await primaryAdmin()).keys('app:rtlock:lock:*'));

    const admin = await primaryAdmin();
    expect(await admin.get('app:k')).toBe('1');
    expect(await admin.exists('k')).toBe(0);
    expect(inside).toEqual([expect.stringMatching(/^app:rtlock:lock:.*r$/)]);
    expect((await admin.keys('*')).filter((key) => !key.startsWith('app:') || key.startsWith('app:app:'))).toEqual([]);
  });

  it('closes every connection it opened, to the data nodes and to the Sentinels, and leaves the app’s client usable', async () => {
    const client = await connect();
    // Admin connections made once: the ids each server lists before the transactor opened anything.
    const servers = [
      ...(await Promise.all(redis.deployment.nodes.map((node) => redis.deployment.connect(node)))),
      ...(await Promise.all(redis.deployment.sentinelRootNodes.map((_, i) => redis.deployment.connectSentinel(i)))),
    ];
    // The Sentinels' links to each other and to the nodes carry their names: not the app's, nor ours.
    const ids = async (server: (typeof servers)[number]) =>
      (await server.sendCommand<string>(['CLIENT', 'LIST'])).trim().split('\n').filter((line) => !/ name=sentinel-/.test(line)).map((line) => /\bid=(\d+)/.exec(line)![1]!);
    const opened = async () => Promise.all(servers.map(async (server, i) => (await ids(server)).filter((id) => !before[i]!.includes(id))));
    const before = await Promise.all(servers.map(ids));
    const tx = createTransactor(client as SentinelClient, { maxConnections: 4 });

    await Promise.all(
      (['optimistic', 'lock', 'auto'] as const).flatMap((mode) => Array.from({ length: 4 }, () => tx.transact(['n'], (t) => void t.write.incr('n'), { mode }))),
    );
    await tx.withLock(['r'], () => undefined);
    const during = await opened();
    await tx.close();

    expect(during.slice(0, redis.deployment.nodes.length).flat().length).toBeGreaterThan(0);
    // Lock connections follow the primary through the Sentinels: something of ours was on them.
    expect(during.slice(redis.deployment.nodes.length).flat().length).toBeGreaterThan(0);
    await waitFor(async () => (await opened()).every((extra) => extra.length === 0), 'every connection of the transactor to close');
    expect(Number(await sentinelKind.command(client, ['INCR', 'n']))).toBe(13);
  });

  // On node-redis this takes the driver's own `+switch-master` subscriptions: node-redis's Sentinel
  // client reports the new primary (MASTER_CHANGE) only once it rediscovers on another event (it
  // pattern-subscribes to `switch-master`, which matches nothing the Sentinels publish), and
  // meanwhile the attempt would run on the old primary's idle connection, its commit lost.
  it('does not run an attempt on a connection opened before the Sentinels named a new primary, while the old one still serves', async () => {
    const tx = transactorOn(await connect());
    const old = await redis.deployment.primary();
    await tx.transact(['before'], (t) => void t.write.set('before', 'x'));
    // The old primary stops answering (its sockets stay open) until the Sentinels promote a
    // replica; then it runs again, still a primary until they reconfigure it, with the
    // transactor's idle connection to it open and usable.
    await redis.deployment.freeze(old);
    try {
      await waitFor(async () => (await redis.deployment.primary().catch(() => old)).port !== old.port, 'the Sentinels to promote a replica', 30_000);
    } finally {
      redis.deployment.thaw(old);
    }

    const ran = await tx.transact(['after'], async (t) => {
      const role = await kind.command(t.read, ['ROLE']);
      t.write.set('after', 'x');
      return (role as unknown[])[0];
    });
    const promoted = await redis.deployment.promotedAfter(old);

    expect(ran.value).toBe('master');
    expect(await (await redis.deployment.connect(promoted)).get('after')).toBe('x');
  }, 60_000);

});

describe('a transactor on a node-redis Sentinel client', () => {
  it('does not use a connection again once the Sentinel client reports a new primary (MASTER_CHANGE)', async () => {
    const sentinel = await connectSentinel();
    const tx = transactorOn(sentinel);
    const clientId = () => tx.transact(['id'], (t) => t.read.clientId()).then((r) => r.value);
    const before = await clientId();
    expect(await clientId()).toBe(before); // idle connections are reused
    // node-redis also reports the same primary again on a rediscovery (with a nodeAddressMap):
    // not a new primary, nothing retired.
    sentinel.emit('topology-change', { type: 'MASTER_CHANGE', node: sentinel.getMasterNode() });
    expect(await clientId()).toBe(before);

    // What node-redis emits when the Sentinels name another primary, before the old primary may
    // even know it was demoted, or while it is unreachable. (Here the connections still go to the
    // real primary, which getMasterNode() names: only the event is staged.)
    sentinel.emit('topology-change', { type: 'MASTER_CHANGE', node: { host: '127.0.0.1', port: 1 } });

    expect(await clientId()).not.toBe(before);
  });

  it('retries a commit refused with READONLY (a demoted primary) on a new connection, never as a data error', async () => {
    const primary = await redis.deployment.primary();
    const replica = redis.deployment.nodes.find((node) => node.port !== primary.port)!;
    const onReplica = await redis.deployment.connect(replica);
    const reasons: string[] = [];
    const tx = createTransactor(onReplica, { retry: { maxAttempts: 3 }, hooks: { onRetry: (e) => void reasons.push(e.reason) } });
    redis.track(tx);
    const ids = new Set<number>();

    const err = await tx.transact(['k'], async (t) => {
      ids.add(await t.read.clientId());
      t.write.set('k', 'v');
    }).catch((e: unknown) => e);

    expect(err).toMatchObject({ code: 'ERR_TRANSACT_CONNECTION', cause: expect.objectContaining({ message: expect.stringMatching(/^READONLY/) }) });
    expect(reasons).toEqual(['connection', 'connection']);
    expect(ids.size).toBe(3);
  });

  it('refuses a call, before anything is sent, while the Sentinel client is not connected', async () => {
    const sentinel = createSentinel({ name: MASTER_NAME, sentinelRootNodes: [...redis.deployment.sentinelRootNodes] });
    const tx = createTransactor(sentinel);
    redis.track(tx);
    let ran = false;

    const err = await tx.transact(['k'], () => void (ran = true)).catch((e: unknown) => e);

    expect(isTransactUsageError(err)).toBe(true);
    expect((err as Error).message).toMatch(/Sentinel client is not connected/);
    expect(ran).toBe(false);
  });
});

describe('a minimal-ACL user', () => {
  it('discovers the primary through the Sentinels and runs every kind of call, with the replication wait', async () => {
    // The data nodes: the library's minimum, +wait for the replication wait, and the app's keys.
    for (const node of redis.deployment.nodes) {
      await (await redis.deployment.connect(node)).sendCommand(['ACL', 'SETUSER', 'app', 'reset', 'on', '>s3cret', ...`${LIBRARY_ACL} +wait ~app:* +incr`.split(' ')]);
    }
    // The Sentinels: what discovery needs, nothing else.
    for (const [i] of redis.deployment.sentinelRootNodes.entries()) {
      const admin = await redis.deployment.connectSentinel(i);
      await admin.sendCommand(['ACL', 'SETUSER', 'discovery', 'reset', 'on', '>s3cret', ...SENTINEL_DISCOVERY_ACL.split(' ')]);
    }
    const sentinel = createSentinel({
      name: MASTER_NAME,
      sentinelRootNodes: [...redis.deployment.sentinelRootNodes],
      nodeClientOptions: { username: 'app', password: 's3cret' },
      sentinelClientOptions: { username: 'discovery', password: 's3cret' },
    });
    sentinel.on('error', () => {});
    await redis.track(sentinel).connect();
    const tx = transactorOn(sentinel, { replication: { replicas: 2, timeoutMs: 1_000 } });
    const increment = (t: { read: { get(k: string): Promise<string | null> }; write: { incr(k: string): unknown } }) => void t.write.incr('app:n');

    const results = await Promise.all([
      ...(['optimistic', 'lock', 'auto'] as const).map((mode) => tx.transact(['app:n'], increment, { mode })),
      tx.transact(['app:n'], increment, { exactlyOnce: true }),
    ]);
    const inLock = await tx.withLock(['app:r'], () => 'held');

    expect(results.map((r) => r.replicatedTo)).toEqual([2, 2, 2, 2]);
    expect(inLock).toBe('held');
    expect(await (await primaryAdmin()).get('app:n')).toBe('4');
    // Really restricted, on both sides.
    await expect(sentinel.sendCommand(false, ['FLUSHALL'])).rejects.toThrow(/NOPERM/);
    const asDiscovery = await redis.deployment.connectSentinel(0, { username: 'discovery', password: 's3cret' });
    await expect(asDiscovery.sendCommand(['SENTINEL', 'FAILOVER', MASTER_NAME])).rejects.toThrow(/NOPERM/);
  });
});

function countBy(names: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of names) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

function errorName(err: unknown): string {
  const e = err as { code?: string; reason?: string; message?: string };
  return [e.code ?? e.message, e.reason].filter(Boolean).join('/');
}

describe.each(SENTINEL_CLIENTS)('failover, on a $name client of the Sentinels', (sentinelKind: SentinelClientKind) => {
  /** Bank accounts, their opening balance, and the log every transfer appends its id to in its MULTI. */
  const ACCOUNTS = Array.from({ length: 100 }, (_, i) => `acct:${i}`);
  const OPENING = 1_000;
  const LOG = 'transfers';
  const REPLICAS = 2;

  it('moves money through two failovers: the total holds, no commit reported is lost, nothing doubles, failed calls applied nothing', async () => {
    const admin = await primaryAdmin();
    await admin.flushAll();
    await admin.mSet(ACCOUNTS.map((account) => [account, String(OPENING)] as [string, string]));
    await admin.wait(REPLICAS, 5_000);
    const retries: string[] = [];
    const tx = transactorOn(await redis.client(sentinelKind), {
      // A failover takes seconds: calls wait it out under the policy.
      retry: { maxAttempts: 10_000, backoff: 'exponential', baseDelayMs: 5, maxDelayMs: 100, deadlineMs: 60_000 },
      // A call resolves only once both replicas have its commit; one that committed on the
      // primary with fewer says so (TransactNotReplicatedError), and a failover may lose it.
      replication: { replicas: REPLICAS, timeoutMs: 500, required: true },
      lock: { acquireTimeoutMs: 30_000 },
      hooks: { onRetry: (e) => void retries.push(e.reason) },
    });
    /** Each call's id and how it ended. */
    const outcomes = new Map<string, { end: 'committed' | 'not-replicated' | 'failed' | 'unknown'; replicatedTo?: number; error?: unknown }>();
    let committed = 0;
    let running = true;
    let seq = 0;

    const transfer = async (worker: number, mode: TransactMode) => {
      const id = `${mode}-${worker}-${seq++}`;
      const from = ACCOUNTS[Math.floor(Math.random() * ACCOUNTS.length)]!;
      let to = ACCOUNTS[Math.floor(Math.random() * ACCOUNTS.length)]!;
      if (to === from) to = ACCOUNTS[(ACCOUNTS.indexOf(from) + 1) % ACCOUNTS.length]!;
      try {
        const result = await tx.transact([from, to], async (t) => {
          const [a, b] = await Promise.all([t.read.get(from), t.read.get(to)]);
          const amount = Math.min(Number(a), 1 + Math.floor(Math.random() * 10));
          t.write.set(from, String(Number(a) - amount));
          t.write.set(to, String(Number(b) + amount));
          sentinelKind.kind.queue(t.write, ['RPUSH', LOG, id]);
        }, { mode, exactlyOnce: worker % 2 === 0 });
        outcomes.set(id, { end: 'committed', replicatedTo: result.replicatedTo });
        committed++;
      } catch (err) {
        const end = isTransactNotReplicatedError(err) ? 'not-replicated' : isTransactOutcomeUnknownError(err) ? 'unknown' : 'failed';
        outcomes.set(id, { end, error: err });
      }
    };
    const traffic = Promise.all(
      (['optimistic', 'lock', 'auto'] as const).flatMap((mode) =>
        Array.from({ length: 4 }, async (_, worker) => {
          while (running) await transfer(worker, mode);
        }),
      ),
    );

    try {
      for (let round = 0; round < 2; round++) {
        const mark = committed;
        await waitFor(() => committed >= mark + 50, 'transfers to flow before the failover', 30_000);
        const promoted = await redis.deployment.failover();
        // New calls reach the new primary without the app doing anything. (Its replicas may still
        // be syncing with it: a commit on it that they did not all acknowledge in time is still one.)
        await tx
          .transact([`after-failover-${round}`], (t) => {
            t.write.set(`after-failover-${round}`, String(promoted.port));
          })
          .catch((err: unknown) => {
            if (!isTransactNotReplicatedError(err)) throw err;
          });
        expect(await (await redis.deployment.connect(promoted)).get(`after-failover-${round}`)).toBe(String(promoted.port));
      }
      const mark = committed;
      await waitFor(() => committed >= mark + 50, 'transfers to flow after the failovers', 30_000);
    } finally {
      // Also when a wait above failed: the workers must not go on for ever.
      running = false;
      await traffic;
    }

    const primary = await primaryAdmin();
    const balances = (await primary.mGet(ACCOUNTS)).map(Number);
    const log = await primary.lRange(LOG, 0, -1);
    const applied = new Set(log);
    const ends = [...outcomes.values()];
    const ended = (end: string) => [...outcomes].filter(([, o]) => o.end === end);
    const reported = ended('committed');
    const unreplicated = ended('not-replicated');

    // What replication cannot promise, as the docs say it: a commit the replicas did not all
    // acknowledge (TransactNotReplicatedError) may be lost with a failover (reported, not asserted).
    console.info(
      `sentinel failover (${sentinelKind.name}): ${reported.length} committed, none lost; ${unreplicated.length} committed on a primary ` +
        `without both replicas (TransactNotReplicatedError), ${unreplicated.filter(([id]) => !applied.has(id)).length} of them lost; ` +
        `${ends.filter((o) => o.end === 'failed').length} failed, ${ends.filter((o) => o.end === 'unknown').length} unknown; ` +
        `errors: ${JSON.stringify(countBy(ends.flatMap((o) => (o.error && o.end !== 'not-replicated' ? [errorName(o.error)] : []))))}; ` +
        `retries: ${JSON.stringify(countBy(retries))}`,
    );
    // The total is conserved on the new primary: every transfer applied whole or not at all.
    expect(balances.reduce((sum, b) => sum + b, 0)).toBe(ACCOUNTS.length * OPENING);
    expect(balances.every((b) => b >= 0)).toBe(true);
    // Nothing applied twice, exactly-once calls included.
    expect(log).toHaveLength(applied.size);
    // No transfer the library reported committed is missing: each had both replicas.
    expect(reported.filter(([id]) => !applied.has(id))).toEqual([]);
    expect(reported.filter(([, o]) => o.replicatedTo !== REPLICAS)).toEqual([]);
    expect(reported.length).toBeGreaterThan(100);
    // Every call that failed applied nothing.
    expect(ended('failed').filter(([id]) => applied.has(id))).toEqual([]);
    // Only ids of calls made are in the log.
    expect(log.filter((id) => !outcomes.has(id))).toEqual([]);
    // The failovers were really met by calls in flight.
    expect(retries.filter((reason) => reason !== 'conflict').length + unreplicated.length).toBeGreaterThan(0);
  }, 150_000);
});
