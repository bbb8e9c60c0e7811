/** One name for a set of keys, whatever their order: lanes and contention are tracked per key set. */
export function keySetId(keys: readonly string[]): string {
  return keys.length === 1 ? keys[0]! : [...keys].sort().join('\u0000');
}
