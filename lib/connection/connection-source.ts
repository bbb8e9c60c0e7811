/**
 * node-redis clients and client pools as the source of a transactor's connections to one server
 * (and of a Redlock's to each of its nodes): dedicated connections for transactions, shared ones
 * for locks. The user's own connections are never used: a client is shared by the rest of the
 * app, and a pool member reconnects in place and goes back to the pool without UNWATCH.
 */
import type { RedisClientPoolType, RedisClientType } from 'redis';
import { InvalidOptionsError } from '../errors/usage-errors.js';
import { noop } from '../util/noop.js';
import { settleWithin } from '../util/time-bounds.js';
import type { DedicatedConnection, LockConnections, ShardedSubscriber } from './connection.js';
import { LazyConnection } from './lazy-connection.js';
import { NodeRedisConnection } from './node-redis-connection.js';
import { warnIfAnotherCopy } from './node-redis-copy.js';
import type { NodeRedisClient, NodeRedisPool } from './node-redis-types.js';

/** A node-redis client or client pool: one Redis server (what `createRedlock` takes per node). */
export type ServerClientSource = RedisClientType<any, any, any, any, any> | RedisClientPoolType<any, any, any, any, any>;

/** How a server's lock connections behave when the server is down. */
export interface LockConnectionOptions {
  /**
   * Fail fast (a quorum node): commands fail at once while disconnected instead of queueing, the
   * first connect is awaited at most this long, and the subscriber connects in the background.
   */
  readonly failFastAfterMs?: number;
}

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
}

/** Wraps the client or pool handed to `createTransactor`; `path` names it in errors. */
export function serverSourceFor(source: unknown, path = 'client'): ServerSource {
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
      { path, message: 'must be a node-redis client (createClient), client pool (createClientPool), cluster client (createCluster) or Sentinel client (createSentinel)' },
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
    lockConnections: (options = {}) => new ServerLockConnections(duplicate, options),
  };
}

/** The longest a lock connection's graceful close may wait for replies before it is dropped. */
export const CLOSE_WAIT_MS = 1_000;

/** A connection that reconnects by itself: a script client and a sharded subscriber. */
type SharedClient = NodeRedisClient & ShardedSubscriber;

/** A lock service's two ordinary connections to one server, each opened on first use. */
class ServerLockConnections implements LockConnections {
  readonly #commands: LazyConnection<SharedClient>;
  readonly #subscriber: LazyConnection<SharedClient>;

  constructor(duplicate: (overrides?: Record<string, unknown>) => Promise<NodeRedisClient>, options: LockConnectionOptions) {
    const failFast = options.failFastAfterMs;
    // Gracefully (after the replies of what it sent), but never longer than CLOSE_WAIT_MS: a server
    // that stalls, or a network that drops every byte, would otherwise hold close() forever.
    const end = async (c: SharedClient) => {
      if (c.isReady) await settleWithin(c.close(), CLOSE_WAIT_MS);
      if (c.isOpen) c.destroy();
    };
    this.#commands = new LazyConnection<SharedClient>({
      // A quorum node that is down keeps reconnecting in the background, and its commands fail at
      // once meanwhile (no offline queue) instead of waiting for it; the first one waits (bounded).
      create: () => duplicate(failFast === undefined ? undefined : { disableOfflineQueue: true }) as Promise<SharedClient>,
      connect: (c) => (failFast === undefined ? c.connect() : settleWithin(c.connect(), failFast)),
      end,
    });
    this.#subscriber = new LazyConnection<SharedClient>({
      create: () => duplicate() as Promise<SharedClient>,
      // A quorum node's subscriptions wait in its queue until it is up.
      connect: (c) => (failFast === undefined ? c.connect() : (c.connect().catch(noop), Promise.resolve())),
      end,
    });
  }

  commands(): Promise<SharedClient> {
    return this.#commands.get();
  }

  subscriber(): Promise<ShardedSubscriber> {
    return this.#subscriber.get();
  }

  async loadScripts(sources: readonly string[]): Promise<void> {
    const client = await this.commands();
    await Promise.all(sources.map((source) => client.sendCommand(['SCRIPT', 'LOAD', source])));
  }

  async close(): Promise<void> {
    await Promise.all([this.#commands.close(), this.#subscriber.close()]);
  }
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
export function prefixText(prefix: unknown): string {
  if (prefix === undefined || prefix === null) return '';
  if (Buffer.isBuffer(prefix)) return prefix.toString('utf8');
  return typeof prefix === 'string' ? prefix : '';
}
