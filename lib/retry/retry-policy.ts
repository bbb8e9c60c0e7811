import { z } from 'zod';
import { InvalidOptionsError } from '../errors/usage-errors.js';
import { durationMs } from '../validation/duration.js';
import { parseInput } from '../validation/parse-input.js';

/** How the delay between attempts grows. See {@link RetryPolicy.backoff}. */
export type BackoffKind = 'none' | 'fixed' | 'exponential' | 'decorrelated';
/** How randomness is applied to a `fixed` or `exponential` delay. See {@link RetryPolicy.jitter}. */
export type JitterKind = 'none' | 'full' | 'equal';

/**
 * A validated, immutable retry policy. Plain JSON data: operators can keep it in a file or an
 * environment variable ({@link loadRetryPolicy}).
 */
export interface RetryPolicy {
  /**
   * Attempts in all, the first included. A conflict (or a connection lost before EXEC) on the
   * last attempt ends the call with `TransactConflictError` (or `TransactConnectionError`).
   * @defaultValue 10
   */
  readonly maxAttempts: number;
  /**
   * `none`: retry at once. `fixed`: `baseDelayMs` each time. `exponential`:
   * `baseDelayMs * 2^(retry-1)`, capped at `maxDelayMs`. `decorrelated`: AWS-style decorrelated
   * jitter, a random delay between `baseDelayMs` and three times the previous one, capped.
   * @defaultValue `'exponential'`
   */
  readonly backoff: BackoffKind;
  /** First delay, in whole milliseconds (0 to 3600000). @defaultValue 5 */
  readonly baseDelayMs: number;
  /** Largest delay, in milliseconds; must be at least `baseDelayMs`. @defaultValue 250 */
  readonly maxDelayMs: number;
  /**
   * Randomness on `fixed` and `exponential` delays, so that callers that collided do not collide
   * again: `full` draws from `[0, delay]`, `equal` from `[delay/2, delay]`, `none` uses the delay
   * as is. Ignored by `none` and `decorrelated` (which is random by construction).
   * @defaultValue `'full'`
   */
  readonly jitter: JitterKind;
  /**
   * Time budget for the whole call, in milliseconds, covering waits for a connection, `fn`,
   * and sleeps between attempts. `null`: no deadline. A sleep that would end past the deadline
   * ends the call with `TransactTimeoutError` at once instead. Whole milliseconds, 1 to
   * 2147483647 (the longest timer Node can set: a longer one would fire after 1 ms).
   * @defaultValue `null`
   */
  readonly deadlineMs: number | null;
}

/** Any subset of {@link RetryPolicy}; missing fields come from the policy it is applied to. */
export type RetryPolicyInput = Partial<RetryPolicy>;

/** The policy used when none is given. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 10,
  backoff: 'exponential',
  baseDelayMs: 5,
  maxDelayMs: 250,
  jitter: 'full',
  deadlineMs: null,
});

const MAX_DELAY_MS = 3_600_000;
const delayMs = durationMs({ min: 0, rule: 'must be 0 or more', max: MAX_DELAY_MS, maxReason: 'one hour' });

/** Zod schema of {@link RetryPolicyInput}: every field optional, unknown fields refused. */
export const retryPolicyInputSchema = z.strictObject(
  {
  maxAttempts: z
    .number({ error: 'must be a positive integer' })
    .int({ error: 'must be a positive integer' })
    .min(1, { error: 'must be a positive integer' })
    .max(100_000, { error: 'must be at most 100000' })
    .optional(),
  backoff: z.enum(['none', 'fixed', 'exponential', 'decorrelated'], {
    error: 'must be one of "none", "fixed", "exponential", "decorrelated"',
  }).optional(),
  baseDelayMs: delayMs.optional(),
  maxDelayMs: delayMs.optional(),
  jitter: z.enum(['none', 'full', 'equal'], { error: 'must be one of "none", "full", "equal"' }).optional(),
  deadlineMs: durationMs({ min: 1, rule: 'must be a positive number of milliseconds or null' }).nullable().optional(),
  },
  { error: 'must be an object' },
);

/**
 * Validates `input` and lays it over `base`, giving a frozen {@link RetryPolicy}. Throws
 * {@link InvalidOptionsError} naming each bad field (e.g. `retry.maxAttempts`).
 *
 * @example
 * ```ts
 * const policy = resolveRetryPolicy({ maxAttempts: 20, backoff: 'decorrelated' });
 * ```
 */
export function resolveRetryPolicy(input: unknown, base: RetryPolicy = DEFAULT_RETRY_POLICY): RetryPolicy {
  return resolveRetryPolicyAt(input, base, 'retry');
}

/**
 * {@link resolveRetryPolicy}, naming bad fields under `root` and saying where the input came from
 * (`source`, e.g. `env REDIS_TRANSACT_RETRY`). @internal
 */
export function resolveRetryPolicyAt(input: unknown, base: RetryPolicy, root: string, source?: string): RetryPolicy {
  if (input === undefined) return base;
  return mergeRetryPolicy(base, parseInput(retryPolicyInputSchema, input, root, source), root, source);
}

/** Lays already-parsed fields over `base` and checks the rules that span fields. */
export function mergeRetryPolicy(
  base: RetryPolicy,
  parsed: z.output<typeof retryPolicyInputSchema> | undefined,
  root = 'retry',
  source?: string,
): RetryPolicy {
  if (parsed === undefined) return base;
  const fields: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(parsed)) {
    if (value !== undefined) fields[key] = value;
  }
  const policy = fields as unknown as RetryPolicy;
  if (policy.maxDelayMs < policy.baseDelayMs) {
    const path = root ? `${root}.maxDelayMs` : 'maxDelayMs';
    throw new InvalidOptionsError(
      [{ path, message: `must be at least baseDelayMs (${policy.baseDelayMs}), got ${policy.maxDelayMs}` }],
      source === undefined ? undefined : { source },
    );
  }
  return Object.freeze(policy);
}
