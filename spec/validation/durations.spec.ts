import { createRedlock, createTransactor, InvalidOptionsError, LockUnavailableError, resolveRetryPolicy, type Transactor } from '../../lib';
import { resourceKeys } from '../../lib/lock/lock-keys';
import { commandsProcessed, useRedis } from '../support/redis';

const redis = useRedis();
const transactor = (): Promise<Transactor> => redis.transactor();

const TOO_LONG = 'must be at most 2147483647 (the longest timer Node can set)';
const LEASE = 'must be a positive number of milliseconds, at least 20 (a lease must outlast a round trip)';
const WAIT = 'must be 0 or a positive number of milliseconds';

describe('durations: one rule set for every one', () => {
  it.each<[string, () => unknown, string]>([
    ['deadlineMs 2^31', () => resolveRetryPolicy({ deadlineMs: 2 ** 31 }), `retry.deadlineMs: ${TOO_LONG}, got 2147483648`],
    ['deadlineMs MAX_SAFE_INTEGER', () => resolveRetryPolicy({ deadlineMs: Number.MAX_SAFE_INTEGER }), `retry.deadlineMs: ${TOO_LONG}, got 9007199254740991`],
    ['deadlineMs Infinity', () => resolveRetryPolicy({ deadlineMs: Infinity }), 'retry.deadlineMs: must be a positive number of milliseconds or null, got Infinity'],
    ['deadlineMs 1.5', () => resolveRetryPolicy({ deadlineMs: 1.5 }), 'retry.deadlineMs: must be a whole number of milliseconds, got 1.5'],
    ['baseDelayMs NaN', () => resolveRetryPolicy({ baseDelayMs: NaN }), 'retry.baseDelayMs: must be 0 or more, got NaN'],
    ['transactor retry.deadlineMs 2^31', () => createTransactor(undefined as never, { retry: { deadlineMs: 2 ** 31 } }), `options.retry.deadlineMs: ${TOO_LONG}, got 2147483648`],
    ['transactor lock.ttlMs 2^31', () => createTransactor(undefined as never, { lock: { ttlMs: 2 ** 31 } }), `options.lock.ttlMs: ${TOO_LONG}, got 2147483648`],
    ['transactor lock.ttlMs 5', () => createTransactor(undefined as never, { lock: { ttlMs: 5 } }), `options.lock.ttlMs: ${LEASE}, got 5`],
    ['transactor lock.acquireTimeoutMs NaN', () => createTransactor(undefined as never, { lock: { acquireTimeoutMs: NaN } }), `options.lock.acquireTimeoutMs: ${WAIT}, got NaN`],
    ['redlock nodeTimeoutMs 2^31', () => createRedlock([], { nodeTimeoutMs: 2 ** 31 }), `options.nodeTimeoutMs: ${TOO_LONG}, got 2147483648`],
    ['redlock nodeTimeoutMs 1.5', () => createRedlock([], { nodeTimeoutMs: 1.5 }), 'options.nodeTimeoutMs: must be a whole number of milliseconds, got 1.5'],
    ['redlock retryDelayMs 2^31', () => createRedlock([], { retryDelayMs: 2 ** 31 }), `options.retryDelayMs: ${TOO_LONG}, got 2147483648`],
    ['redlock retryDelayMs -1', () => createRedlock([], { retryDelayMs: -1 }), `options.retryDelayMs: ${WAIT}, got -1`],
    ['redlock acquireTimeoutMs "1s"', () => createRedlock([], { acquireTimeoutMs: '1s' as never }), `options.acquireTimeoutMs: ${WAIT}, got "1s"`],
  ])('refuses %s, naming it', (_, make, message) => {
    expect(make).toThrow(InvalidOptionsError);
    expect(make).toThrow(message);
  });

  it('takes the longest a timer can wait', () => {
    expect(resolveRetryPolicy({ deadlineMs: 2_147_483_647 }).deadlineMs).toBe(2_147_483_647);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['retry.deadlineMs 2^31', { retry: { deadlineMs: 2 ** 31 } }, `options.retry.deadlineMs: ${TOO_LONG}, got 2147483648`],
    ['lock.ttlMs 1.5', { mode: 'lock', lock: { ttlMs: 1.5 } }, `options.lock.ttlMs: ${LEASE}, got 1.5`],
    ['lock.acquireTimeoutMs 2^31', { mode: 'lock', lock: { acquireTimeoutMs: 2 ** 31 } }, `options.lock.acquireTimeoutMs: ${TOO_LONG}, got 2147483648`],
  ])('a call with %s is refused before anything is sent', async (_, options, message) => {
    const admin = await redis.connect();
    const tx = await transactor();
    const before = await commandsProcessed(admin);

    await expect(tx.transact(['k'], (t) => void t.write.set('k', '1'), options as never)).rejects.toThrow(`invalid options: ${message}`);
    expect(await commandsProcessed(admin)).toBe(before + 1); // the INFO above
    expect(await admin.exists('k')).toBe(0);
  });
});

describe('lock.extend(ttlMs) with a bad argument', () => {
  it.each<[unknown, string]>([
    [0, `ttlMs: ${LEASE}, got 0`],
    [-1, `ttlMs: ${LEASE}, got -1`],
    [5, `ttlMs: ${LEASE}, got 5`],
    [NaN, `ttlMs: ${LEASE}, got NaN`],
    [1.5, `ttlMs: ${LEASE}, got 1.5`],
    [25.5, 'ttlMs: must be a whole number of milliseconds, got 25.5'],
    ['abc', `ttlMs: ${LEASE}, got "abc"`],
    [2 ** 31, `ttlMs: ${TOO_LONG}, got 2147483648`],
  ])('refuses %p before sending anything, and the lock stays held', async (ttlMs, message) => {
    const admin = await redis.connect();
    const tx = await transactor();
    const competitor = await transactor();
    const lock = await tx.lock(['r'], { ttlMs: 60_000 });
    const pttl = await admin.pTTL(resourceKeys('r').lock);
    const before = await commandsProcessed(admin);

    const refused = lock.extend(ttlMs as number);
    await expect(refused).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(refused).rejects.toThrow(`invalid options: ${message}`);
    expect(await commandsProcessed(admin)).toBe(before + 1); // the INFO above: nothing reached Redis

    const after = await admin.pTTL(resourceKeys('r').lock);
    expect(after).toBeGreaterThan(0);
    expect(after).toBeLessThanOrEqual(pttl); // not renewed, not shortened to the bad value
    expect(await admin.get(resourceKeys('r').lock)).toBe(lock.token);
    expect(lock.held).toBe(true);
    await expect(competitor.lock(['r'], { acquireTimeoutMs: 0 })).rejects.toBeInstanceOf(LockUnavailableError);
    expect(await lock.release()).toBe(true);
  });
});
