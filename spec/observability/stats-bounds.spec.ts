import { type TransactCounters, type TransactStats } from '../../lib';
import { StatsRecorder } from '../../lib/observability/stats';
import { useRedis } from '../support/redis';

const redis = useRedis();

// The documented bound: the first 100 prefixes get a group each, later ones share '(other)'.
const MAX_GROUPS = 101;
const FIELDS: (keyof TransactCounters)[] = ['calls', 'commits', 'failures', 'attempts', 'conflicts', 'escalations'];

/** Every counter summed over the groups equals its total. */
function expectGroupsAddUp(stats: TransactStats): void {
  for (const field of FIELDS) {
    const sum = Object.values(stats.byPrefix).reduce((n, group) => n + group[field], 0);
    expect({ field, sum }).toEqual({ field, sum: stats[field] });
  }
}

/** One call's counters, as the transactor records a committed read-only call. */
function call(stats: StatsRecorder, key: string): void {
  stats.count([key], 'calls');
  stats.count([key], 'attempts');
  stats.count([key], 'commits');
}

describe('stats().byPrefix stays bounded', () => {
  it('groups keys by the text before their first ":"', () => {
    const stats = new StatsRecorder();
    for (const key of ['stock:1', 'stock:2', '{stock:3}:reserved', '{orders}:7']) call(stats, key);
    stats.count(['stock:1'], 'conflicts');

    expect(stats.snapshot().byPrefix).toEqual({
      stock: { calls: 3, commits: 3, failures: 0, attempts: 3, conflicts: 1, escalations: 0, lockWaits: 0, lockWaitsGivenUp: 0, lockWaitMs: 0 },
      orders: { calls: 1, commits: 1, failures: 0, attempts: 1, conflicts: 0, escalations: 0, lockWaits: 0, lockWaitsGivenUp: 0, lockWaitMs: 0 },
    });
  });

  it('counts keys without a ":" under one group, however many there are', () => {
    const stats = new StatsRecorder();
    for (let i = 0; i < 10_000; i++) call(stats, `sess-${i}`);

    const snapshot = stats.snapshot();
    expect(Object.keys(snapshot.byPrefix).length).toBe(1);
    expect(Object.keys(snapshot.byPrefix)).toEqual(['(none)']);
    expect(snapshot.byPrefix['(none)']).toMatchObject({ calls: 10_000, commits: 10_000, attempts: 10_000 });
  });

  it('caps the groups when ids come first; totals stay exact and early prefixes keep counting', () => {
    const stats = new StatsRecorder();
    call(stats, 'stock:1');
    for (let i = 0; i < 10_000; i++) {
      call(stats, `{${i}}:cart`);
      call(stats, `sess-${i}`);
      if (i % 3 === 0) stats.count([`${i}:cart`], 'failures');
    }
    call(stats, 'stock:2');

    const snapshot = stats.snapshot();
    expect(Object.keys(snapshot.byPrefix).length).toBeLessThanOrEqual(MAX_GROUPS);
    expect(snapshot.byPrefix['(other)']!.calls).toBeGreaterThan(9_000);
    expect(snapshot.byPrefix.stock!.calls).toBe(2); // seen before the cap: its own group still
    expect(snapshot.byPrefix['(none)']!.calls).toBe(10_000);
    expect(snapshot.calls).toBe(20_002);
    expectGroupsAddUp(snapshot);
  });

  it('holds through a real transactor', async () => {
    const tx = await redis.transactor();
    const read = (key: string) => tx.transact([key], (t) => t.read.get(key));

    await read('stock:1');
    for (let i = 0; i < 50; i++) await read(`sess-${i}`);
    for (let i = 0; i < 150; i++) await read(`{${i}}:cart`);
    await read('stock:2');

    const stats = tx.stats();
    expect(stats.calls).toBe(202);
    expect(Object.keys(stats.byPrefix).length).toBeLessThanOrEqual(MAX_GROUPS);
    expect(stats.byPrefix.stock).toMatchObject({ calls: 2, commits: 2 });
    expect(stats.byPrefix['(none)']).toMatchObject({ calls: 50, commits: 50 });
    expect(stats.byPrefix['(other)']!.calls).toBeGreaterThan(0);
    expectGroupsAddUp(stats);
  });
});
