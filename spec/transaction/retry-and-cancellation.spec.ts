import { once } from 'node:events';
import {
  createTransactor,
  type RetryEvent,
  TransactAbortedError,
  TransactOutcomeUnknownError,
  TransactTimeoutError,
} from '../../lib';
import { commandsProcessed, useRedis, waitFor } from '../support/redis';

const redis = useRedis();

/** A transaction function that loses to a concurrent writer on every attempt up to `losing`. */
function contended(other: Awaited<ReturnType<typeof redis.connect>>, losing: number) {
  return async (t: { attempt: number; read: { get(k: string): Promise<unknown> }; write: { set(k: string, v: string): unknown } }) => {
    await t.read.get('hot');
    if (t.attempt <= losing) await other.incr('hot');
    t.write.set('hot', `attempt-${t.attempt}`);
    return t.attempt;
  };
}

describe('retry policy in action', () => {
  it('sleeps the delays the policy chooses, reported through onRetry', async () => {
    const client = await redis.connect();
    const other = await redis.connect();
    const events: RetryEvent[] = [];
    const tx = createTransactor(client, {
      retry: { backoff: 'exponential', baseDelayMs: 2, maxDelayMs: 5, jitter: 'none' },
      hooks: { onRetry: (e) => events.push(e) },
    });

    const result = await tx.transact(['hot'], contended(other, 4));

    expect(result).toMatchObject({ value: 5, attempts: 5 });
    expect(events.map((e) => [e.attempt, e.reason, e.delayMs])).toEqual([
      [1, 'conflict', 2],
      [2, 'conflict', 4],
      [3, 'conflict', 5],
      [4, 'conflict', 5],
    ]);
    expect(Object.isFrozen(events[0])).toBe(true);
    expect(events[0]!.keys).toEqual(['hot']);
    await tx.close();
  });

  it('lets one call override the transactor policy', async () => {
    const client = await redis.connect();
    const other = await redis.connect();
    const tx = createTransactor(client, { retry: { maxAttempts: 2, backoff: 'none' } });

    const result = await tx.transact(['hot'], contended(other, 3), { retry: { maxAttempts: 4 } });

    expect(result.attempts).toBe(4);
    expect(tx.retryPolicy.maxAttempts).toBe(2);
    await tx.close();
  });
});

describe('cancellation', () => {
  it('rejects with TransactAbortedError, carrying signal.reason, when aborted before the call', async () => {
    const client = await redis.connect();
    const tx = createTransactor(client);
    await tx.transact(['warm'], () => 1);
    const reason = new Error('request cancelled');
    const before = await commandsProcessed(client);

    const failure = tx.transact(['k'], (t) => void t.write.set('k', '1'), { signal: AbortSignal.abort(reason) });

    await expect(failure).rejects.toBeInstanceOf(TransactAbortedError);
    await expect(failure).rejects.toMatchObject({ code: 'ERR_TRANSACT_ABORTED', cause: reason });
    expect(await commandsProcessed(client)).toBe(before + 1);
    await tx.close();
  });

  it('stops during a backoff sleep when the signal aborts, without another attempt', async () => {
    const client = await redis.connect();
    const other = await redis.connect();
    const controller = new AbortController();
    const tx = createTransactor(client, {
      retry: { backoff: 'fixed', baseDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none' },
      hooks: { onRetry: () => setImmediate(() => controller.abort(new Error('shutting down'))) },
    });
    let calls = 0;

    const failure = tx.transact(['hot'], async (t) => {
      calls++;
      return contended(other, 10)(t);
    }, { signal: controller.signal });

    await expect(failure).rejects.toMatchObject({ code: 'ERR_TRANSACT_ABORTED', attempts: 1 });
    expect(calls).toBe(1);
    expect(await client.get('hot')).toBe('1'); // only the concurrent writer's increment
    await tx.close();
  });

  it('aborts t.signal and writes nothing when the deadline passes while fn runs', async () => {
    const client = await redis.connect();
    const tx = createTransactor(client, { retry: { deadlineMs: 50 } });

    const failure = tx.transact(['k'], async (t) => {
      t.write.set('k', 'late');
      await once(t.signal, 'abort'); // slow work that honours the signal
    });

    await expect(failure).rejects.toBeInstanceOf(TransactTimeoutError);
    await expect(failure).rejects.toMatchObject({ deadlineMs: 50, attempts: 1 });
    expect(await client.get('k')).toBeNull();
    await tx.close();
  });

  it('fails at once, without sleeping, when the next delay would end past the deadline', async () => {
    const client = await redis.connect();
    const other = await redis.connect();
    const retries: RetryEvent[] = [];
    const tx = createTransactor(client, {
      retry: { backoff: 'fixed', baseDelayMs: 600_000, maxDelayMs: 600_000, jitter: 'none', deadlineMs: 30_000 },
      hooks: { onRetry: (e) => retries.push(e) },
    });

    const failure = tx.transact(['hot'], contended(other, 10));

    await expect(failure).rejects.toMatchObject({ code: 'ERR_TRANSACT_TIMEOUT', attempts: 1 });
    expect(retries).toEqual([]);
    await tx.close();
  });

  it('reports outcome unknown, not timeout, when the deadline passes with EXEC already sent', async () => {
    const client = await redis.connect();
    const admin = await redis.connect();
    const tx = createTransactor(client, { retry: { deadlineMs: 300 } });
    let sent = false;

    const failure = tx.transact(['k'], async (t) => {
      await t.read.get('k');
      await admin.sendCommand(['CLIENT', 'PAUSE', '10000', 'WRITE']); // the server stalls writes
      t.write.set('k', 'v');
      sent = true;
    });

    await expect(failure).rejects.toBeInstanceOf(TransactOutcomeUnknownError);
    await expect(failure).rejects.toMatchObject({ cause: expect.any(TransactTimeoutError) });
    expect(sent).toBe(true);
    await admin.sendCommand(['CLIENT', 'UNPAUSE']);
    await waitFor(
      async () => !/flags=\S*b/.test(await admin.sendCommand<string>(['CLIENT', 'LIST'])),
      'the server to drop the connection holding the stalled EXEC',
    );
    expect(await admin.get('k')).toBeNull(); // the held EXEC died with its dropped connection
    await tx.close();
  });
});
