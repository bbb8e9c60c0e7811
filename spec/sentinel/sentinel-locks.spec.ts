/**
 * Locks on a Sentinel-managed primary through failovers: with the replication wait on, no two
 * holders ever run `fn` at once; without it, a lock the replicas never received is lost with the
 * primary, and a second holder takes it (the limit docs/sentinel.md states).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createTransactor, type Lock, type Transactor, type TransactorOptions } from '../../lib';
import { SENTINEL_CLIENTS, type SentinelClientKind, useRedisSentinel } from '../support/redis-sentinel';
import { waitFor } from '../support/redis';


/** Counts, per resource, how often a holder entered while another was still inside. */
class Occupancy {
  readonly #inside = new Map<string, number>();
  overlaps = 0;
  entries = 0;

  async run(resource: string, work: () => Promise<void>): Promise<void> {
    const inside = this.#inside.get(resource) ?? 0;
    if (inside > 0) this.overlaps++;
    this.entries++;
    this.#inside.set(resource, inside + 1);
    try {
      await work();
    } finally {
      this.#inside.set(resource, this.#inside.get(resource)! - 1);
    }
  }
}

describe.each(SENTINEL_CLIENTS)('locks through a failover, on $name clients of the Sentinels', (kind: SentinelClientKind) => {
  // A deployment for each client: the second test kills its primary for good.
  const redis = useRedisSentinel({ replicas: 2, sentinels: 3 });

  /** A transactor on a client of the Sentinels of its own: as another process would have. */
  async function transactor(options?: TransactorOptions): Promise<Transactor> {
    return redis.track(createTransactor(await redis.client(kind, {}), options));
  }

  it('with the replication wait, no two holders run fn at once, also with a process that still uses the old primary', async () => {
    const options: TransactorOptions = {
      replication: { replicas: 2, timeoutMs: 500 },
      // A release lost with the old primary holds the lock until its lease ends: short leases,
      // and waits long enough to outlast a failover.
      lock: { ttlMs: 2_000, acquireTimeoutMs: 30_000 },
      retry: { maxAttempts: 10_000, backoff: 'exponential', baseDelayMs: 5, maxDelayMs: 100, deadlineMs: 60_000 },
    };
    const txs = await Promise.all([transactor(options), transactor(options)]);
    // A process that has not heard of the failover yet: a client of the old primary itself, which
    // goes on taking locks there while the promoted replica serves the others.
    const old = await redis.deployment.connect(await redis.deployment.primary());
    const stale = createTransactor(old, options) as Transactor;
    redis.track(stale);
    const occupancy = new Occupancy();
    const failures: unknown[] = [];
    let running = true;
    let failedOver = false;
    // fn takes a little time, so that a second holder would be caught inside with the first.
    const work = () => sleep(3);
    const holders = (tx: Transactor) => [
      () => tx.withLock(['guarded'], () => occupancy.run('guarded', work)),
      () =>
        tx.transact(['lock-mode'], async (t) => {
          await occupancy.run('lock-mode', work);
          t.write.incr('lock-mode');
        }, { mode: 'lock' }),
    ];

    // The Sentinel's workers record every failure: each call is expected to wait the failover
    // out. The stale process's calls fail once its primary is demoted: it stops then.
    const traffic = Promise.all([
      ...txs.flatMap(holders).map(async (call) => {
        while (running) await call().catch((err: unknown) => void failures.push(err));
      }),
      ...holders(stale).map(async (call) => {
        while (running && !failedOver) await call().catch(() => {});
      }),
    ]);
    await waitFor(() => occupancy.entries >= 50, 'holders to take turns before the failover', 30_000);
    await redis.deployment.failover();
    failedOver = true;
    const mark = occupancy.entries;
    await waitFor(() => occupancy.entries >= mark + 50, 'holders to take turns after the failover', 60_000);
    running = false;
    await traffic;

    expect(occupancy.overlaps).toBe(0);
    expect(failures).toEqual([]);
  }, 150_000);

  it('without it, a lock the replicas never got dies with the primary and a second holder takes it; with it, the lock is refused', async () => {
    const primary = await redis.deployment.primary();
    const replicas = redis.deployment.nodes.filter((node) => node.port !== primary.port);
    const unreplicated = await transactor();
    const replicated = await transactor({ replication: { replicas: 1, timeoutMs: 200 } });
    // The replicas are cut off (frozen, so they cannot reconnect, and their links dropped, so
    // nothing more is on its way to them): what the primary takes now, only it has.
    await Promise.all(replicas.map((replica) => redis.deployment.freeze(replica)));
    let first: Lock;
    let refused: unknown;
    try {
      await (await redis.deployment.connect(primary)).sendCommand(['CLIENT', 'KILL', 'TYPE', 'replica']);
      first = await unreplicated.lock(['limit'], { ttlMs: 60_000 });
      // Long enough for the replication wait under load (500 ms once ended as 'timeout' instead).
      refused = await replicated.lock(['limit-with-wait'], { acquireTimeoutMs: 5_000 }).catch((err: unknown) => err);
      // Before a replica gets it, the primary crashes; the Sentinels promote one that lacks the lock.
      await redis.deployment.kill(primary);
    } finally {
      for (const replica of replicas) redis.deployment.thaw(replica);
    }
    await redis.deployment.promotedAfter(primary);
    const second = await (await transactor()).lock(['limit'], { acquireTimeoutMs: 30_000 });

    // Two holders at once: the first still holds its lease as far as it can tell.
    expect(first.held).toBe(true);
    expect(second.held).toBe(true);
    // The replication wait refused the lock the replicas did not acknowledge: nothing to lose.
    expect(refused).toMatchObject({ code: 'ERR_LOCK_UNAVAILABLE', reason: 'replication' });
    await second.release();
  }, 120_000);
});
