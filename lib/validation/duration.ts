import { z } from 'zod';

/**
 * The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days). Node runs a longer one
 * after 1 ms instead, so a larger deadline or timeout would fire at once; Redis takes it, but the
 * timers that judge a lease here could not.
 */
export const MAX_DURATION_MS = 2_147_483_647;

/** The bounds of one duration option and how its message words them. */
export interface DurationRule {
  /** Smallest value allowed: 0 where "do not wait" makes sense, else 1 or more. */
  readonly min: number;
  /**
   * What a value below `min`, or one that is not a number at all, breaks, e.g.
   * `must be a positive number of milliseconds`.
   */
  readonly rule: string;
  /** Largest value allowed. @defaultValue {@link MAX_DURATION_MS} */
  readonly max?: number;
  /** Why the maximum is what it is, e.g. `one hour`. @defaultValue `the longest timer Node can set` */
  readonly maxReason?: string;
}

/**
 * The one schema every duration goes through (deadline, lease, waits, node timeout, retry
 * delays, `lock.extend`'s argument), so that they all refuse the same values with the same words:
 * not a finite number (NaN, Infinity, a string), not whole (Redis takes whole milliseconds for a
 * lease), below the option's minimum, or above what a Node timer can wait.
 * @internal
 */
export function durationMs(options: DurationRule): z.ZodNumber {
  const max = options.max ?? MAX_DURATION_MS;
  const maxReason = options.maxReason ?? 'the longest timer Node can set';
  // Bounds first, each ending the check: 1e300 is "too large", not "not whole" (zod counts
  // integers past 2^53 as not whole), and -0.5 is "too small". One message per bad value.
  return z
    .number({ error: options.rule })
    .max(max, { error: `must be at most ${max} (${maxReason})`, abort: true })
    .min(options.min, { error: options.rule, abort: true })
    .int({ error: 'must be a whole number of milliseconds' });
}
