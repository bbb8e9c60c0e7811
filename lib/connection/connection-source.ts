import type { RedisClientPoolType, RedisClientType } from 'redis';
import { InvalidOptionsError } from '../errors/usage-errors.js';
import { DedicatedConnection } from './dedicated-connection.js';
import type { NodeRedisClient, NodeRedisPool } from './node-redis-types.js';

/** A node-redis client or client pool: one Redis server (what `createRedlock` takes per node). */
export type ServerClientSource = RedisClientType<any, any, any, any, any> | RedisClientPoolType<any, any, any, any, any>;

/**
 * The Redis server a transactor works on, reached with the options (address, credentials, TLS,
 * database, RESP, key prefix) of the client or pool it was given. The user's own connections are
 * never used: a client is shared by the rest of the app, and a pool member reconnects in place and
 * goes back to the pool without UNWATCH.
 */
export interface ServerSource {
  /** A new connection for one attempt at a time; it never reconnects by itself. */
  openDedicated(): Promise<DedicatedConnection>;
  /** A new ordinary connection (it reconnects by itself): lock commands and pub/sub. */
  openShared(overrides?: Record<string, unknown>): Promise<NodeRedisClient>;
  /** Like `openShared`, but not connected yet (the caller connects it, and may close it first). */
  duplicate(overrides?: Record<string, unknown>): Promise<NodeRedisClient>;
  /** The key prefix node-redis adds to keys on these connections ('' for none). */
  readonly keyPrefix: string;
}

/** Wraps the client or pool handed to `createTransactor`. */
export function serverSourceFor(source: unknown): ServerSource {
  let template: () => Promise<NodeRedisClient>;
  let keyPrefix: unknown;
  if (isPool(source)) {
    // The pool strips its keyPrefix from members (its own parser prefixes): put it back.
    let member: Promise<NodeRedisClient> | undefined;
    keyPrefix = source._keyPrefix;
    template = () => (member ??= source.execute((m) => m.duplicate({ keyPrefix: source._keyPrefix })));
  } else if (isClient(source)) {
    keyPrefix = source.options?.keyPrefix;
    template = () => Promise.resolve(source);
  } else {
    throw new InvalidOptionsError([
      { path: 'client', message: 'must be a node-redis client (createClient), client pool (createClientPool) or cluster client (createCluster)' },
    ]);
  }
  const duplicate = async (overrides?: Record<string, unknown>) => {
    const client = (await template()).duplicate(overrides);
    client.on('error', () => {}); // failures surface through the commands
    return client;
  };
  return {
    keyPrefix: prefixText(keyPrefix),
    openDedicated: () => template().then((t) => DedicatedConnection.open(t)),
    duplicate,
    openShared: async (overrides) => {
      const client = await duplicate(overrides);
      await client.connect();
      return client;
    },
  };
}

function isClient(value: unknown): value is NodeRedisClient {
  const v = value as Partial<NodeRedisClient> | null;
  return typeof v === 'object' && v !== null && typeof v.duplicate === 'function' && typeof v.multi === 'function' &&
    typeof v.watch === 'function' && typeof v._executeMulti === 'function';
}

function isPool(value: unknown): value is NodeRedisPool {
  const v = value as Partial<NodeRedisPool> | null;
  return typeof v === 'object' && v !== null && typeof v.execute === 'function' && typeof v.totalClients === 'number';
}

/** node-redis takes a string or Buffer prefix; lock keys and channels are built as strings. */
function prefixText(prefix: unknown): string {
  if (prefix === undefined || prefix === null) return '';
  if (Buffer.isBuffer(prefix)) return prefix.toString('utf8');
  return typeof prefix === 'string' ? prefix : '';
}
