import { DEFAULT_RETRY_POLICY, InvalidOptionsError, resolveRetryPolicy } from '../../lib';

describe('resolveRetryPolicy', () => {
  it('has documented defaults', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({
      maxAttempts: 10,
      backoff: 'exponential',
      baseDelayMs: 5,
      maxDelayMs: 250,
      jitter: 'full',
      deadlineMs: null,
    });
    expect(Object.isFrozen(DEFAULT_RETRY_POLICY)).toBe(true);
  });

  it('lays given fields over the base and freezes the result', () => {
    const base = resolveRetryPolicy({ maxAttempts: 20, deadlineMs: 1000 });
    const policy = resolveRetryPolicy({ backoff: 'fixed', deadlineMs: null }, base);
    expect(policy).toEqual({ ...DEFAULT_RETRY_POLICY, maxAttempts: 20, backoff: 'fixed', deadlineMs: null });
    expect(Object.isFrozen(policy)).toBe(true);
  });

  it.each([
    [{ maxAttempts: 0 }, 'retry.maxAttempts: must be a positive integer, got 0'],
    [{ maxAttempts: 2.5 }, 'retry.maxAttempts: must be a positive integer, got 2.5'],
    [{ maxAttempts: '3' }, 'retry.maxAttempts: must be a positive integer, got "3"'],
    [{ backoff: 'linear' }, 'retry.backoff: must be one of "none", "fixed", "exponential", "decorrelated", got "linear"'],
    [{ jitter: true }, 'retry.jitter: must be one of "none", "full", "equal", got true'],
    [{ baseDelayMs: -5 }, 'retry.baseDelayMs: must be 0 or more, got -5'],
    [{ maxDelayMs: 7_200_000 }, 'retry.maxDelayMs: must be at most 3600000 (one hour), got 7200000'],
    [{ deadlineMs: 0 }, 'retry.deadlineMs: must be a positive number of milliseconds or null, got 0'],
    [{ maxAttempt: 3 }, 'retry.maxAttempt: is not a known option'],
    [{ baseDelayMs: 50, maxDelayMs: 10 }, 'retry.maxDelayMs: must be at least baseDelayMs (50), got 10'],
    ['fast', 'retry: must be an object, got "fast"'],
  ])('refuses %j: %s', (input, message) => {
    expect(() => resolveRetryPolicy(input)).toThrow(InvalidOptionsError);
    expect(() => resolveRetryPolicy(input)).toThrow(`invalid options: ${message}`);
  });

  it('reports every bad field at once, with paths for programs', () => {
    let error: unknown;
    try {
      resolveRetryPolicy({ maxAttempts: -1, jitter: 'lots', extra: 1 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).issues.map((i) => i.path).sort()).toEqual([
      'retry.extra',
      'retry.jitter',
      'retry.maxAttempts',
    ]);
    expect((error as InvalidOptionsError).code).toBe('ERR_TRANSACT_INVALID_OPTIONS');
  });
});
