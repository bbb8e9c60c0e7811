/**
 * node-redis clients and client pools (and, through `ioredis-source.ts`, ioredis instances) as the
 * source of a transactor's connections to one server (and of a Redlock's to each of its nodes):
 * dedicated connections for transactions, shared ones for locks. The user's own connections are
 * never used: a client is shared by the rest of the app, and a pool member reconnects in place and
 * goes back to the pool without UNWATCH.
 */
// Types only (erased; marked `@ts-ignore` in the declarations): node-redis is an optional peer dependency.
import type { RedisClientPoolType, RedisClientType } from 'redis';
import { InvalidOptionsError } from '../errors/usage-errors.js';
import { noop } from '../util/noop.js';
import { settleWithin } from '../util/time-bounds.js';
import type { DedicatedConnection, LockConnections, ShardedSubscriber } from './connection.js';
import { ioredisSourceFor, isIoredis } from './ioredis-source.js';
import type { IoredisClientSource } from './ioredis-types.js';
import { CLOSE_WAIT_MS, type LockConnectionOptions, LockConnectionPair } from './lock-connection-pair.js';
import { prefixText } from './key-prefix.js';
import { NodeRedisConnection } from './node-redis-connection.js';
import { warnIfAnotherCopy } from './node-redis-copy.js';
import type { NodeRedisClient, NodeRedisPool } from './node-redis-types.js';

/** A node-redis client or client pool, or an ioredis `Redis`: one Redis server (what `createRedlock` takes per node). */
export type ServerClientSource = RedisClientType<any, any, any, any, any> | RedisClientPoolType<any, any, any, any, any> | IoredisClientSource;

/**
 * The Redis server a transactor (or one Redlock node) works on, reached with the options
 * (address, credentials, TLS, database, RESP, key prefix) of the client or pool it was given.
 */
export interface ServerSource {
  /** A new connection for one attempt at a time; it never reconnects by itself. */
  openDedicated(): Promise<DedicatedConnection>;
  /** Connections for locks (scripts, release notifications), opened on first use, reconnecting by themselves. */
  lockConnections(options?: LockConnectionOptions): LockConnections;
  /** The key prefix the client adds to keys ('' for none). */
  readonly keyPrefix: string;
  /** Ends what the source opened for itself (a Sentinel deployment's `+switch-master` watch), after the connections. */
  close?(): Promise<void>;
}

/**
 * Wraps the client or pool handed to `createTransactor` (or one node of `createRedlock`:
 * `redlockNode`); `path` names it in errors.
 */
export function serverSourceFor(source: unknown, path = 'client', options: { redlockNode?: boolean } = {}): ServerSource {
  if (isIoredis(source)) return ioredisSourceFor(source, path, options);
  let template: () => Promise<NodeRedisClient>;
  let keyPrefix: unknown;
  if (isPool(source)) {
    warnIfAnotherCopy(source, 'pool');
    // The pool strips its keyPrefix from members (its own parser prefixes): put it back.
    let member: Promise<NodeRedisClient> | undefined;
    keyPrefix = source._keyPrefix;
    template = () => (member ??= source.execute((m) => m.duplicate({ keyPrefix: source._keyPrefix })));
  } else if (isClient(source)) {
    warnIfAnotherCopy(source, 'client');
    keyPrefix = source.options?.keyPrefix;
    template = () => Promise.resolve(source);
  } else {
    throw new InvalidOptionsError([
      {
        path,
        message:
          'must be a node-redis client (createClient), client pool (createClientPool), cluster client (createCluster) or ' +
          'Sentinel client (createSentinel), or an ioredis Redis instance',
      },
    ]);
  }
  const duplicate = async (overrides?: Record<string, unknown>) => {
    const client = (await template()).duplicate(overrides);
    client.on('error', noop); // failures surface through the commands
    return client;
  };
  return {
    keyPrefix: prefixText(keyPrefix),
    openDedicated: () => template().then((t) => NodeRedisConnection.open(t)),
    lockConnections: (options = {}) => serverLockConnections(duplicate, options),
  };
}


/** A connection that reconnects by itself: a script client and a sharded subscriber. */
type SharedClient = NodeRedisClient & ShardedSubscriber;

/**
 * A lock service's two ordinary connections to one server, duplicates of the app's client,
 * closed gracefully (after the replies of what they sent) but never longer than CLOSE_WAIT_MS: a
 * server that stalls, or a network that drops every byte, would otherwise hold close() forever.
 */
function serverLockConnections(
  duplicate: (overrides?: Record<string, unknown>) => Promise<NodeRedisClient>,
  options: LockConnectionOptions,
): LockConnections {
  return new LockConnectionPair<SharedClient>(
    {
      create: (failFast) => duplicate(failFast ? { disableOfflineQueue: true } : undefined) as Promise<SharedClient>,
      connect: (c) => c.connect(),
      end: async (c) => {
        if (c.isReady) await settleWithin(c.close(), CLOSE_WAIT_MS);
        if (c.isOpen) c.destroy();
      },
    },
    options,
  );
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
