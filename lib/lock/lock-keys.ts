import { keyHashSlot, tagForSlot } from '../cluster/hash-slot.js';

/** The Redis keys and channel behind one lockable resource. All share the resource's hash slot. */
export interface ResourceKeys {
  /** Holds the holder's token, with the lease as its TTL. */
  readonly lock: string;
  /**
   * Hash with `fence` (last fencing token, never expires), `seq` (waiter tickets) and, per queued
   * waiter, `w:<token>` (what a release needs to hand it the lock: its lease and keys).
   */
  readonly meta: string;
  /** Sorted set of waiting tokens by ticket: first come, first served. */
  readonly queue: string;
  /** Sorted set of waiting tokens by expiry time: waiters that stop refreshing are dropped. */
  readonly expiry: string;
  /** Sharded pub/sub channel that announces a release (payload: the token the lock was handed to). */
  readonly channel: string;
}

/** Namespace of every key redis-transact's locks create, e.g. `rtlock:lock:{3lw}:stock:42`. */
export const LOCK_NAMESPACE = 'rtlock';

/**
 * Derives a resource's lock keys (as node-redis takes them: the client's `keyPrefix` is added
 * by node-redis, or by the script runner). Two rules:
 *
 * - They hash to the same cluster slot as the resource's own key, `keyPrefix + resource`, so a
 *   lock-mode transaction can watch its lock key next to its data keys on Redis Cluster. A short
 *   hash tag chosen for that slot does it for every resource name, braces or not.
 * - Different resources, and different kinds of key, never share a name: the kind comes first,
 *   the resource verbatim last (`rtlock:lock:{3lw}:stock:42`, `rtlock:fence:{3lw}:stock:42`).
 */
export function resourceKeys(resource: string, keyPrefix = ''): ResourceKeys {
  const tail = `:{${tagForSlot(keyHashSlot(keyPrefix + resource))}}:${resource}`;
  return {
    lock: `${LOCK_NAMESPACE}:lock${tail}`,
    meta: `${LOCK_NAMESPACE}:fence${tail}`,
    queue: `${LOCK_NAMESPACE}:queue${tail}`,
    expiry: `${LOCK_NAMESPACE}:expiry${tail}`,
    channel: `${LOCK_NAMESPACE}:released${tail}`,
  };
}
