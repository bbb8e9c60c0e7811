import { z } from 'zod';
import { InvalidOptionsError, type OptionIssue } from '../errors/usage-errors.js';

/**
 * Parses user input with a zod schema, once, at the boundary. On failure throws one
 * {@link InvalidOptionsError} naming every bad field (`retry.maxAttempts: must be a positive
 * integer, got 0`), with zod's error kept as `cause` for programs that want the raw issues.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  root: string,
  source?: string,
): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw new InvalidOptionsError(result.error.issues.flatMap((issue) => toOptionIssues(issue, root)), {
    cause: result.error,
    ...(source === undefined ? {} : { source }),
  });
}

function toOptionIssues(issue: z.core.$ZodIssue, root: string): OptionIssue[] {
  const path = joinPath(root, issue.path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: joinPath(path, [key]), message: 'is not a known option' }));
  }
  const input = (issue as { input?: unknown }).input;
  if (issue.code === 'invalid_type' && input === undefined) return [{ path, message: 'is required' }];
  return [{ path, message: `${issue.message}, got ${describeValue(input)}` }];
}

/** Joins a root name and a zod path into `a.b[2].c`. */
export function joinPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** A short, log-safe rendering of a bad value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'symbol' ? 'a symbol' : 'an object';
}
