/**
 * A node-redis cluster client (`createCluster`) as the source of a transactor's connections: the
 * slot map, dedicated connections to a slot's master, and the lock service's own cluster client.
 * The cluster topology (`topology/cluster-topology.ts`) drives it through {@link ClusterSource}.
 */
import { keyHashSlot } from '../cluster/hash-slot.js';
import { redirectionOf } from '../cluster/redirection.js';
import { noop } from '../util/noop.js';
import type { DedicatedConnection, LockConnections, ScriptClient, ShardedSubscriber } from './connection.js';
import { LazyConnection } from './lazy-connection.js';
import { NodeRedisConnection } from './node-redis-connection.js';
import { warnIfAnotherCopy } from './node-redis-copy.js';
import type { NodeRedisClient } from './node-redis-types.js';

/** What a cluster topology needs of the cluster client it was given. */
export interface ClusterSource {
  /** The key prefix the cluster client adds to keys ('' for none). */
  readonly keyPrefix: string;
  /** `host:port` of the master serving `slot`, as the client's slot map says now. */
  masterOf(slot: number): string | undefined;
  /** A dedicated connection to the master at `address` (known to the client, or learned from a MOVED). */
  openDedicated(address: string): Promise<DedicatedConnection>;
  /** Makes the client notice a failover and refresh its slot map: a keyed command through it. */
  refresh(prefixedKey: string): void;
  /** The lock service's connections: a cluster client of its own, opened on first use. */
  lockConnections(): LockConnections;
}

interface ClusterNodeInfo {
  readonly address: string;
  readonly host: string;
  readonly port: number;
}

/** The slice of node-redis's cluster client used here. */
interface NodeRedisCluster {
  readonly slots: ReadonlyArray<{ master: ClusterNodeInfo } | undefined>;
  readonly masters: readonly ClusterNodeInfo[];
  readonly _keyPrefix?: unknown;
  nodeClient(node: ClusterNodeInfo): Promise<NodeRedisClient>;
  getNodeClientForKey(key: string): Promise<NodeRedisClient>;
  duplicate(): NodeRedisCluster;
  connect(): Promise<unknown>;
  destroy(): void;
  on(event: string, listener: () => void): unknown;
  sendCommand(firstKey: string | undefined, isReadonly: boolean | undefined, args: readonly string[]): Promise<unknown>;
}

/** Recognises a node-redis cluster client. */
export function isCluster(value: unknown): boolean {
  const v = value as Partial<NodeRedisCluster> | null;
  return typeof v === 'object' && v !== null && typeof v.getNodeClientForKey === 'function' && typeof v.nodeClient === 'function';
}

/** Wraps a cluster client (one {@link isCluster} recognised). */
export function clusterSourceFor(source: unknown): ClusterSource {
  const cluster = source as NodeRedisCluster;
  warnIfAnotherCopy(cluster, 'cluster');
  // The cluster's key prefix lives on the cluster client, not on its node clients.
  const keyPrefix = typeof cluster._keyPrefix === 'string' ? cluster._keyPrefix : '';
  return {
    keyPrefix,
    masterOf: (slot) => cluster.slots[slot]?.master.address,
    async openDedicated(address) {
      const master = cluster.masters.find((m) => m.address === address);
      if (master) return NodeRedisConnection.open(await cluster.nodeClient(master), { keyPrefix });
      // A node the cluster client has not discovered yet (we learned it from a MOVED): same
      // options as a known node, another address.
      const separator = address.lastIndexOf(':');
      const template = await cluster.nodeClient(cluster.masters[0]!);
      const socket = { host: address.slice(0, separator), port: Number(address.slice(separator + 1)) };
      return NodeRedisConnection.open(template, { socket, keyPrefix });
    },
    refresh: (prefixedKey) => void cluster.sendCommand(prefixedKey, false, ['PING']).catch(noop),
    lockConnections: () => new ClusterLockConnections(cluster),
  };
}

/**
 * The lock service's connections on a cluster: its own cluster client (so the user's is never
 * blocked or closed by us), which routes scripts by their first key and release notifications
 * (sharded pub/sub) by channel.
 */
class ClusterLockConnections implements LockConnections {
  readonly #shared: LazyConnection<NodeRedisCluster>;

  constructor(cluster: NodeRedisCluster) {
    this.#shared = new LazyConnection<NodeRedisCluster>({
      create: () => {
        const shared = cluster.duplicate();
        shared.on('error', noop);
        return Promise.resolve(shared);
      },
      connect: (shared) => shared.connect(),
      // Not awaited while it is still connecting: a cluster that is down must not hold close().
      end: (shared) => Promise.resolve(shared.destroy()),
    });
  }

  async commands(): Promise<ScriptClient> {
    const shared = await this.#shared.get();
    // EVALSHA sha numkeys key1 ...: route by key1.
    return {
      sendCommand: (args) => shared.sendCommand(args[3], false, args),
      // On the slot's master client itself, in one tick: the cluster client would re-send a
      // redirected write elsewhere, away from the WAIT behind it (a MOVED fails the write instead).
      sendTogether: async (commands, routeKey) => {
        const failed = (reason: unknown) => commands.map((): PromiseSettledResult<unknown> => ({ status: 'rejected', reason }));
        const master = shared.slots[keyHashSlot(routeKey)]?.master;
        if (!master) return failed(new Error(`redis-transact: no master known for the slot of ${routeKey}`));
        const client = await shared.nodeClient(master);
        const settled = await Promise.allSettled(commands.map((args) => client.sendCommand(args)));
        const first = settled[0];
        if (first?.status === 'rejected' && redirectionOf(first.reason)) {
          // The slot moved (or the cluster is failing over): nothing ran. A keyed command through
          // the cluster client makes it learn the new owner; the lock wait tries again meanwhile.
          void shared.sendCommand(routeKey, true, ['EXISTS', routeKey]).catch(noop);
          return failed(new Error(`redis-transact: the slot of ${routeKey} is moving (${(first.reason as Error).message})`, { cause: first.reason }));
        }
        return settled;
      },
    };
  }

  subscriber(): Promise<ShardedSubscriber> {
    return this.#shared.get() as unknown as Promise<ShardedSubscriber>;
  }

  async loadScripts(sources: readonly string[]): Promise<void> {
    const shared = await this.#shared.get();
    await Promise.all(
      shared.masters.map(async (master) => {
        const client = await shared.nodeClient(master);
        await Promise.all(sources.map((source) => client.sendCommand(['SCRIPT', 'LOAD', source])));
      }),
    );
  }

  close(): Promise<void> {
    return this.#shared.close();
  }
}

