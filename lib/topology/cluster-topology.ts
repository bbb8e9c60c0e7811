import { ConnectionPool } from '../connection/connection-pool.js';
import type { ClusterSource } from '../connection/node-redis-cluster.js';
import { keyHashSlot } from '../cluster/hash-slot.js';
import { redirectionOf } from '../cluster/redirection.js';
import { CrossSlotError } from '../errors/cluster-errors.js';
import { TransactorClosedError } from '../errors/usage-errors.js';
import { CommitMarker } from '../exactly-once/commit-marker.js';
import { LockKeyspace } from '../lock/lock-keys.js';
import { LockService } from '../lock/lock-service.js';
import { KeySet } from '../validation/key-set.js';
import type { Route, Topology } from './topology.js';

/**
 * Redis Cluster: every transaction runs on a dedicated connection to the master that owns its
 * keys' slot (one pool per master). Slots come from the cluster client's map; a MOVED seen by a
 * transaction overrides it for that slot, since our dedicated connections never tell the
 * cluster client about it.
 */
export class ClusterTopology implements Topology {
  readonly locks: LockService;
  readonly #cluster: ClusterSource;
  readonly #maxConnections: number;
  readonly #pools = new Map<string, ConnectionPool>();
  readonly #moved = new Map<number, string>();
  #closed = false;

  constructor(cluster: ClusterSource, maxConnections: number) {
    this.#cluster = cluster;
    this.#maxConnections = maxConnections;
    this.locks = new LockService(cluster.lockConnections(), new LockKeyspace(cluster.keyPrefix, true));
  }

  keySet(keys: readonly string[]): KeySet {
    return new KeySet(keys, this.#slotOf(keys));
  }

  route(keySet: KeySet): Route {
    const slot = keySet.slot!;
    return {
      pool: () => this.#poolFor(this.#addressOf(slot)),
      check: (more) => {
        this.#slotOf([keySet.keys[0]!, ...more]);
      },
      redirected: (err) => {
        const redirection = redirectionOf(err);
        // A MOVED/ASK for another slot is fn reading a key outside the transaction's slot: its
        // own error, not ours to retry.
        if (!redirection || (redirection.slot !== undefined && redirection.slot !== slot)) return false;
        if (redirection.kind === 'MOVED') this.#moved.set(slot, redirection.address!);
        return true;
      },
      unreachable: () => {
        this.#moved.delete(slot);
        // Our dedicated connections never tell the cluster client about a failover.
        this.#cluster.refresh(this.#cluster.keyPrefix + keySet.keys[0]!);
      },
    };
  }

  commitMarker(keySet: KeySet, ttlMs: number): CommitMarker {
    return new CommitMarker(keySet.slot, ttlMs);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
    this.#pools.clear();
    await this.locks.close();
  }

  /** The one slot all `keys` (with the key prefix) hash to; CrossSlotError if there is more than one. */
  #slotOf(keys: readonly string[]): number {
    const prefix = this.#cluster.keyPrefix;
    const slots = keys.map((key) => keyHashSlot(prefix + key));
    if (slots.every((s) => s === slots[0])) return slots[0]!;
    throw new CrossSlotError(Object.fromEntries(keys.map((key, i) => [key, slots[i]!])));
  }

  #addressOf(slot: number): string {
    const address = this.#moved.get(slot) ?? this.#cluster.masterOf(slot);
    if (!address) throw new Error(`no master known for slot ${slot}: is the cluster client connected?`);
    return address;
  }

  #poolFor(address: string): ConnectionPool {
    let pool = this.#pools.get(address);
    if (!pool) {
      if (this.#closed) throw new TransactorClosedError();
      pool = new ConnectionPool(() => this.#cluster.openDedicated(address), this.#maxConnections);
      this.#pools.set(address, pool);
    }
    return pool;
  }
}
