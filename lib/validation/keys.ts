import { InvalidOptionsError, type OptionIssue } from '../errors/usage-errors.js';
import { describeValue } from './parse-input.js';

/**
 * Checks a key list by hand rather than with zod: it runs on every call, and the error must
 * still name each bad entry. Returns the keys without duplicates.
 */
export function validateKeys(keys: unknown, path: string, allowEmpty = false): string[] {
  if (!Array.isArray(keys)) {
    throw new InvalidOptionsError([{ path, message: `must be an array of key names, got ${describeValue(keys)}` }]);
  }
  if (keys.length === 0 && !allowEmpty) {
    throw new InvalidOptionsError([{ path, message: 'must name at least one key' }]);
  }
  const issues: OptionIssue[] = [];
  for (let i = 0; i < keys.length; i++) {
    const key: unknown = keys[i];
    if (typeof key !== 'string' || key.length === 0) {
      issues.push({ path: `${path}[${i}]`, message: `must be a non-empty string, got ${describeValue(key)}` });
    }
  }
  if (issues.length > 0) throw new InvalidOptionsError(issues);
  return keys.length === 1 ? [keys[0] as string] : [...new Set(keys as string[])];
}
