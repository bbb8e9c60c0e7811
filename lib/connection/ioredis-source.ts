/**
 * An ioredis (or iovalkey) `Redis` instance as the source of a transactor's connections to one
 * server (and of a Redlock's to each of its nodes): dedicated connections for transactions,
 * shared ones for locks, all duplicates of it. The app's instance itself is never used: WATCH on
 * it would be shared by every transaction and command of the app. ioredis is recognised by its
 * shape, so that redis-transact loads without it.
 */
import { InvalidOptionsError } from '../errors/usage-errors.js';
import type { ServerSource } from './connection-source.js';
import { IoredisConnection } from './ioredis-connection.js';
import { ioredisLockConnections } from './ioredis-lock-connections.js';
import { ioredisSentinelSourceFor } from './ioredis-sentinel.js';
import { prefixText } from './key-prefix.js';
import type { IoredisClient, IoredisCommandClass } from './ioredis-types.js';

/** Whether `value` looks like an ioredis `Redis` or `Cluster` (ioredis, iovalkey). */
export function isIoredis(value: unknown): value is IoredisClient {
  const v = value as Partial<IoredisClient> | null;
  return typeof v === 'object' && v !== null && typeof v.duplicate === 'function' && typeof v.pipeline === 'function' &&
    typeof v.multi === 'function' && typeof v.sendCommand === 'function' && typeof v.status === 'string' &&
    typeof v.options === 'object' && v.options !== null;
}

/**
 * Wraps the ioredis instance handed to `createTransactor` (or to `createRedlock`, a node of which
 * is one server: `redlockNode`); `path` names it in errors.
 */
export function ioredisSourceFor(client: IoredisClient, path = 'client', { redlockNode = false } = {}): ServerSource {
  if (client.isCluster === true) {
    // createTransactor takes a Cluster before it gets here (ioredis-cluster.ts): this is one server.
    throw new InvalidOptionsError([{ path, message: 'an ioredis Cluster is not one server: pass a standalone ioredis Redis instance' }]);
  }
  const sentinel = Array.isArray(client.options.sentinels) && client.options.sentinels.length > 0;
  if (sentinel && redlockNode) {
    throw new InvalidOptionsError([
      { path, message: 'an ioredis instance configured for Sentinel is not a Redlock node: pass one connected to a server' },
    ]);
  }
  if (sentinel && client.options['role'] === 'slave') {
    throw new InvalidOptionsError([
      { path, message: "an ioredis instance with role 'slave' reaches a replica, and transactions and locks need the primary: pass one with role 'master' (the default)" },
    ]);
  }
  const Command = commandClassOf(client);
  if (sentinel) return ioredisSentinelSourceFor(client, Command);
  return {
    keyPrefix: prefixText(client.options.keyPrefix),
    openDedicated: () => IoredisConnection.open(client, Command),
    lockConnections: (options = {}) => ioredisLockConnections(client, Command, options),
  };
}

/**
 * ioredis's `Command` class, from the app's own copy of ioredis (the library does not import
 * ioredis): the class of the MULTI command a fresh, never-sent `multi()` queues. Raw commands are
 * made with it, so that they carry no key prefix.
 */
export function commandClassOf(client: Pick<IoredisClient, 'multi'>): IoredisCommandClass {
  const probe = client.multi()._queue[0];
  if (!probe || typeof probe.constructor !== 'function' || probe.name !== 'multi') {
    throw new Error('redis-transact: could not find ioredis\'s Command class (unsupported ioredis version)');
  }
  return probe.constructor as IoredisCommandClass;
}
