import type { ConnectionPool } from '../connection/connection-pool.js';
import type { CommitMarker } from '../exactly-once/commit-marker.js';
import type { LockService } from '../lock/lock-service.js';

/**
 * Where a transactor's work runs: one server, or the nodes of a Redis Cluster. The engine asks it
 * for a route per call and stays unaware of slots.
 * @internal
 */
export interface Topology {
  /**
   * The route for a transaction (or lock) on `keys`. On a cluster, throws `CrossSlotError` when
   * they do not share a hash slot, before anything is sent.
   */
  route(keys: readonly string[]): Route;
  /** Locks on this topology. */
  readonly locks: LockService;
  /** The commit markers of an exactly-once call on `keys` (in their slot, on a cluster). */
  commitMarker(keys: readonly string[], ttlMs: number): CommitMarker;
  /** Closes every connection the topology opened. */
  close(): Promise<void>;
}

/** @internal */
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
