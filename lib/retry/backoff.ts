import type { RetryPolicy } from './retry-policy.js';

/**
 * The delay before retry number `retry` (1 = the first retry), in whole milliseconds, as the engine
 * draws it. `previousDelayMs` (the delay before the previous retry) feeds decorrelated jitter.
 *
 * @example
 * ```ts
 * backoffDelay(resolveRetryPolicy({ backoff: 'fixed', baseDelayMs: 40, jitter: 'none' }), 3, 40); // 40
 * ```
 */
export function backoffDelay(policy: RetryPolicy, retry: number, previousDelayMs: number): number {
  return backoffDelayWith(policy, retry, previousDelayMs, Math.random);
}

/**
 * {@link backoffDelay} with its randomness given: `random` returns a number in `[0, 1)`. Whole
 * milliseconds (timers wait whole milliseconds anyway), rounded to the nearest. @internal
 */
export function backoffDelayWith(policy: RetryPolicy, retry: number, previousDelayMs: number, random: () => number): number {
  return Math.round(unroundedDelay(policy, retry, previousDelayMs, random));
}

function unroundedDelay(policy: RetryPolicy, retry: number, previousDelayMs: number, random: () => number): number {
  const { baseDelayMs: base, maxDelayMs: cap } = policy;
  switch (policy.backoff) {
    case 'none':
      return 0;
    case 'decorrelated': {
      const upper = Math.min(cap, Math.max(base, previousDelayMs * 3));
      return base + random() * (upper - base);
    }
    case 'fixed':
      return applyJitter(policy, Math.min(cap, base), random);
    case 'exponential':
      // 2 ** 1024 is Infinity, which Math.min caps; no overflow handling needed.
      return applyJitter(policy, Math.min(cap, base * 2 ** (retry - 1)), random);
  }
}

function applyJitter(policy: RetryPolicy, delay: number, random: () => number): number {
  switch (policy.jitter) {
    case 'none':
      return delay;
    case 'full':
      return random() * delay;
    case 'equal':
      return delay / 2 + (random() * delay) / 2;
  }
}
