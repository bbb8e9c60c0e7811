import { z } from 'zod';
import { InvalidOptionsError, type OptionIssue } from '../errors/usage-errors.js';

/**
 * Parses user input with a zod schema, once, at the boundary. On failure throws one
 * {@link InvalidOptionsError} naming every bad field (`retry.maxAttempts: must be a positive
 * integer, got 0`), with zod's error kept as `cause` for programs that want the raw issues.
 * Input that throws while zod reads it (a getter, a Proxy trap, a revoked Proxy) is refused the
 * same way, naming `root`: see {@link unreadableInput}.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  root: string,
  source?: string,
): z.output<S> {
  let result: z.ZodSafeParseResult<z.output<S>>;
  try {
    result = schema.safeParse(input, { reportInput: true });
  } catch (err) {
    // zod reports bad values but lets what the input itself throws through. zod does not say
    // which field it was reading, so the error names the whole input.
    throw unreadableInput(root, err, source);
  }
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

/**
 * The error for input that threw while being read: `options: could not be read: boom`, with what
 * it threw as `cause`. Callers read input inside one guard and build this error from its catch,
 * so no getter or Proxy trap of the caller's can throw a raw error out of the library.
 */
export function unreadableInput(path: string, thrown: unknown, source?: string): InvalidOptionsError {
  return new InvalidOptionsError([{ path, message: `could not be read: ${reasonOf(thrown)}` }], {
    cause: thrown,
    ...(source === undefined ? {} : { source }),
  });
}

/** What was thrown, in words. Reading it may throw in turn (a revoked Proxy, a `message` getter). */
function reasonOf(thrown: unknown): string {
  try {
    if (thrown instanceof Error) return String(thrown.message);
  } catch {
    // fall back to its kind
  }
  return describeValue(thrown);
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

/** A short, log-safe rendering of a bad value for error messages. Never throws: it reads nothing of the value. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  try {
    if (Array.isArray(value)) return 'an array';
  } catch {
    // a revoked Proxy: Array.isArray throws on it
  }
  return 'an object';
}
