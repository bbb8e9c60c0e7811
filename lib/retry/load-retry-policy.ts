import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InvalidOptionsError } from '../errors/usage-errors.js';
import { parseInput } from '../validation/parse-input.js';
import { DEFAULT_RETRY_POLICY, resolveRetryPolicyAt, type RetryPolicy } from './retry-policy.js';

/** Where {@link loadRetryPolicy} reads a policy from. */
export interface RetryPolicySource {
  /** Path of a JSON file holding a policy object (any subset of its fields). */
  file?: string;
  /**
   * Name of an environment variable holding a policy as JSON. An unset or empty variable is
   * skipped; its fields override the file's.
   */
  env?: string;
  /** The policy missing fields come from. @defaultValue {@link DEFAULT_RETRY_POLICY} */
  base?: RetryPolicy;
}

/**
 * The source's own fields. Others are ignored; `base` is taken as given, not copied (it is
 * normally a frozen policy from `resolveRetryPolicy` or a constant).
 */
const retryPolicySourceSchema = z.object(
  {
    file: z.string({ error: 'must be a file path' }).optional(),
    env: z.string({ error: 'must be the name of an environment variable' }).optional(),
    base: z.custom<RetryPolicy>((v) => typeof v === 'object' && v !== null, { error: 'must be a retry policy' }).optional(),
  },
  { error: 'must name a file, an env variable, or both' },
);

/**
 * Loads a retry policy that operators can tune without touching code: from a JSON file, an
 * environment variable, or both (the variable's fields win), over `base`. Fails with
 * {@link InvalidOptionsError} naming the source and every bad field, e.g.
 * `invalid options in env REDIS_TRANSACT_RETRY: maxAttempts: must be a positive integer, got 0`.
 *
 * @example
 * ```ts
 * const retry = loadRetryPolicy({ file: 'config/retry.json', env: 'REDIS_TRANSACT_RETRY' });
 * const tx = createTransactor(client, { retry });
 * ```
 */
export function loadRetryPolicy(source: RetryPolicySource): RetryPolicy {
  // Parsed like every other input, so that a source that throws while being read is refused as
  // invalid too, and each field is read once.
  const { file, env, base } = parseInput(retryPolicySourceSchema, source, 'source');
  if (file === undefined && env === undefined) {
    throw new InvalidOptionsError([{ path: 'source', message: 'must name a file, an env variable, or both' }]);
  }
  let policy = base ?? DEFAULT_RETRY_POLICY;
  if (file !== undefined) {
    const where = `file ${file}`;
    policy = resolveRetryPolicyAt(parseJson(readText(file, where), where), policy, '', where);
  }
  if (env !== undefined) {
    const text = process.env[env];
    if (text !== undefined && text.trim() !== '') {
      const where = `env ${env}`;
      policy = resolveRetryPolicyAt(parseJson(text, where), policy, '', where);
    }
  }
  return policy;
}

function readText(path: string, where: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidOptionsError([{ path: '', message: `cannot be read: ${(err as Error).message}` }], {
      cause: err,
      source: where,
    });
  }
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidOptionsError([{ path: '', message: `is not valid JSON: ${(err as Error).message}` }], {
      cause: err,
      source: where,
    });
  }
}
