/**
 * The names of everything redis-transact's locks keep in Redis: per resource a lock key, a wait
 * queue and its expiry index, and a release channel; per hash slot one hash of counters (the last
 * fencing token and waiter ticket); per waiter one record. Used by both lock backends and by lock
 * mode's fences.
 */
import { keyHashSlot, tagForSlot } from '../cluster/hash-slot.js';

/** How long a waiter's place in the queue lasts without a refresh. Waiters refresh at a third of it. */
export const QUEUE_ENTRY_TTL_MS = 2_000;

/**
 * The Redis keys and channel behind one lockable resource. All share the resource's hash slot.
 * Every one of them expires but the counters: one hash per server (per key prefix), on a cluster
 * one per hash slot in use (at most 16384). Locking ever more distinct resources adds no key that
 * stays.
 */
export interface ResourceKeys {
  /** Holds the holder's token, with the lease as its TTL. */
  readonly lock: string;
  /**
   * On a cluster, the counters of the resource's hash slot, shared by every resource in it: a hash
   * with `fence` (the last fencing token) and `seq` (the last waiter ticket). Never expires. (On
   * one server the counters are one hash for every resource: {@link SERVER_COUNTERS}.)
   */
  readonly counters: string;
  /** Sorted set of waiters (their records' keys) by ticket: first come, first served. */
  readonly queue: string;
  /** Sorted set of waiters (their records' keys) by expiry time: waiters that stop refreshing are dropped. */
  readonly expiry: string;
  /** Sharded pub/sub channel that announces a release (payload: the token the lock was handed to). */
  readonly channel: string;
}

/** Namespace of every key redis-transact's locks create, e.g. `rtlock:lock:{3lw}:stock:42`. */
export const LOCK_NAMESPACE = 'rtlock';

/** The counters of every resource on one server (not a cluster): see {@link ResourceKeys.counters}. */
export const SERVER_COUNTERS = `${LOCK_NAMESPACE}:counters`;

/**
 * Derives a resource's lock keys (as node-redis takes them: the client's `keyPrefix` is added
 * by node-redis, or by the script runner). Two rules:
 *
 * - They hash to the same cluster slot as the resource's own key, `keyPrefix + resource`, so a
 *   lock-mode transaction can watch its lock key next to its data keys on Redis Cluster. A short
 *   hash tag chosen for that slot does it for every resource name, braces or not.
 * - Different resources, and different kinds of key, never share a name: the kind comes first,
 *   the resource verbatim last (`rtlock:lock:{3lw}:stock:42`, `rtlock:queue:{3lw}:stock:42`); the
 *   slot's counters end with the tag (`rtlock:counters:{3lw}`).
 */
export function resourceKeys(resource: string, keyPrefix = ''): ResourceKeys {
  const tag = `{${tagForSlot(keyHashSlot(keyPrefix + resource))}}`;
  const tail = `:${tag}:${resource}`;
  return {
    lock: `${LOCK_NAMESPACE}:lock${tail}`,
    counters: `${LOCK_NAMESPACE}:counters:${tag}`,
    queue: `${LOCK_NAMESPACE}:queue${tail}`,
    expiry: `${LOCK_NAMESPACE}:expiry${tail}`,
    channel: `${LOCK_NAMESPACE}:released${tail}`,
  };
}

/**
 * The record of a waiter with `token` for `resources`: in the slot of the first of them (on a
 * cluster, a lock's resources share one slot), named by the token, so no two waiters share one.
 */
export function waiterKey(resources: readonly string[], token: string, keyPrefix = ''): string {
  return `${LOCK_NAMESPACE}:waiter:{${tagForSlot(keyHashSlot(keyPrefix + resources[0]!))}}:${token}`;
}

/**
 * Resource names to the KEYS and channels the scripts take, with the client's key prefix applied
 * (raw commands and channels are not prefixed by the client).
 */
export class LockKeyspace {
  readonly #prefix: string;
  readonly #clustered: boolean;

  /**
   * @param prefix - the client's key prefix
   * @param clustered - on a Redis Cluster, counters go per hash slot (a script's keys must share one)
   */
  constructor(prefix: string, clustered = false) {
    this.#prefix = prefix;
    this.#clustered = clustered;
  }

  /** KEYS of ACQUIRE, RELEASE, EXTEND and RAISE_FENCE, prefixed: four per resource, then `token`'s waiter record. */
  keys(resources: readonly string[], token: string): string[] {
    return [...this.#resourceKeys(resources.map((r) => resourceKeys(r, this.#prefix))), this.waiterKey(resources, token)];
  }

  /** `token`'s waiter record, prefixed: the last of the scripts' KEYS. */
  waiterKey(resources: readonly string[], token: string): string {
    return this.#prefix + waiterKey(resources, token, this.#prefix);
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
      resourceKeys: this.#resourceKeys(names),
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

  #resourceKeys(names: readonly ResourceKeys[]): string[] {
    const p = this.#prefix;
    return names.flatMap((k) => [p + k.lock, p + (this.#clustered ? k.counters : SERVER_COUNTERS), p + k.queue, p + k.expiry]);
  }
}

/** The lock keys of one lane's resources, in resource order. */
export interface CallLockKeys {
  /** The scripts' KEYS but the last (the waiter record, per token: {@link LockKeyspace.waiterKey}): four per resource, prefixed. */
  readonly resourceKeys: readonly string[];
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
