/**
 * Key prefixes as clients take them (a string or a Buffer, node-redis and ioredis alike): the text
 * lock keys and channels are built from, and a key as the server names it.
 */

/** The prefix as text ('' for none): lock keys and channels are built as strings. */
export function prefixText(prefix: unknown): string {
  if (Buffer.isBuffer(prefix)) return prefix.toString('utf8');
  return typeof prefix === 'string' ? prefix : '';
}

/** A client's prefix as it is (string or Buffer), '' when it has none or something else. */
export function prefixOf(prefix: unknown): string | Buffer {
  return typeof prefix === 'string' || Buffer.isBuffer(prefix) ? prefix : '';
}

/** `key` as it is on the server: with the prefix. */
export function prefixedKey(prefix: string | Buffer, key: string): string | Buffer {
  return typeof prefix === 'string' ? prefix + key : Buffer.concat([prefix, Buffer.from(key)]);
}
