import { z } from 'zod';
import { serverSourceFor } from '../connection/connection-source.js';
import type { ServerClientSource } from '../connection/connection-source.js';
import { durationMs } from '../validation/duration.js';
import { parseInput } from '../validation/parse-input.js';
import { InFlight } from '../lifecycle/in-flight.js';
import { createLocker, type Locker } from './locker.js';
import { DEFAULT_LOCK_OPTIONS, lockOptionsSchema, waitMsSchema } from './lock-options.js';
import { type QuorumNode, QuorumBackend } from './quorum-backend.js';
import { ReleaseNotifier } from './release-notifier.js';
import { LockKeyspace } from './lock-keys.js';

/** Options of {@link createRedlock}. */
export interface RedlockOptions {
  /** Default lease length of its locks, ms. @defaultValue 10000 */
  ttlMs?: number;
  /** Default wait for a busy lock, ms. @defaultValue 10000 */
  acquireTimeoutMs?: number;
  /** How long each node gets to answer one request before it counts as failed, whole ms (1 to 2147483647). @defaultValue 100 */
  nodeTimeoutMs?: number;
  /** Mean random delay before retrying a contended acquire when no release was announced, whole ms (0 to 2147483647). @defaultValue 50 */
  retryDelayMs?: number;
}

/** A lock over a quorum of independent Redis servers. */
export interface Redlock extends Locker {
  /** How many nodes must agree: a majority. */
  readonly quorum: number;
  /**
   * Stops taking calls (`lock` and `withLock` made after it reject with `TransactorClosedError`),
   * lets those accepted before it finish, releases the locks from `lock` their callers still hold,
   * then closes the connections it opened (the clients it was given stay open). Calling it again
   * returns the same promise.
   */
  close(): Promise<void>;
}

const redlockOptionsSchema = lockOptionsSchema.pick({ ttlMs: true, acquireTimeoutMs: true }).extend({
  nodeTimeoutMs: durationMs({ min: 1, rule: 'must be a positive number of milliseconds' }).optional(),
  retryDelayMs: waitMsSchema.optional(),
});

/**
 * The same lock API as `tx.lock` / `tx.withLock`, over N independent Redis servers (the Redlock
 * algorithm): a lock is held when a majority granted it within its validity time, so locking
 * keeps working, and stays exclusive, while a minority of the servers is down.
 *
 * Fencing tokens strictly increase per resource: a lock acquired after another one was granted
 * gets a larger token. They are microsecond timestamps of the granting servers' clocks (about
 * 1.8e15; safe integers until the year 2255), raised above the last token wherever a node
 * remembers it. That holds through node failures when either
 * - no node loses a write it acknowledged (`appendonly yes` with `appendfsync always`): any two
 *   majorities share a node that remembers the last token; or
 * - a node that lost its data (restarted without persistence, reloaded an older snapshot, failed
 *   over to a lagging replica) rejoins only once the longest lease has passed since it went down
 *   (the same rule that keeps the lock exclusive), and the servers' clocks differ by less than
 *   that delay, none stepping back by as much (NTP keeps them within milliseconds). Then even a
 *   majority of nodes that all lost or never saw the last token issues a larger one.
 *
 * @example
 * ```ts
 * const redlock = createRedlock([clientA, clientB, clientC, clientD, clientE]);
 * await redlock.withLock(['payout:42'], (lock) => payouts.send(42, { fencingToken: lock.fencingToken }));
 * ```
 * @throws {@link InvalidOptionsError} for bad clients or options.
 */
export function createRedlock(clients: readonly ServerClientSource[], options?: RedlockOptions): Redlock {
  const parsed = parseInput(redlockOptionsSchema, options ?? {}, 'options');
  if (!Array.isArray(clients) || clients.length === 0) {
    parseInput(z.array(z.unknown()).min(1, { error: 'must list at least one node-redis client' }), clients, 'clients');
  }
  const nodeTimeoutMs = parsed.nodeTimeoutMs ?? 100;
  const servers = clients.map((client, i) => serverSourceFor(client, `clients[${i}]`, { redlockNode: true }));
  // A node that is down must cost a bounded wait, never hold a lock operation: fail fast.
  const connections = servers.map((server) => server.lockConnections({ failFastAfterMs: nodeTimeoutMs }));
  const nodes: QuorumNode[] = servers.map((server, i) => ({
    client: () => connections[i]!.commands(),
    notifier: new ReleaseNotifier(() => connections[i]!.subscriber()),
    keyspace: new LockKeyspace(server.keyPrefix),
  }));
  const backend = new QuorumBackend(nodes, {
    nodeTimeoutMs,
    retryDelayMs: parsed.retryDelayMs ?? 50,
  });
  const inFlight = new InFlight();
  let closing: Promise<void> | undefined;
  const closeOnce = async () => {
    await inFlight.close(); // lock waits and withLock calls accepted before close() finish first
    await backend.close();
    await Promise.all(connections.map((c) => c.close()));
  };
  return {
    quorum: backend.quorum,
    ...createLocker(() => backend, { ...DEFAULT_LOCK_OPTIONS, ...parsed }, undefined, undefined, inFlight),
    close: () => (closing ??= closeOnce()),
  };
}
