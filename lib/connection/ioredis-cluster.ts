/**
 * An ioredis (or iovalkey) `Cluster` as the source of a transactor's connections: the slot map,
 * dedicated connections to a slot's master, and the lock service's own connections. The cluster
 * topology (`topology/cluster-topology.ts`) drives it through {@link ClusterSource}, as it drives
 * node-redis's cluster client. The app's Cluster itself is never sent a command: ioredis's Cluster
 * has no WATCH (ioredis#999), and its reconnects would re-send a MULTI/EXEC without it.
 */
import { keyHashSlot } from '../cluster/hash-slot.js';
import { redirectionOf } from '../cluster/redirection.js';
import { noop } from '../util/noop.js';
import { settleWithin } from '../util/time-bounds.js';
import type { LockConnections, ScriptClient, ShardedSubscriber } from './connection.js';
import { rawCommand } from './ioredis-command.js';
import { IoredisConnection } from './ioredis-connection.js';
import { endNow } from './ioredis-end.js';
import { endShared, IoredisShared, type Listener, LOCK_OPTIONS, ready } from './ioredis-lock-connections.js';
import { commandClassOf, isIoredis } from './ioredis-source.js';
import type { IoredisClient, IoredisCluster, IoredisCommandClass } from './ioredis-types.js';
import { prefixText } from './key-prefix.js';
import { LazyConnection } from './lazy-connection.js';
import { CLOSE_WAIT_MS } from './lock-connection-pair.js';
import type { ClusterSource } from './node-redis-cluster.js';

/**
 * What the lock service's own Cluster overrides in the app's: no key prefix (lock keys and
 * channels are named as the server names them), RESP2 for its nodes (the protocol the lock
 * scripts' replies are read in), commands sent in the order the lock service sends them.
 */
const LOCK_CLUSTER_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({
  keyPrefix: '',
  lazyConnect: true,
  enableAutoPipelining: false,
  // Release notifications go through our own subscribers (below): one per master, for ioredis
  // and iovalkey alike (iovalkey's Cluster has no sharded subscribers).
  shardedSubscribers: false,
});
const LOCK_NODE_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({
  keyPrefix: '',
  protocol: 2,
  stringNumbers: false,
  commandTimeout: undefined,
});

/** Whether `value` is an ioredis (or iovalkey) `Cluster`. */
export function isIoredisCluster(value: unknown): value is IoredisCluster {
  if (!isIoredis(value)) return false;
  const v = value as unknown as Partial<IoredisCluster>;
  return v.isCluster === true && typeof v.nodes === 'function' && Array.isArray(v.slots);
}

/** Wraps an ioredis `Cluster` (one {@link isIoredisCluster} recognised). */
export function ioredisClusterSourceFor(cluster: IoredisCluster): ClusterSource {
  const Command = commandClassOf(cluster);
  // The Cluster adds its keyPrefix (also one given in redisOptions: its constructor copies it) to
  // the commands it sends, made before they reach a node connection. Our dedicated connections
  // are given the Cluster's value themselves, whatever the node's options say: a key prefixed once.
  const keyPrefix = cluster.options.keyPrefix ?? '';
  return {
    keyPrefix: prefixText(keyPrefix),
    masterOf: (slot) => cluster.slots[slot]?.[0],
    openDedicated: async (address) => {
      const { template, overrides } = nodeTemplate(cluster, address);
      // The master's own address, whatever template it was copied from; never a replica.
      return IoredisConnection.open(template, Command, { overrides: { ...overrides, keyPrefix, readOnly: false } });
    },
    // Our dedicated connections never tell the Cluster about a failover: it asks a node again.
    refresh: () => cluster.refreshSlotsCache(noop),
    lockConnections: () => new IoredisClusterLockConnections(cluster, Command),
  };
}

/**
 * A node connection of `cluster` to copy the options (credentials, TLS, RESP, database) of for a
 * connection to `address`: the cluster's own connection to that node, or else (a node learnt from
 * a MOVED, not in its map yet) any of them, with the address (through the Cluster's `natMap`).
 */
function nodeTemplate(cluster: IoredisCluster, address: string): { template: IoredisClient; overrides: Record<string, unknown> } {
  const known = nodeAt(cluster, 'all', address);
  if (known) return { template: known, overrides: {} };
  const template = cluster.nodes('all')[0];
  if (!template) throw new Error(`redis-transact: the ioredis Cluster knows no node to copy for ${address}: is it connected?`);
  const separator = address.lastIndexOf(':');
  const mapped = cluster.natMapper?.(address) ?? { host: address.slice(0, separator), port: Number(address.slice(separator + 1)) };
  return { template, overrides: { host: mapped.host, port: mapped.port } };
}

/** The Cluster's own connection to the node at `address` (`host:port`), if it has one. */
function nodeAt(cluster: IoredisCluster, role: 'all' | 'master', address: string): IoredisClient | undefined {
  return cluster.nodes(role).find((node) => `${node.options.host as string}:${node.options.port as number}` === address);
}

/**
 * The lock service's connections on an ioredis Cluster: a Cluster of its own (so the app's is
 * never blocked or closed by us), which routes scripts by their first key and follows MOVED and
 * ASK, and one subscriber connection per master for release notifications.
 *
 * ioredis's Cluster sends a script again (to the slot's owner) when the connection it went out
 * on closes before the reply: the lock scripts are idempotent by token (a retried acquire finds
 * itself holder, a retried release or extend finds the same state), so that is safe here.
 */
class IoredisClusterLockConnections implements LockConnections {
  readonly #shared: LazyConnection<IoredisCluster>;
  readonly #subscriber: ClusterSubscriber;

  constructor(cluster: IoredisCluster, readonly Command: IoredisCommandClass) {
    this.#shared = new LazyConnection<IoredisCluster>({
      create: () => {
        const redisOptions = { ...cluster.options.redisOptions, ...LOCK_NODE_OPTIONS };
        const shared = cluster.duplicate([], { ...LOCK_CLUSTER_OPTIONS, redisOptions });
        shared.on('error', noop); // failures surface through the commands
        shared.on('node error', noop);
        return Promise.resolve(shared);
      },
      connect: (shared) => shared.connect(),
      end: async (shared) => {
        if (shared.status === 'ready') await settleWithin(shared.quit().catch(noop), CLOSE_WAIT_MS);
        const nodes = shared.nodes('all');
        if (shared.status !== 'end') shared.disconnect();
        // The Cluster's disconnect() leaves each node's socket half-closed, as a Redis's does.
        for (const node of nodes) endNow(node);
      },
    });
    this.#subscriber = new ClusterSubscriber(() => this.#shared.get(), Command);
  }

  async commands(): Promise<ScriptClient> {
    const shared = await this.#shared.get();
    const Command = this.Command;
    return {
      // EVALSHA sha numkeys key1 ...: ioredis routes by the command's keys.
      sendCommand: (args) => shared.sendCommand(rawCommand(Command, args)),
      // On the slot's master connection itself, in one tick: the Cluster would re-send a
      // redirected write elsewhere, away from the WAIT behind it (a MOVED fails the write instead).
      sendTogether: async (commands, routeKey) => {
        const failed = (reason: unknown) => commands.map((): PromiseSettledResult<unknown> => ({ status: 'rejected', reason }));
        const address = shared.slots[keyHashSlot(routeKey)]?.[0];
        const node = address === undefined ? undefined : nodeAt(shared, 'master', address);
        if (!node) return failed(new Error(`redis-transact: no master known for the slot of ${routeKey}`));
        const settled = await Promise.allSettled(commands.map((args) => node.sendCommand(rawCommand(Command, args))));
        const first = settled[0];
        if (first?.status === 'rejected' && redirectionOf(first.reason)) {
          // The slot moved (or the cluster is failing over): nothing ran. The lock wait tries
          // again meanwhile, on the map the Cluster learns now.
          shared.refreshSlotsCache(noop);
          return failed(new Error(`redis-transact: the slot of ${routeKey} is moving (${(first.reason as Error).message})`, { cause: first.reason }));
        }
        return settled;
      },
    };
  }

  async subscriber(): Promise<ShardedSubscriber> {
    await this.#shared.get();
    return this.#subscriber;
  }

  async loadScripts(sources: readonly string[]): Promise<void> {
    const shared = await this.#shared.get();
    await Promise.all(
      shared.nodes('master').flatMap((node) => sources.map((source) => node.sendCommand(rawCommand(this.Command, ['SCRIPT', 'LOAD', source])))),
    );
  }

  async close(): Promise<void> {
    await Promise.all([this.#subscriber.close(), this.#shared.close()]);
  }
}

/**
 * Sharded subscriptions on a cluster: each channel on a connection of its own to the master of
 * its slot (SSUBSCRIBE is served by the slot's owner only), one connection per master, opened on
 * first use; each reconnects and subscribes again by itself.
 *
 * When a slot moves away, its master drops the slot's subscriptions (an unsolicited SUNSUBSCRIBE).
 * Whenever the lock service's Cluster reads the slot map again, every channel whose slot has a
 * new owner is subscribed there: ioredis 6 reports the SUNSUBSCRIBE (`moved`), which makes it read
 * the map at once; iovalkey does not, and its Cluster reads the map when a lock script meets the
 * MOVED. A release published before that is missed; its waiter finds the lock free at the end of
 * its bounded wait instead.
 */
class ClusterSubscriber implements ShardedSubscriber {
  readonly #cluster: () => Promise<IoredisCluster>;
  readonly #Command: IoredisCommandClass;
  /** One subscriber connection per master, and when it is ready. */
  readonly #connections = new Map<string, { readonly shared: IoredisShared; readonly ready: Promise<IoredisShared> }>();
  /** Each channel subscribed, the master it is subscribed on, and its listeners. */
  readonly #channels = new Map<string, { address: string; readonly listeners: Set<Listener> }>();
  #closed = false;
  #following = false;

  constructor(cluster: () => Promise<IoredisCluster>, Command: IoredisCommandClass) {
    this.#cluster = cluster;
    this.#Command = Command;
  }

  async sSubscribe(channels: string | string[], listener: Listener): Promise<unknown> {
    const cluster = await this.#cluster();
    if (!this.#following) {
      this.#following = true;
      cluster.on('refresh', () => this.#follow(cluster));
    }
    return Promise.all(
      [channels].flat().map(async (channel) => {
        const address = cluster.slots[keyHashSlot(channel)]?.[0];
        if (!address) throw new Error(`redis-transact: no master known for the slot of ${channel}`);
        let entry = this.#channels.get(channel);
        if (!entry) this.#channels.set(channel, (entry = { address, listeners: new Set() }));
        entry.listeners.add(listener);
        const connection = await this.#connection(cluster, entry.address);
        return connection.sSubscribe(channel, listener);
      }),
    );
  }

  sUnsubscribe(channels?: string | string[], listener?: Listener): Promise<unknown> {
    const names = channels === undefined ? [...this.#channels.keys()] : [channels].flat();
    return Promise.all(
      names.map((channel) => {
        const entry = this.#channels.get(channel);
        if (!entry) return Promise.resolve();
        if (listener) entry.listeners.delete(listener);
        if (!listener || entry.listeners.size === 0) this.#channels.delete(channel);
        return this.#connections.get(entry.address)?.shared.sUnsubscribe(channel, listener) ?? Promise.resolve();
      }),
    );
  }

  /** Ends every subscriber connection, also one still connecting (a master that is down must not hold close()). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#channels.clear();
    const connections = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(connections.map(({ shared }) => endShared(shared.client)));
  }

  /** The subscriber connection to the master at `address`, opened on first use. */
  #connection(cluster: IoredisCluster, address: string): Promise<IoredisShared> {
    const known = this.#connections.get(address);
    if (known) return known.ready;
    let template: IoredisClient;
    let overrides: Record<string, unknown>;
    try {
      ({ template, overrides } = nodeTemplate(cluster, address));
    } catch (err) {
      return Promise.reject(err);
    }
    const shared = new IoredisShared(template.duplicate({ ...overrides, ...LOCK_OPTIONS, readOnly: false }), this.#Command);
    // ioredis 6: the master dropped a moved slot's channels. The map read again, #follow moves them.
    shared.client.on('moved', () => cluster.refreshSlotsCache(noop));
    const connection = { shared, ready: ready(shared.client).then(() => shared) };
    connection.ready.catch(() => {
      if (this.#connections.get(address) === connection) this.#connections.delete(address);
    });
    this.#connections.set(address, connection);
    return connection.ready;
  }

  /** Subscribes each channel whose slot has moved (as the Cluster's slot map says now) on its new owner. */
  #follow(cluster: IoredisCluster): void {
    if (this.#closed) return;
    for (const [channel, entry] of this.#channels) {
      const owner = cluster.slots[keyHashSlot(channel)]?.[0];
      if (!owner || owner === entry.address) continue;
      const previous = entry.address;
      entry.address = owner;
      // Forget it on the old master (which has dropped it already, or drops it now).
      this.#connections.get(previous)?.shared.sUnsubscribe(channel).catch(noop);
      void this.#connection(cluster, owner)
        .then((connection) => Promise.all([...entry.listeners].map((listener) => connection.sSubscribe(channel, listener))))
        .catch(noop);
    }
  }
}
