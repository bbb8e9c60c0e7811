import { InvalidOptionsError, type OptionIssue } from '../errors/usage-errors.js';
import { describeValue, unreadableInput } from './parse-input.js';

/**
 * Checks a key list by hand rather than with zod: it runs on every call, and the error must
 * still name each bad entry. Returns the keys without duplicates.
 */
export function validateKeys(keys: unknown, path: string, allowEmpty = false): string[] {
  const copy = copyKeys(keys, path);
  if (copy === undefined) {
    throw new InvalidOptionsError([{ path, message: `must be an array of key names, got ${describeValue(keys)}` }]);
  }
  if (copy.length === 0 && !allowEmpty) {
    throw new InvalidOptionsError([{ path, message: 'must name at least one key' }]);
  }
  const issues: OptionIssue[] = [];
  for (let i = 0; i < copy.length; i++) {
    const key = copy[i];
    if (typeof key !== 'string' || key.length === 0) {
      issues.push({ path: `${path}[${i}]`, message: `must be a non-empty string, got ${describeValue(key)}` });
    }
  }
  if (issues.length > 0) throw new InvalidOptionsError(issues);
  return copy.length === 1 ? [copy[0] as string] : [...new Set(copy as string[])];
}

/**
 * Copies `keys` into a plain array, reading `length` and each index once: the copy is what gets
 * checked and used, so a getter or Proxy trap that answers differently on a second read cannot
 * slip an unchecked key past the check. What the reads throw (a getter, a trap, a revoked Proxy,
 * on which even `Array.isArray` throws) becomes an {@link InvalidOptionsError} naming the entry
 * being read. Undefined when `keys` is not an array.
 */
function copyKeys(keys: unknown, path: string): unknown[] | undefined {
  let reading = path;
  try {
    if (!Array.isArray(keys)) return undefined;
    const length = keys.length;
    const copy: unknown[] = [];
    for (let i = 0; i < length; i++) {
      reading = `${path}[${i}]`;
      copy.push(keys[i]);
    }
    return copy;
  } catch (err) {
    throw unreadableInput(reading, err);
  }
}
