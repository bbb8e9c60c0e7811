import { backoffDelay, DEFAULT_RETRY_POLICY, resolveRetryPolicy, type RetryPolicy } from '../../lib';
import { backoffDelayWith } from '../../lib/retry/backoff';

const policy = (fields: Partial<RetryPolicy>): RetryPolicy => resolveRetryPolicy(fields, DEFAULT_RETRY_POLICY);
const draws = (p: RetryPolicy, retry: number, previous = 0) =>
  Array.from({ length: 2_000 }, () => backoffDelay(p, retry, previous));

describe('backoffDelay', () => {
  it('none: always 0', () => {
    expect(draws(policy({ backoff: 'none' }), 7).every((d) => d === 0)).toBe(true);
  });

  it('fixed without jitter: exactly the base delay', () => {
    expect(backoffDelay(policy({ backoff: 'fixed', baseDelayMs: 40, jitter: 'none' }), 9, 0)).toBe(40);
  });

  it('exponential without jitter: doubles from the base and stops at the cap', () => {
    const p = policy({ backoff: 'exponential', baseDelayMs: 10, maxDelayMs: 100, jitter: 'none' });
    expect([1, 2, 3, 4, 5, 6, 1_000_000].map((n) => backoffDelay(p, n, 0))).toEqual([10, 20, 40, 80, 100, 100, 100]);
  });

  it('full jitter: every draw in [0, delay], spread over the range', () => {
    const d = draws(policy({ backoff: 'exponential', baseDelayMs: 10, maxDelayMs: 1000, jitter: 'full' }), 3);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...d)).toBeLessThanOrEqual(40);
    expect(Math.min(...d)).toBeLessThan(4); // reaches both ends of the range
    expect(Math.max(...d)).toBeGreaterThan(36);
  });

  it('equal jitter: every draw in [delay/2, delay]', () => {
    const d = draws(policy({ backoff: 'fixed', baseDelayMs: 100, maxDelayMs: 100, jitter: 'equal' }), 1);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...d)).toBeLessThanOrEqual(100);
    expect(Math.min(...d)).toBeLessThan(55);
  });

  it('decorrelated: between the base and three times the previous delay, capped', () => {
    const p = policy({ backoff: 'decorrelated', baseDelayMs: 10, maxDelayMs: 200 });
    const d = draws(p, 4, 50);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...d)).toBeLessThanOrEqual(150);
    expect(draws(p, 9, 1_000).every((x) => x >= 10 && x <= 200)).toBe(true);
    expect(backoffDelayWith(p, 1, 0, () => 0.5)).toBe(10); // first retry: nothing before it
    expect(backoffDelayWith(p, 2, 40, () => 0.5)).toBe(65);
  });
});
