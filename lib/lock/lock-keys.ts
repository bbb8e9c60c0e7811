import { hashTagOf, keyHashSlot, tagForSlot } from '../cluster/hash-slot.js';

/** The Redis keys and channel behind one lockable resource. All share the resource's hash slot. */
export interface ResourceKeys {
  /** Holds the holder's token, with the lease as its TTL. */
  readonly lock: string;
  /** Hash with `fence` (last fencing token, never expires) and `seq` (waiter tickets). */
  readonly meta: string;
  /** Sorted set of waiting tokens by ticket: first come, first served. */
  readonly queue: string;
  /** Sorted set of waiting tokens by expiry time: waiters that stop refreshing are dropped. */
  readonly expiry: string;
  /** Sharded pub/sub channel that announces a release (payload: the token whose turn it is). */
  readonly channel: string;
}

/** Namespace of every key redis-transact's locks create, e.g. `rtlock:{stock:42}`. */
export const LOCK_NAMESPACE = 'rtlock';

/**
 * Derives a resource's lock keys so that they hash to the same cluster slot as the resource
 * itself: a lock-mode transaction watches its lock key next to its data keys, and that must
 * work on Redis Cluster too.
 *
 * - `{order:42}:stock` (has a hash tag) → `rtlock:{order:42}:stock`
 * - `stock:42` (no braces) → `rtlock:{stock:42}`
 * - `a}b` (braces, no usable tag) → `rtlock:{<tag of the same slot>}:a}b`
 */
export function resourceKeys(resource: string): ResourceKeys {
  let base: string;
  if (hashTagOf(resource) !== undefined) base = `${LOCK_NAMESPACE}:${resource}`;
  else if (!resource.includes('{') && !resource.includes('}')) base = `${LOCK_NAMESPACE}:{${resource}}`;
  else base = `${LOCK_NAMESPACE}:{${tagForSlot(keyHashSlot(resource))}}:${resource}`;
  return {
    lock: base,
    meta: `${base}:meta`,
    queue: `${base}:queue`,
    expiry: `${base}:expiry`,
    channel: `${base}:released`,
  };
}
