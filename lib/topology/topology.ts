/**
 * Where a transactor's work runs: one server, or the nodes of a Redis Cluster. The engine asks it
 * for a key set and a route per call, and stays unaware of slots.
 */
import type { ConnectionPool } from '../connection/connection-pool.js';
import type { CommitMarker } from '../exactly-once/commit-marker.js';
import type { LockService } from '../lock/lock-service.js';
import type { KeySet } from '../validation/key-set.js';

export interface Topology {
  /**
   * The key set of validated `keys`. On a cluster, throws `CrossSlotError` when they do not share
   * a hash slot, before anything is sent.
   */
  keySet(keys: readonly string[]): KeySet;
  /** The route for a transaction (or lock) on `keySet`. */
  route(keySet: KeySet): Route;
  /** Locks on this topology. */
  readonly locks: LockService;
  /** The commit markers of an exactly-once call on `keySet` (in its slot, on a cluster). */
  commitMarker(keySet: KeySet, ttlMs: number): CommitMarker;
  /** Closes every connection the topology opened. */
  close(): Promise<void>;
}

export interface Route {
  /** Dedicated connections to the node that serves the keys now. */
  pool(): ConnectionPool;
  /** Checks keys a transaction adds as it runs (`t.watch`). */
  check(keys: readonly string[]): void;
  /**
   * Whether `err` is a cluster redirection (MOVED, ASK, TRYAGAIN, CLUSTERDOWN): nothing ran, retry.
   * A MOVED also re-routes the next `pool()` to the slot's new owner.
   */
  redirected(err: unknown): boolean;
  /**
   * A connection to the node serving the keys could not be had or was lost: forget what MOVED
   * taught about this slot (that node may be gone: a failover), and let the cluster client find
   * the owner again.
   */
  unreachable(): void;
}
