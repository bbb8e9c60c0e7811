import { ConnectionPool } from '../connection/connection-pool.js';
import { DedicatedConnection } from '../connection/dedicated-connection.js';
import type { NodeRedisClient } from '../connection/node-redis-types.js';
import { keyHashSlot } from '../cluster/hash-slot.js';
import { redirectionOf } from '../cluster/redirection.js';
import { CrossSlotError } from '../errors/cluster-errors.js';
import { TransactorClosedError } from '../errors/usage-errors.js';
import type { LockConnections } from '../lock/lock-connections.js';
import { CommitMarker } from '../exactly-once/commit-marker.js';
import { LockService } from '../lock/lock-service.js';
import type { ShardedSubscriber } from '../lock/release-notifier.js';
import type { ScriptClient } from '../lock/run-script.js';
import type { Route, Topology } from './topology.js';

interface ClusterNodeInfo {
  readonly address: string;
  readonly host: string;
  readonly port: number;
}

/** The slice of node-redis's cluster client this topology uses. @internal */
export interface NodeRedisCluster {
  readonly slots: ReadonlyArray<{ master: ClusterNodeInfo } | undefined>;
  readonly masters: readonly ClusterNodeInfo[];
  readonly _keyPrefix?: unknown;
  nodeClient(node: ClusterNodeInfo): Promise<NodeRedisClient>;
  getNodeClientForKey(key: string): Promise<NodeRedisClient>;
  duplicate(): NodeRedisCluster;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: string[]): Promise<unknown>;
}

/** Recognises a node-redis cluster client. @internal */
export function isCluster(value: unknown): value is NodeRedisCluster {
  const v = value as Partial<NodeRedisCluster> | null;
  return typeof v === 'object' && v !== null && typeof v.getNodeClientForKey === 'function' && typeof v.nodeClient === 'function';
}

/**
 * Redis Cluster: every transaction runs on a dedicated connection to the master that owns its
 * keys' slot (one pool per master). Slots come from the cluster client's map; a MOVED seen by a
 * transaction overrides it for that slot, since our dedicated connections never tell the
 * cluster client about it.
 * @internal
 */
export class ClusterTopology implements Topology {
  readonly locks: LockService;
  readonly #cluster: NodeRedisCluster;
  readonly #maxConnections: number;
  readonly #keyPrefix: string;
  readonly #pools = new Map<string, ConnectionPool>();
  readonly #moved = new Map<number, string>();
  readonly #lockConnections: ClusterLockConnections;
  #closed = false;

  constructor(cluster: NodeRedisCluster, maxConnections: number) {
    this.#cluster = cluster;
    this.#maxConnections = maxConnections;
    this.#keyPrefix = typeof cluster._keyPrefix === 'string' ? cluster._keyPrefix : '';
    this.#lockConnections = new ClusterLockConnections(cluster);
    this.locks = new LockService(this.#lockConnections, this.#keyPrefix);
  }

  route(keys: readonly string[]): Route {
    const slot = this.#slotOf(keys);
    return {
      pool: () => this.#poolFor(this.#addressOf(slot)),
      check: (more) => {
        this.#slotOf([keys[0]!, ...more]);
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
        // A keyed command through the cluster client makes it notice a failover and refresh its
        // slot map (our dedicated connections never tell it).
        void this.#cluster.sendCommand(this.#keyPrefix + keys[0]!, false, ['PING']).catch(() => {});
      },
    };
  }

  commitMarker(keys: readonly string[], ttlMs: number): CommitMarker {
    return new CommitMarker(keys, ttlMs, this.#keyPrefix, true);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#pools.values()].map((pool) => pool.close()));
    this.#pools.clear();
    await this.locks.close();
  }

  /** The one slot all `keys` (with the key prefix) hash to; CrossSlotError if there is more than one. */
  #slotOf(keys: readonly string[]): number {
    const slots = keys.map((key) => keyHashSlot(this.#keyPrefix + key));
    if (slots.every((s) => s === slots[0])) return slots[0]!;
    throw new CrossSlotError(Object.fromEntries(keys.map((key, i) => [key, slots[i]!])));
  }

  #addressOf(slot: number): string {
    const address = this.#moved.get(slot) ?? this.#cluster.slots[slot]?.master.address;
    if (!address) throw new Error(`no master known for slot ${slot}: is the cluster client connected?`);
    return address;
  }

  #poolFor(address: string): ConnectionPool {
    let pool = this.#pools.get(address);
    if (!pool) {
      if (this.#closed) throw new TransactorClosedError();
      pool = new ConnectionPool(() => this.#openDedicated(address), this.#maxConnections);
      this.#pools.set(address, pool);
    }
    return pool;
  }

  async #openDedicated(address: string): Promise<DedicatedConnection> {
    // The cluster's key prefix lives on the cluster client, not on its node clients.
    const keyPrefix = this.#keyPrefix;
    const master = this.#cluster.masters.find((m) => m.address === address);
    if (master) return DedicatedConnection.open(await this.#cluster.nodeClient(master), { keyPrefix });
    // A node the cluster client has not discovered yet (we learned it from a MOVED): same
    // options as a known node, another address.
    const separator = address.lastIndexOf(':');
    const template = await this.#cluster.nodeClient(this.#cluster.masters[0]!);
    const socket = { host: address.slice(0, separator), port: Number(address.slice(separator + 1)) };
    return DedicatedConnection.open(template, { socket, keyPrefix });
  }
}

/**
 * The lock service's connections on a cluster: its own cluster client (so the user's is never
 * blocked or closed by us), which routes scripts by their first key and release notifications
 * (sharded pub/sub) by channel.
 */
class ClusterLockConnections implements LockConnections {
  readonly #cluster: NodeRedisCluster;
  #shared: Promise<NodeRedisCluster> | undefined;
  #created: NodeRedisCluster | undefined;
  #closed = false;

  constructor(cluster: NodeRedisCluster) {
    this.#cluster = cluster;
  }

  async commands(): Promise<ScriptClient> {
    const shared = await this.#open();
    // EVALSHA sha numkeys key1 ...: route by key1.
    return { sendCommand: (args) => shared.sendCommand(args[3], false, args) };
  }

  subscriber(): Promise<ShardedSubscriber> {
    return this.#open() as unknown as Promise<ShardedSubscriber>;
  }

  async loadScripts(sources: readonly string[]): Promise<void> {
    const shared = await this.#open();
    await Promise.all(
      shared.masters.map(async (master) => {
        const client = await shared.nodeClient(master);
        await Promise.all(sources.map((source) => client.sendCommand(['SCRIPT', 'LOAD', source])));
      }),
    );
  }

  close(): Promise<void> {
    this.#closed = true;
    const created = this.#created;
    this.#shared = undefined;
    this.#created = undefined;
    // Not awaited while it is still connecting: a cluster that is down must not hold close().
    if (created) (created as unknown as { destroy(): void }).destroy();
    return Promise.resolve();
  }

  #open(): Promise<NodeRedisCluster> {
    if (this.#closed) return Promise.reject(new TransactorClosedError());
    if (!this.#shared) {
      const shared = this.#cluster.duplicate();
      this.#created = shared;
      (shared as unknown as { on(e: string, l: () => void): void }).on('error', () => {});
      const opening = shared.connect().then(() => shared);
      opening.catch(() => (this.#shared = undefined));
      this.#shared = opening;
    }
    return this.#shared;
  }
}
