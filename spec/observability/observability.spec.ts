import { performance } from 'node:perf_hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createTransactor, type LockAcquiredEvent, type TransactHooks } from '../../lib';
import { keyPrefixOf } from '../../lib/observability/stats';
import { useRedis } from '../support/redis';

const redis = useRedis();

describe('stats()', () => {
  it('counts calls, commits, failures, attempts, conflicts and escalations, in all and by key prefix', async () => {
    const other = await redis.connect();
    const tx = createTransactor(await redis.connect(), { retry: { backoff: 'none' }, auto: { escalateAfter: 1 } });

    await tx.transact(['stock:1'], (t) => void t.write.set('stock:1', '1'));
    await tx.transact(['stock:2'], async (t) => {
      await t.read.get('stock:2');
      if (t.attempt === 1) await other.set('stock:2', 'x');
      t.write.set('stock:2', '2');
    }, { mode: 'auto' });
    await expect(tx.transact(['{orders:7}:list'], () => Promise.reject(new Error('no')))).rejects.toThrow('no');

    expect(tx.stats()).toEqual({
      calls: 3, commits: 2, failures: 1, attempts: 4, conflicts: 1, escalations: 1, lockWaits: 0, lockWaitsGivenUp: 0, lockWaitMs: 0,
      byPrefix: {
        stock: { calls: 2, commits: 2, failures: 0, attempts: 3, conflicts: 1, escalations: 1, lockWaits: 0, lockWaitsGivenUp: 0, lockWaitMs: 0 },
        orders: { calls: 1, commits: 0, failures: 1, attempts: 1, conflicts: 0, escalations: 0, lockWaits: 0, lockWaitsGivenUp: 0, lockWaitMs: 0 },
      },
    });
    expect(Object.isFrozen(tx.stats())).toBe(true);
    expect([keyPrefixOf('stock:42'), keyPrefixOf('{order:42}:stock'), keyPrefixOf('plain')]).toEqual(['stock', 'order', '(none)']);
    await tx.close();
  });
});

describe('hooks', () => {
  it('report attempts, conflicts, retries, commits and lock events with frozen events', async () => {
    const other = await redis.connect();
    const seen: string[] = [];
    const notFrozen: string[] = [];
    const commitDurations: number[] = [];
    /** Records `line`, and `hook` if the event it was handed can still be changed. */
    const note = (hook: string, event: object, line: string) => {
      if (!Object.isFrozen(event)) notFrozen.push(hook);
      seen.push(line);
    };
    const hooks: TransactHooks = {
      onAttempt: (e) => note('onAttempt', e, `attempt ${e.attempt} ${e.mode}`),
      onConflict: (e) => note('onConflict', e, `conflict ${e.attempt}`),
      onRetry: (e) => note('onRetry', e, `retry ${e.attempt} ${e.reason} ${e.delayMs}ms`),
      onCommit: (e) => {
        commitDurations.push(e.durationMs);
        note('onCommit', e, `commit after ${e.attempts} (${e.mode})`);
      },
      onLockAcquired: (e: LockAcquiredEvent) => note('onLockAcquired', e, `lock ${e.resources.join(',')} ${Number.isSafeInteger(e.fencingToken) && e.fencingToken > 0}`),
      onLockExtended: (e) => note('onLockExtended', e, `extended ${e.resources.join(',')} ${e.validityMs > 0 && e.validityMs <= 60}`),
      onLockLost: (e) => note('onLockLost', e, `lost ${e.resources.join(',')} ${e.error.code}`),
    };
    const tx = createTransactor(await redis.connect(), { hooks, retry: { backoff: 'fixed', baseDelayMs: 1, maxDelayMs: 1, jitter: 'none' } });

    const startedAt = performance.now();
    await tx.transact(['k'], async (t) => {
      await t.read.get('k');
      if (t.attempt === 1) await other.set('k', 'x');
      t.write.set('k', 'y');
    });
    const elapsed = performance.now() - startedAt;
    const lock = await tx.lock(['r'], { ttlMs: 60 });
    await lock.extend();
    await new Promise((resolve) => lock.signal.addEventListener('abort', resolve)); // lease runs out unrenewed

    expect(seen).toEqual([
      'attempt 1 optimistic',
      'conflict 1',
      'retry 1 conflict 1ms',
      'attempt 2 optimistic',
      'commit after 2 (optimistic)',
      'lock r true',
      'extended r true',
      'lost r ERR_LOCK_LOST',
    ]);
    expect(notFrozen).toEqual([]); // every event handed to a hook was frozen
    // From the call to the commit: some time passed (two round trips and a backoff), within the call.
    expect(commitDurations).toHaveLength(1);
    expect(commitDurations[0]).toBeGreaterThan(0);
    expect(commitDurations[0]).toBeLessThanOrEqual(elapsed);
    await tx.close();
  });

  it('refuses a hook that is not a function, naming it', async () => {
    const client = await redis.connect();
    expect(() => createTransactor(client, { hooks: { onCommit: 'log' as never } })).toThrow('options.hooks.onCommit: must be a function, got "log"');
    expect(() => createTransactor(client, { hooks: { onWhatever: () => {} } as never })).toThrow('options.hooks.onWhatever: is not a known option');
  });
});

describe('OpenTelemetry', () => {
  it('records one span per transaction through the tracer it is given, with the outcome', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tx = createTransactor(await redis.connect(), { tracer: provider.getTracer('redis-transact') });

    await tx.transact(['a', 'b'], (t) => void t.write.set('a', '1'), { mode: 'lock' });
    await expect(tx.transact(['a'], () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['redis-transact transact', 'redis-transact transact']);
    expect(spans[0]!.attributes).toEqual({
      'db.system': 'redis', 'redis_transact.mode': 'lock', 'redis_transact.keys': 2, 'redis_transact.attempts': 1,
    });
    expect(spans[1]!.status).toEqual({ code: 2, message: 'refused' });
    expect(spans[1]!.events.map((e) => e.name)).toEqual(['exception']);
    await tx.close();
  });

  it('refuses a tracer that is not one', () => {
    expect(() => createTransactor(undefined as never, { tracer: {} as never })).toThrow('options.tracer: must be an OpenTelemetry tracer');
  });
});
