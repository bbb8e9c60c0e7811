/**
 * The names of everything redis-transact's locks keep in Redis: per resource a lock key, a
 * fencing/record hash, a wait queue and its expiry index, and a release channel. Used by both
 * lock backends and by lock mode's fences.
 */
import { keyHashSlot, tagForSlot } from '../cluster/hash-slot.js';

/** How long a waiter's place in the queue lasts without a refresh. Waiters refresh at a third of it. */
export const QUEUE_ENTRY_TTL_MS = 2_000;

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

/**
 * Resource names to the KEYS and channels the scripts take, with the client's key prefix applied
 * (raw commands and channels are not prefixed by the client).
 */
export class LockKeyspace {
  readonly #prefix: string;
  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  /** KEYS of ACQUIRE, RELEASE and EXTEND: four per resource, prefixed. */
  keys(resources: readonly string[]): string[] {
    const p = this.#prefix;
    return resources.flatMap((r) => {
      const k = resourceKeys(r, p);
      return [p + k.lock, p + k.meta, p + k.queue, p + k.expiry];
    });
  }

  /** Lock keys as the client names keys (it adds the prefix itself): what lock-aware attempts WATCH. */
  unprefixedLockKeys(resources: readonly string[]): string[] {
    return resources.map((r) => resourceKeys(r, this.#prefix).lock);
  }

  /** Just the lock keys, as the client names them (to WATCH) and as they are on the server (to read). */
  lockKeys(resources: readonly string[]): Pick<CallLockKeys, 'watchKeys' | 'serverLockKeys'> {
    const watchKeys = this.unprefixedLockKeys(resources);
    return { watchKeys, serverLockKeys: this.#prefix ? watchKeys.map((k) => this.#prefix + k) : watchKeys };
  }

  /** The KEYS of TAKE: one lock key per resource, prefixed. */
  takeKeys(resources: readonly string[]): string[] {
    return this.unprefixedLockKeys(resources).map((k) => this.#prefix + k);
  }

  /** Everything a lock-mode lane sends, derived once for its resources (each resource's names once). */
  forCall(resources: readonly string[]): CallLockKeys {
    const p = this.#prefix;
    const names = resources.map((r) => resourceKeys(r, p));
    return {
      keys: names.flatMap((k) => [p + k.lock, p + k.meta, p + k.queue, p + k.expiry]),
      watchKeys: names.map((k) => k.lock),
      serverLockKeys: names.map((k) => p + k.lock),
      serverQueueKeys: names.map((k) => p + k.queue),
      channels: names.map((k) => p + k.channel),
    };
  }

  /** Release channels, prefixed. */
  channels(resources: readonly string[]): string[] {
    return resources.map((r) => this.#prefix + resourceKeys(r, this.#prefix).channel);
  }
}

/** The lock keys of one lane's resources, in resource order. */
export interface CallLockKeys {
  /** KEYS of ACQUIRE, RELEASE and EXTEND: four per resource, prefixed. */
  readonly keys: readonly string[];
  /** Lock keys as the client names keys (unprefixed): to WATCH. */
  readonly watchKeys: readonly string[];
  /** Lock keys as they are on the server (prefixed): to read who holds them. */
  readonly serverLockKeys: readonly string[];
  /**
   * Wait-queue keys as they are on the server: a lock-mode transaction checks after WATCH whether
   * anyone waits elsewhere (a queue key exists only while someone is queued).
   */
  readonly serverQueueKeys: readonly string[];
  /** Release channels, prefixed (the client does not prefix channels). */
  readonly channels: readonly string[];
}
