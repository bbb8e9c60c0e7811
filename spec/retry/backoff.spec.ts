import { backoffDelay, DEFAULT_RETRY_POLICY, resolveRetryPolicy, type RetryPolicy } from '../../lib';
import { backoffDelayWith } from '../../lib/retry/backoff';

const policy = (fields: Partial<RetryPolicy>): RetryPolicy => resolveRetryPolicy(fields, DEFAULT_RETRY_POLICY);
const draws = (p: RetryPolicy, retry: number, previous = 0) =>
  Array.from({ length: 2_000 }, () => backoffDelay(p, retry, previous));
/** A draw just below 1 (`random` returns numbers in [0, 1)): the top of the range. */
const TOP = 1 - Number.EPSILON / 2;
/**
 * Which tenths of [low, high] the draws fall in. 2,000 uniform draws miss a given tenth with
 * probability 0.9^2000 (about 4e-92): a tenth without draws means they are not spread.
 */
const tenthsHit = (d: number[], low: number, high: number) =>
  Array.from({ length: 10 }, (_, i) => d.some((x) => Math.min(9, Math.floor(((x - low) / (high - low)) * 10)) === i));
const ALL_TENTHS = Array.from({ length: 10 }, () => true);

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
    const p = policy({ backoff: 'exponential', baseDelayMs: 10, maxDelayMs: 1000, jitter: 'full' });
    // The draw scales the whole delay (40 ms at retry 3): 0 at one end, the delay at the other.
    expect([0, 0.25, 0.5, 0.75].map((r) => backoffDelayWith(p, 3, 0, () => r))).toEqual([0, 10, 20, 30]);
    expect(backoffDelayWith(p, 3, 0, () => TOP)).toBeCloseTo(40, 9);
    const d = draws(p, 3);
    expect(d.every((x) => x >= 0 && x <= 40)).toBe(true);
    expect(Math.min(...d)).toBeLessThan(4); // reaches both ends of the range
    expect(Math.max(...d)).toBeGreaterThan(36);
    expect(tenthsHit(d, 0, 40)).toEqual(ALL_TENTHS); // and everything between
  });

  it('equal jitter: every draw in [delay/2, delay]', () => {
    const p = policy({ backoff: 'fixed', baseDelayMs: 100, maxDelayMs: 100, jitter: 'equal' });
    // Half the delay for sure, the other half drawn.
    expect([0, 0.5].map((r) => backoffDelayWith(p, 1, 0, () => r))).toEqual([50, 75]);
    expect(backoffDelayWith(p, 1, 0, () => TOP)).toBeCloseTo(100, 9);
    const d = draws(p, 1);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(50);
    expect(Math.max(...d)).toBeLessThanOrEqual(100);
    expect(Math.min(...d)).toBeLessThan(55);
    expect(Math.max(...d)).toBeGreaterThan(95);
    expect(tenthsHit(d, 50, 100)).toEqual(ALL_TENTHS);
  });

  it('decorrelated: between the base and three times the previous delay, capped', () => {
    const p = policy({ backoff: 'decorrelated', baseDelayMs: 10, maxDelayMs: 200 });
    // After 50 ms: from the base (10) up to 3 × 50.
    expect([0, 0.5].map((r) => backoffDelayWith(p, 4, 50, () => r))).toEqual([10, 80]);
    expect(backoffDelayWith(p, 4, 50, () => TOP)).toBeCloseTo(150, 9);
    const d = draws(p, 4, 50);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...d)).toBeLessThanOrEqual(150);
    expect(tenthsHit(d, 10, 150)).toEqual(ALL_TENTHS);
    // After 1000 ms: 3 × 1000 is past the cap, so up to 200.
    expect([0, 0.5].map((r) => backoffDelayWith(p, 9, 1_000, () => r))).toEqual([10, 105]);
    expect(backoffDelayWith(p, 9, 1_000, () => TOP)).toBeCloseTo(200, 9);
    const capped = draws(p, 9, 1_000);
    expect(capped.every((x) => x >= 10 && x <= 200)).toBe(true);
    expect(tenthsHit(capped, 10, 200)).toEqual(ALL_TENTHS);
    expect(backoffDelayWith(p, 1, 0, () => 0.5)).toBe(10); // first retry: nothing before it
    expect(backoffDelayWith(p, 1, 0, () => TOP)).toBe(10);
    expect(backoffDelayWith(p, 2, 40, () => 0.5)).toBe(65);
  });
});
