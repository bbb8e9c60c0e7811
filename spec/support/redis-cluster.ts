import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createClient,
  createCluster,
  type RedisClientType,
  type RedisClusterOptions,
  type RedisClusterType,
} from 'redis';
import Redis, { type Cluster } from 'ioredis';
import Valkey from 'iovalkey';
import { type EmbeddedRedis, startEmbeddedRedis } from '../../examples/support/embedded-redis';
import { createTransactor, type Transactor, type TransactorOptions } from '../../lib';
import { type ClientKind, IOREDIS, IOVALKEY, NODE_REDIS } from './clients';

/** Hash slots in every Redis Cluster. */
export const CLUSTER_SLOTS = 16384;

/** How often topology conditions are polled: convergence on loopback takes a few ms per step. */
const POLL_MS = 5;

/** Keys moved per MIGRATE round trip while emptying a slot. */
const MIGRATE_BATCH = 100;

/** MIGRATE's own I/O timeout, ms: generous, a loopback transfer never gets near it. */
const MIGRATE_TIMEOUT_MS = 5_000;

/** One node of the cluster: a master, or (started with `replicas: true`) a replica. */
export interface ClusterNode {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** The node's cluster id (CLUSTER MYID), as CLUSTER SLOTS and SETSLOT name it. */
  readonly id: string;
}

/** Options of {@link RedisClusterHarness.createClusterClient}; `rootNodes` defaults to every node. */
export type ClusterClientOptions = Partial<RedisClusterOptions<None, None, None, 3, None>>;

/** The cluster client `createCluster` gives for options without modules, functions or scripts. */
export type ClusterClient = RedisClusterType<None, None, None, 3, None>;

/** node-redis's "no extensions" default (`{}`), spelled so the linter accepts it. */
type None = Record<never, never>;

/** Options of {@link RedisClusterHarness.moveSlot}. */
export interface MoveSlotOptions {
  /**
   * Called once the target is IMPORTING and the source MIGRATING the slot, before any key moves:
   * traffic sent meanwhile meets ASK redirections (and MOVED from the target without ASKING).
   * If it throws, the move is still completed, so later tests see a consistent cluster.
   */
  afterMigrating?: () => Promise<void>;
}

/** A running loopback Redis Cluster (masters, and a replica of each if asked), and the tools to drive it in a spec. */
export interface RedisClusterHarness {
  /** The masters, in start order; `nodes[i]` is what `moveSlot(slot, i)` targets. */
  readonly nodes: readonly ClusterNode[];
  /** With `replicas: true`, `replicas[i]` is the replica started for `nodes[i]`; empty otherwise. */
  readonly replicas: readonly ClusterNode[];
  /** Every node, ready for `createCluster({ rootNodes })`. */
  readonly rootNodes: ReadonlyArray<{ url: string }>;
  /** A connected cluster client (closed by `stop()`), with a no-op `error` listener. */
  createClusterClient(options?: ClusterClientOptions): Promise<ClusterClient>;
  /** A connected plain client to one node (closed by `stop()`): it sees MOVED/ASK as errors. */
  connectNode(node: ClusterNode | number): Promise<RedisClientType>;
  /** The node that owns `slot` now (the harness is the only one moving slots, so it knows). */
  nodeForSlot(slot: number): ClusterNode;
  /** The node that owns the slot of `key` now. */
  nodeForKey(key: string): ClusterNode;
  /**
   * Migrates `slot` and all its keys to `nodes[toNodeIndex]`, the way `redis-cli --cluster
   * reshard` does, and resolves once every node's CLUSTER SLOTS names the new owner. Do not run
   * two moves at once.
   */
  moveSlot(slot: number, toNodeIndex: number, options?: MoveSlotOptions): Promise<void>;
  /**
   * Kills a node's process for real (SIGKILL: no goodbye on its sockets, nothing flushed), and
   * resolves once it has exited. The node is dead from then on: no condition waits on it.
   */
  kill(node: ClusterNode): Promise<void>;
  /** Freezes a node's process (SIGSTOP): its sockets stay open and nothing is answered. */
  freeze(node: ClusterNode): Promise<void>;
  /** Lets a frozen node run again (SIGCONT). `stop()` thaws every node still frozen. */
  thaw(node: ClusterNode): void;
  /**
   * Resolves once `replica` is a master serving the slots of the master it replicated, as every
   * live node that is not frozen says, with `cluster_state:ok` on each: after `kill`/`freeze` of its
   * master (the cluster promotes it after `--cluster-node-timeout`), or `CLUSTER FAILOVER` on it.
   * From then on `nodeForSlot` names it for those slots.
   */
  waitForPromotion(replica: ClusterNode): Promise<void>;
  /** The nodes not killed (frozen ones included), masters and replicas alike. */
  liveNodes(): ClusterNode[];
  /** Closes every client it handed out, stops every node and deletes their files. Idempotent. */
  stop(): Promise<void>;
}

/** Anything with node-redis's close/destroy pair: node clients and cluster clients alike. */
interface Closable {
  readonly isOpen: boolean;
  close(): Promise<void>;
  destroy(): void;
}

/** Options of {@link startRedisCluster}. */
export interface StartRedisClusterOptions {
  /** Masters, the slots split evenly between them. @defaultValue 3 */
  masters?: number;
  /**
   * One replica per master (each a redis-server of its own, joined with CLUSTER MEET and CLUSTER
   * REPLICATE), so a master can fail over. Off by default: a cluster of masters starts faster.
   * @defaultValue false
   */
  replicas?: boolean;
  /** Bounds each wait for the cluster to converge. @defaultValue 20000 */
  timeoutMs?: number;
}

/**
 * Starts `masters` redis-server processes (and a replica of each with `replicas: true`) as one
 * cluster with the 16384 slots split evenly, and resolves when every node reports
 * `cluster_state:ok` and the same slot map, and every replica its link to its master up.
 */
export async function startRedisCluster({ masters = 3, replicas = false, timeoutMs = 20_000 }: StartRedisClusterOptions = {}): Promise<RedisClusterHarness> {
  if (!Number.isInteger(masters) || masters < 1) throw new RangeError(`masters must be a positive integer, got ${masters}`);
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
  /** Masters then replicas: `servers[i]`, `admins[i]` and `all[i]` are the same node. */
  const servers: EmbeddedRedis[] = [];
  const clients: Closable[] = [];
  const admins: RedisClientType[] = [];
  const nodes: ClusterNode[] = [];
  const replicaNodes: ClusterNode[] = [];
  /** Every node, masters then replicas: `all[masters + i]` is `replicaNodes[i]`. */
  const all: ClusterNode[] = [];
  /** owners[slot] is the index in `all` of the slot's master (in `nodes` until a failover). */
  const owners = Array.from({ length: CLUSTER_SLOTS }, (_, slot) => Math.floor((slot * masters) / CLUSTER_SLOTS));
  /** Killed nodes' indexes in `all`, and frozen nodes' pids by index. */
  const killed = new Set<number>();
  const frozen = new Map<number, number>();

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      for (const pid of frozen.values()) process.kill(pid, 'SIGCONT');
      frozen.clear();
      await Promise.all(clients.splice(0).map(closeClient));
      await Promise.all(servers.map((server) => server.stop().catch(() => {})));
      rmSync(dir, { recursive: true, force: true });
    })());

  async function connectUrl(url: string): Promise<RedisClientType> {
    const client = createClient({ url }) as RedisClientType;
    client.on('error', () => {}); // a node stopped by a test must not crash jest
    clients.push(client);
    return client.connect();
  }

  function nodeAt(index: number): ClusterNode {
    const node = nodes[index];
    if (!node) throw new RangeError(`no node ${index}: the cluster has ${nodes.length}`);
    return node;
  }

  function indexOf(node: ClusterNode): number {
    const index = all.findIndex((n) => n.id === node.id);
    if (index === -1) throw new RangeError(`no node ${describeNode(node)} in this cluster`);
    return index;
  }

  /** The admins of the nodes that can answer: not killed, not frozen. */
  const answering = () => admins.map((admin, index) => ({ admin, index })).filter(({ index }) => !killed.has(index) && !frozen.has(index));

  /** Every node that can answer agrees with `owners`, naming each master by its loopback address and id. */
  const slotMapAgrees = async (): Promise<string | undefined> => {
    const expected = owners.map((index) => describeNode(all[index]!));
    for (const { admin, index } of answering()) {
      const seen = new Array<string>(CLUSTER_SLOTS).fill('nobody');
      for (const range of await admin.clusterSlots()) {
        seen.fill(describeNode(range.master), range.from, range.to + 1);
      }
      const slot = seen.findIndex((owner, i) => owner !== expected[i]);
      if (slot !== -1) return `node ${index} says slot ${slot} is on ${seen[slot]}, not ${expected[slot]}`;
    }
    return undefined;
  };

  /**
   * Every replica's link to its master is up (INFO replication), and every master's CLUSTER SLOTS
   * lists every master's replica (a master learns of the others' replicas by gossip, later than of
   * its own: clients read replicas from whichever node they ask).
   */
  const replicasLinked = async (): Promise<string | undefined> => {
    if (!replicas) return undefined;
    for (const [i, replica] of replicaNodes.entries()) {
      const info = await admins[masters + i]!.info('replication');
      if (!info.includes('role:slave') || !info.includes('master_link_status:up')) return `replica ${replica.port}: ${oneLine(info)}`;
    }
    for (const [asked, admin] of admins.slice(0, masters).entries()) {
      const ranges = await admin.clusterSlots();
      for (const [i, master] of nodes.entries()) {
        const range = ranges.find((r) => r.master.id === master.id);
        if (!range?.replicas.some((r) => r.id === replicaNodes[i]!.id)) {
          return `master ${nodes[asked]!.port} does not list the replica of master ${master.port} yet`;
        }
      }
    }
    return undefined;
  };

  try {
    const count = replicas ? 2 * masters : masters;
    // The bus port is port+10000 unless set: past 65535 for a fifth of Linux's ephemeral ports,
    // where redis-server refuses to start ("Redis port number too high").
    const ports = await reserveLoopbackPorts(2 * count);
    const busPorts = ports.slice(count);
    // Started together (each start also spawns redis-memory-server's watchdog process); kept in
    // order in `servers`, and each one that started is stopped by stop() if another failed.
    const starting = Array.from({ length: count }, (_, i) => {
      // A replica's full sync writes an RDB named dump.rdb in its dir: one dir per replica, or they
      // would load each other's. Masters keep the shared dir, as they always did.
      const replicaDir = i >= masters ? join(dir, `replica-${i - masters}`) : undefined;
      if (replicaDir) mkdirSync(replicaDir);
      return startEmbeddedRedis({
        port: ports[i]!,
        args: [
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(dir, `nodes-${i}.conf`),
          '--cluster-node-timeout', '2000',
          '--cluster-port', String(busPorts[i]),
          // CLUSTER SLOTS must hand clients an address they can reach: the loopback one.
          '--cluster-announce-ip', '127.0.0.1',
          '--dir', replicaDir ?? dir,
          ...(replicaDir ? ['--save', '', '--appendonly', 'no'] : []),
          // A master holds a replica's first sync 5 s by default, waiting for others to share it,
          // and lists a replica in CLUSTER SLOTS only once the replica reports an offset above 0:
          // the first write, or the master's PING down the link (every 10 s by default).
          ...(replicas ? ['--repl-diskless-sync-delay', '0', '--repl-ping-replica-period', '1'] : []),
        ],
      });
    });
    const started = await Promise.allSettled(starting);
    for (const result of started) if (result.status === 'fulfilled') servers.push(result.value);
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    for (const [i, server] of servers.entries()) {
      const admin = await connectUrl(server.url);
      admins.push(admin);
      const node = { host: server.host, port: server.port, url: server.url, id: await admin.clusterMyId() };
      all.push(node);
      (i < masters ? nodes : replicaNodes).push(node);
    }
    // Like `redis-cli --cluster create`: distinct epochs up front spare the nodes resolving a
    // config-epoch collision, and slots assigned before MEET spread with the first gossip.
    await Promise.all(
      admins.slice(0, masters).map(async (admin, i) => {
        await admin.clusterSetConfigEpoch(i + 1);
        await admin.clusterAddSlotsRange({ start: owners.indexOf(i), end: owners.lastIndexOf(i) });
      }),
    );
    // MEET assumes the bus is on port+10000 unless told, and node-redis's clusterMeet cannot tell it.
    await Promise.all(
      all
        .slice(1)
        .map((node, i) => admins[0]!.sendCommand(['CLUSTER', 'MEET', node.host, String(node.port), String(busPorts[i + 1])])),
    );
    // CLUSTER REPLICATE names the master by id: each replica must have heard of it first.
    await Promise.all(
      replicaNodes.map(async (_, i) => {
        const admin = admins[masters + i]!;
        const master = nodes[i]!;
        await waitUntil(
          async () => ((await admin.clusterNodes()).includes(master.id) ? undefined : 'not met yet'),
          `replica ${i} to learn of master ${master.port}`,
          timeoutMs,
        );
        await admin.sendCommand(['CLUSTER', 'REPLICATE', master.id]);
      }),
    );
    await waitUntil(
      async () => {
        for (const [index, admin] of admins.entries()) {
          const info = await admin.clusterInfo();
          if (!info.includes('cluster_state:ok')) return `node ${index}: ${oneLine(info)}`;
          if (!info.includes(`cluster_known_nodes:${count}`)) return `node ${index}: ${oneLine(info)}`;
        }
        return (await slotMapAgrees()) ?? (await replicasLinked());
      },
      replicas
        ? `${masters} masters and their replicas to agree on the slot map, report cluster_state:ok, and link up`
        : `${masters} nodes to agree on the slot map and report cluster_state:ok`,
      timeoutMs,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  /** The pid of a node's redis-server, as the node says. */
  const pidOf = async (index: number): Promise<number> => {
    const pid = Number(/process_id:(\d+)/.exec(await admins[index]!.info('server'))?.[1]);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`redis-cluster: no process_id from node ${describeNode(all[index]!)}`);
    return pid;
  };

  return {
    nodes,
    replicas: replicaNodes,
    rootNodes: nodes.map(({ url }) => ({ url })),

    async createClusterClient(options = {}) {
      const cluster = createCluster({ rootNodes: nodes.map(({ url }) => ({ url })), ...options });
      cluster.on('error', () => {}); // a node stopped by a test must not crash jest
      clients.push(cluster);
      return cluster.connect();
    },

    connectNode(node) {
      return connectUrl(typeof node === 'number' ? nodeAt(node).url : node.url);
    },

    nodeForSlot(slot) {
      return all[owners[checkSlot(slot)]!]!;
    },

    nodeForKey(key) {
      return all[owners[keySlot(key)]!]!;
    },

    async moveSlot(slot, toNodeIndex, { afterMigrating } = {}) {
      const from = owners[checkSlot(slot)]!;
      const target = nodeAt(toNodeIndex);
      if (from === toNodeIndex) throw new Error(`moveSlot: slot ${slot} is already on node ${toNodeIndex}`);
      const source = admins[from]!;
      const importer = admins[toNodeIndex]!;
      // IMPORTING first: once the source says MIGRATING it sends ASK, which the target must accept.
      await importer.clusterSetSlot(slot, 'IMPORTING', all[from]!.id);
      await source.clusterSetSlot(slot, 'MIGRATING', target.id);
      try {
        await afterMigrating?.();
      } finally {
        for (;;) {
          const keys = await source.clusterGetKeysInSlot(slot, MIGRATE_BATCH);
          if (keys.length === 0) break;
          await source.migrate(target.host, target.port, keys, 0, MIGRATE_TIMEOUT_MS);
        }
        // Target first: once the source lets go it answers MOVED to the target, which must own the
        // slot by then or clients bounce between the two. The others would learn it by gossip;
        // telling them is just faster.
        await importer.clusterSetSlot(slot, 'NODE', target.id);
        await source.clusterSetSlot(slot, 'NODE', target.id);
        // Masters only (a replica refuses SETSLOT), and none that cannot answer.
        const masterIndexes = new Set([...owners, toNodeIndex]);
        await Promise.all(
          answering()
            .filter(({ index }) => index !== from && index !== toNodeIndex && masterIndexes.has(index))
            .map(({ admin }) => admin.clusterSetSlot(slot, 'NODE', target.id)),
        );
        owners[slot] = toNodeIndex;
        await waitUntil(slotMapAgrees, `every node to see slot ${slot} on node ${toNodeIndex}`, timeoutMs);
      }
    },

    async kill(node) {
      const index = indexOf(node);
      if (killed.has(index)) return;
      const pid = frozen.get(index) ?? (await pidOf(index));
      process.kill(pid, 'SIGKILL');
      killed.add(index);
      frozen.delete(index);
      // Its admin would try to reconnect for ever, and hold stop() a second.
      admins[index]!.destroy();
      await waitUntil(() => Promise.resolve(isAlive(pid) ? 'still running' : undefined), `node ${describeNode(node)} to exit`, timeoutMs);
    },

    async freeze(node) {
      const index = indexOf(node);
      if (killed.has(index) || frozen.has(index)) return;
      const pid = await pidOf(index);
      process.kill(pid, 'SIGSTOP');
      frozen.set(index, pid);
    },

    thaw(node) {
      const index = indexOf(node);
      const pid = frozen.get(index);
      if (pid === undefined) return;
      process.kill(pid, 'SIGCONT');
      frozen.delete(index);
    },

    async waitForPromotion(replica) {
      const index = indexOf(replica);
      const master = index - masters;
      if (master < 0) throw new RangeError(`waitForPromotion: ${describeNode(replica)} was started as a master`);
      // Only the slots its master still served are expected to move to it.
      const before = owners.slice();
      for (let slot = 0; slot < CLUSTER_SLOTS; slot++) if (owners[slot] === master) owners[slot] = index;
      try {
        await waitUntil(
          async () => {
            const role = await admins[index]!.info('replication');
            if (!role.includes('role:master')) return `${describeNode(replica)}: ${oneLine(role)}`;
            for (const { admin, index: i } of answering()) {
              const info = await admin.clusterInfo();
              if (!info.includes('cluster_state:ok')) return `node ${describeNode(all[i]!)}: ${oneLine(info)}`;
            }
            return slotMapAgrees();
          },
          `${describeNode(replica)} to be promoted in place of ${describeNode(all[master]!)}`,
          timeoutMs,
        );
      } catch (error) {
        owners.splice(0, CLUSTER_SLOTS, ...before);
        throw error;
      }
    },

    liveNodes: () => all.filter((_, index) => !killed.has(index)),

    stop,
  };
}

/** The hash slot of `key`, as Redis computes it (CRC16/XMODEM of the hash tag or the whole key). */
export function keySlot(key: string | Buffer): number {
  const bytes = typeof key === 'string' ? Buffer.from(key) : key;
  const open = bytes.indexOf('{');
  const close = open === -1 ? -1 : bytes.indexOf('}', open + 1);
  // An empty tag ("{}") does not count: Redis then hashes the whole key.
  const hashed = close > open + 1 ? bytes.subarray(open + 1, close) : bytes;
  let crc = 0;
  for (const byte of hashed) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % CLUSTER_SLOTS;
}

function checkSlot(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= CLUSTER_SLOTS) throw new RangeError(`no slot ${slot}`);
  return slot;
}

function describeNode(node: { host: string; port: number; id: string }): string {
  return `${node.host}:${node.port} (${node.id.slice(0, 8)})`;
}

/** Whether a process still runs (a zombie is reaped by Node as soon as it exits). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function oneLine(info: string): string {
  return info.trim().split(/\r?\n/).slice(0, 4).join(' ');
}

/** Polls `problem` until it reports none; the timeout error carries the last problem seen. */
async function waitUntil(problem: () => Promise<string | undefined>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await problem();
    if (last === undefined) return;
    if (Date.now() > deadline) throw new Error(`redis-cluster: timed out after ${timeoutMs} ms waiting for ${what}; last: ${last}`);
    await sleep(POLL_MS);
  }
}

/** Distinct free loopback ports, all held at once so none is handed out twice. */
export async function reserveLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** Closes gracefully, but never hangs teardown on replies a dead node will not send. */
async function closeClient(client: Closable): Promise<void> {
  if (!client.isOpen) return;
  const timer = setTimeout(() => client.destroy(), 1_000);
  try {
    await client.close();
  } catch {
    client.destroy();
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A 3-master cluster for the spec file (beforeAll/afterAll), a cluster client on it, and
 * transactors on that client that are closed after each test.
 */
export function useRedisCluster() {
  let cluster: RedisClusterHarness | undefined;
  let client: ClusterClient | undefined;
  const transactors: Transactor<any>[] = [];
  const opened: { kind: ClusterClientKind; client: unknown }[] = [];
  beforeAll(async () => {
    cluster = await startRedisCluster({ masters: 3 });
    client = await cluster.createClusterClient();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  afterEach(async () => {
    await Promise.all(transactors.splice(0).map((tx) => tx.close()));
    await Promise.all(opened.splice(0).map(({ kind, client }) => kind.close(client)));
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useRedisCluster: cluster not started');
    return value;
  };
  return {
    get cluster(): RedisClusterHarness {
      return started(cluster);
    },
    get client(): ClusterClient {
      return started(client);
    },
    /** A transactor on the cluster client, closed after the test. */
    transactor(options?: TransactorOptions): Transactor<ClusterClient> {
      return this.track(createTransactor(started(client), options));
    },
    /** A connected cluster client of `kind`, closed after the test (after the transactors). */
    async connect(kind: ClusterClientKind, options?: ClusterKindOptions): Promise<any> {
      const opening = await kind.open(started(cluster), options);
      opened.push({ kind, client: opening });
      return opening;
    },
    /** A transactor on a new cluster client of `kind`, both closed after the test. */
    async transactorOn(kind: ClusterClientKind, options?: TransactorOptions, clientOptions?: ClusterKindOptions): Promise<Transactor> {
      return this.track(createTransactor(await this.connect(kind, clientOptions), options));
    },
    /** Closes `tx` after the test. */
    track<T extends Transactor<any>>(tx: T): T {
      transactors.push(tx);
      return tx;
    },
  };
}

/** What a cluster spec may ask of a new cluster client, beyond the library's defaults. */
export interface ClusterKindOptions {
  /** The cluster client's own key prefix. */
  keyPrefix?: string;
  /** Options only this library knows, passed as they are. */
  native?: Record<string, unknown>;
  /** ioredis only: hand the client over while it is still connecting (it connects by itself). */
  connecting?: boolean;
  /** Where the client connects for each node the cluster announces (node-redis's `nodeAddressMap`, ioredis's `natMap`). */
  addressMap?: (host: string, port: number) => { host: string; port: number };
}

/** `host:port` split, as both libraries' address maps are given it. */
function splitAddress(address: string): [string, number] {
  const separator = address.lastIndexOf(':');
  return [address.slice(0, separator), Number(address.slice(separator + 1))];
}

/**
 * One client library's cluster client, for the cluster behaviour specs (a client matrix, like
 * `clients.ts`): `kind` says how to read and queue on `t.read`/`t.write`, `open` how to make its
 * cluster client on the harness's nodes. The harness's node-redis `client` stays the admin.
 */
export interface ClusterClientKind {
  readonly name: string;
  readonly kind: ClientKind;
  /** A connected cluster client of this library on `cluster`'s nodes. */
  open(cluster: RedisClusterHarness, options?: ClusterKindOptions): Promise<any>;
  /** Closes it at once. */
  close(client: any): Promise<void>;
}

function ioredisClusterKind(Library: typeof Redis | typeof Valkey, kind: ClientKind): ClusterClientKind {
  return {
    name: `${kind.name} Cluster`,
    kind,
    async open(cluster, { keyPrefix, native, addressMap, connecting = false } = {}) {
      const client = new (Library as typeof Redis).Cluster(
        cluster.nodes.map(({ host, port }) => addressMap?.(host, port) ?? { host, port }),
        {
          lazyConnect: !connecting,
          ...(keyPrefix === undefined ? {} : { keyPrefix }),
          ...(addressMap ? { natMap: (address: string) => addressMap(...splitAddress(address)) } : {}),
          ...native,
        },
      );
      client.on('error', () => {}); // a node stopped by a test must not crash jest
      if (!connecting) await client.connect();
      return client;
    },
    close: (client: Cluster) => {
      if (client.status !== 'end') client.disconnect();
      return Promise.resolve();
    },
  };
}

/** node-redis's cluster client (`createCluster`), ioredis's and iovalkey's `Cluster`. */
export const CLUSTER_CLIENTS: readonly ClusterClientKind[] = [
  {
    name: 'node-redis cluster',
    kind: NODE_REDIS,
    open: (cluster, { keyPrefix, native, addressMap } = {}) =>
      cluster.createClusterClient({
        ...(keyPrefix === undefined ? {} : { keyPrefix }),
        ...(addressMap ? { nodeAddressMap: (address: string) => addressMap(...splitAddress(address)) } : {}),
        ...native,
      }),
    close: (client: ClusterClient) => {
      if (client.isOpen) client.destroy();
      return Promise.resolve();
    },
  },
  ioredisClusterKind(Redis, IOREDIS),
  ioredisClusterKind(Valkey, IOVALKEY),
];
