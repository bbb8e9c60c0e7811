/**
 * A real Sentinel deployment on loopback for specs: one primary, its replicas and a quorum of
 * Sentinels (`redis-server --sentinel`, each with its own config file in a temp dir, since Sentinel
 * rewrites it), on random ports, every process stopped by pid. `failover()` promotes a replica with
 * `SENTINEL FAILOVER` and resolves once every Sentinel names the new primary and every other node
 * replicates from it, so that the next failover can start from a settled deployment.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Redis from 'ioredis';
import Valkey from 'iovalkey';
import { createClient, createSentinel, type RedisClientType, type RedisSentinelOptions, type RedisSentinelType } from 'redis';
import { type EmbeddedRedis, resolveRedisServerBinary, startEmbeddedRedis } from '../../examples/support/embedded-redis';
import { type Client, type ClientKind, IOREDIS, IOVALKEY, NODE_REDIS } from './clients';
import { reserveLoopbackPorts } from './redis-cluster';

/** The name the Sentinels monitor the primary under. */
export const MASTER_NAME = 'mymaster';

const POLL_MS = 50;

export interface RedisSentinelHarness {
  /** The data nodes, in start order: `nodes[0]` is the first primary. */
  readonly nodes: readonly EmbeddedRedis[];
  /** Where `createSentinel({ name: MASTER_NAME, sentinelRootNodes })` starts. */
  readonly sentinelRootNodes: ReadonlyArray<{ host: string; port: number }>;
  /** The node that is primary now, as the Sentinels say. */
  primary(): Promise<EmbeddedRedis>;
  /** Promotes a replica; resolves with the new primary once the deployment settled on it. */
  failover(): Promise<EmbeddedRedis>;
  /** Freezes a node's process for real (SIGSTOP): it accepts bytes but answers nothing. */
  freeze(node: EmbeddedRedis): Promise<void>;
  /** Lets a frozen node run again (SIGCONT). */
  thaw(node: EmbeddedRedis): void;
  /** Stops a node for good (a crashed primary); the deployment settles without it. */
  kill(node: EmbeddedRedis): Promise<void>;
  /** Resolves with the primary the Sentinels promote once `node` is no longer it (after a kill). */
  promotedAfter(node: EmbeddedRedis): Promise<EmbeddedRedis>;
  /** An admin client to a node (closed by `stop`). */
  connect(node: EmbeddedRedis): Promise<RedisClientType>;
  /** A client to the Sentinel at `sentinelRootNodes[index]`, as `user` if given (closed by `stop`). */
  connectSentinel(index: number, user?: { username: string; password: string }): Promise<RedisClientType>;
  stop(): Promise<void>;
}

/** Starts a primary, `replicas` replicas and `sentinels` Sentinels (quorum: a majority). */
export async function startRedisSentinel({
  replicas = 2,
  sentinels = 3,
  timeoutMs = 30_000,
}: { replicas?: number; sentinels?: number; timeoutMs?: number } = {}): Promise<RedisSentinelHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-sentinel-'));
  const nodes: EmbeddedRedis[] = [];
  const sentinelProcesses: ChildProcess[] = [];
  const clients: RedisClientType[] = [];
  const sentinelRootNodes: Array<{ host: string; port: number }> = [];

  async function connectUrl(url: string): Promise<RedisClientType> {
    const client = createClient({ url }) as RedisClientType;
    client.on('error', () => {}); // a node demoted or stopped by a spec must not crash jest
    clients.push(client);
    return client.connect();
  }

  /** Frozen processes by port: thawed by `stop` whatever happened. */
  const frozen = new Map<number, number>();
  /** Nodes killed for good: no longer part of the deployment. */
  const killed = new Set<number>();
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      for (const pid of frozen.values()) process.kill(pid, 'SIGCONT');
      // A client of a stopped node is still reconnecting: dropped, not closed.
      await Promise.all(clients.splice(0).filter((c) => c.isOpen).map((c) => (c.isReady ? c.close().catch(() => c.destroy()) : Promise.resolve(c.destroy()))));
      await Promise.all(sentinelProcesses.map(stopProcess));
      await Promise.all(nodes.map((node) => node.stop().catch(() => {})));
      rmSync(dir, { recursive: true, force: true });
    })());

  const sentinelAdmins: RedisClientType[] = [];
  const nodeByPort = (port: number) => {
    const node = nodes.find((n) => n.port === port);
    if (!node) throw new Error(`redis-sentinel: no node on port ${port}`);
    return node;
  };
  /** The primary every Sentinel names, or why they do not agree yet. */
  const agreedPrimary = async (): Promise<number | string> => {
    const named = await Promise.all(
      sentinelAdmins.map(async (s) => Number((await s.sendCommand<string[]>(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME]))[1])),
    );
    return named.every((port) => port === named[0]) ? named[0]! : `the Sentinels name ${named.join(', ')}`;
  };
  /** Whether `primary` is a primary with every other node replicating from it, link up. */
  const settledOn = async (primary: number): Promise<string | undefined> => {
    for (const node of nodes.filter((n) => !killed.has(n.port))) {
      const info = await (await connectOnce(node)).info('replication');
      if (node.port === primary) {
        if (!/role:master/.test(info)) return `${node.port} is not a primary yet`;
      } else if (!new RegExp(`master_port:${primary}\\b`).test(info) || !/master_link_status:up/.test(info)) {
        return `${node.port} does not replicate from ${primary} yet`;
      }
    }
    return undefined;
  };
  const admins = new Map<number, RedisClientType>();
  const connectOnce = async (node: EmbeddedRedis) => {
    let admin = admins.get(node.port);
    if (!admin) admins.set(node.port, (admin = await connectUrl(node.url)));
    return admin;
  };

  try {
    // Each node keeps its files (a replica's full sync writes an RDB) in a directory of its own
    // under the temp dir, never in the working directory, and persists nothing across restarts.
    const nodeArgs = (name: string) => {
      const nodeDir = join(dir, name);
      mkdirSync(nodeDir);
      return ['--dir', nodeDir, '--save', '', '--appendonly', 'no'];
    };
    const primary = await startEmbeddedRedis({ args: nodeArgs('node-0') });
    nodes.push(primary);
    for (let i = 0; i < replicas; i++) {
      nodes.push(await startEmbeddedRedis({ args: [...nodeArgs(`node-${i + 1}`), '--replicaof', primary.host, String(primary.port)] }));
    }
    const ports = await reserveLoopbackPorts(sentinels);
    const quorum = Math.floor(sentinels / 2) + 1;
    for (const [i, port] of ports.entries()) {
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `sentinel monitor ${MASTER_NAME} ${primary.host} ${primary.port} ${quorum}`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 10000`,
          `sentinel parallel-syncs ${MASTER_NAME} ${replicas}`,
          '',
        ].join('\n'),
      );
      const child = spawn(resolveRedisServerBinary(), [conf, '--sentinel'], { stdio: 'ignore' });
      sentinelProcesses.push(child);
      sentinelRootNodes.push({ host: '127.0.0.1', port });
    }
    for (const root of sentinelRootNodes) {
      await waitUntil(async () => {
        try {
          sentinelAdmins.push(await connectUrl(`redis://${root.host}:${root.port}`));
          return undefined;
        } catch (err) {
          return String(err);
        }
      }, `Sentinel ${root.port} to listen`, timeoutMs);
    }
    // Each Sentinel finds the replicas from the primary, and the other Sentinels by their hellos.
    await waitUntil(async () => {
      for (const s of sentinelAdmins) {
        const field = fieldsOf(await s.sendCommand(['SENTINEL', 'MASTER', MASTER_NAME]));
        if (field('num-slaves') !== replicas || field('num-other-sentinels') !== sentinels - 1) {
          return `a Sentinel sees ${field('num-slaves')} replicas and ${field('num-other-sentinels')} other Sentinels`;
        }
      }
      return settledOn(primary.port);
    }, 'the Sentinels to find every replica and each other', timeoutMs);
  } catch (err) {
    await stop();
    throw err;
  }

  const primary = async (): Promise<EmbeddedRedis> => {
    const agreed = await agreedPrimary();
    if (typeof agreed === 'string') throw new Error(`redis-sentinel: ${agreed}`);
    return nodeByPort(agreed);
  };
  const promotedAfter = async (before: EmbeddedRedis): Promise<EmbeddedRedis> => {
    let after: EmbeddedRedis | undefined;
    await waitUntil(async () => {
      const agreed = await agreedPrimary();
      if (typeof agreed === 'string') return agreed;
      if (agreed === before.port) return `the Sentinels still name ${before.port}`;
      after = nodeByPort(agreed);
      return settledOn(agreed);
    }, `a failover away from ${before.port}`, timeoutMs);
    return after!;
  };
  return {
    nodes,
    sentinelRootNodes,
    primary,
    async failover() {
      const before = await primary();
      await sentinelAdmins[0]!.sendCommand(['SENTINEL', 'FAILOVER', MASTER_NAME]);
      return promotedAfter(before);
    },
    promotedAfter,
    async freeze(node) {
      const pid = Number(/process_id:(\d+)/.exec(await (await connectOnce(node)).info('server'))?.[1]);
      process.kill(pid, 'SIGSTOP');
      frozen.set(node.port, pid);
    },
    thaw(node) {
      const pid = frozen.get(node.port);
      if (pid === undefined) return;
      process.kill(pid, 'SIGCONT');
      frozen.delete(node.port);
    },
    async kill(node) {
      killed.add(node.port);
      await node.stop();
    },
    connect: (node) => connectUrl(node.url),
    connectSentinel(index, user) {
      const url = new URL(`redis://${sentinelRootNodes[index]!.host}:${sentinelRootNodes[index]!.port}`);
      if (user) [url.username, url.password] = [user.username, user.password];
      return connectUrl(url.toString());
    },
    stop,
  };
}

/** A reply of field names and values (a flat array in RESP2, a map in RESP3), as a lookup. */
function fieldsOf(reply: unknown): (name: string) => number {
  if (Array.isArray(reply)) return (name) => Number(reply[reply.indexOf(name) + 1]);
  if (reply instanceof Map) return (name) => Number(reply.get(name));
  return (name) => Number((reply as Record<string, unknown>)[name]);
}

async function waitUntil(problem: () => Promise<string | undefined>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await problem().catch((err: unknown) => String(err));
    if (last === undefined) return;
    if (Date.now() > deadline) throw new Error(`redis-sentinel: timed out after ${timeoutMs} ms waiting for ${what}; last: ${last}`);
    await sleep(POLL_MS);
  }
}

/** SIGTERM, then SIGKILL if the process lingers; resolves once it has exited. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
  await exited;
  clearTimeout(timer);
}

/** A Sentinel client with no modules, functions, scripts or type mapping. */
export type SentinelClient = RedisSentinelType<None, None, None, 2 | 3, None>;
type None = Record<never, never>;

/** What a Sentinel spec may ask of a new client of any library, beyond the library's defaults. */
export interface SentinelClientOptions {
  /** The client's own key prefix. */
  keyPrefix?: string;
  /** Options only this library knows, passed as they are. */
  native?: Record<string, unknown>;
}

/**
 * One client library of the Sentinel matrix: how to connect a client of it to the deployment
 * through the Sentinels (node-redis `createSentinel`, ioredis `new Redis({ sentinels, name })`);
 * `kind` runs raw commands on `t.read` and `t.write` as in `clients.ts`.
 */
export interface SentinelClientKind {
  readonly name: string;
  readonly kind: ClientKind;
  /** Runs a raw command on the app's client (the primary's) and resolves to its reply. */
  command(client: Client, args: readonly string[]): Promise<unknown>;
  /** A new client of the deployment, connected; `close` ends it. */
  open(sentinels: ReadonlyArray<{ host: string; port: number }>, options?: SentinelClientOptions): Promise<Client>;
  close(client: Client): Promise<void>;
}

const NODE_REDIS_SENTINEL: SentinelClientKind = {
  name: 'node-redis',
  kind: NODE_REDIS,
  async open(sentinels, options = {}) {
    const sentinel = createSentinel({ name: MASTER_NAME, sentinelRootNodes: [...sentinels], keyPrefix: options.keyPrefix, ...options.native });
    sentinel.on('error', () => {}); // failovers and stopped nodes are the point of these specs
    await sentinel.connect();
    return sentinel;
  },
  command: (sentinel: SentinelClient, args) => sentinel.sendCommand(false, [...args]),
  close: (sentinel: SentinelClient) => sentinel.close().then(() => undefined, () => void sentinel.destroy()),
};

/** ioredis and iovalkey: one `Redis` configured for Sentinel. */
function ioredisSentinel(Library: typeof Redis | typeof Valkey, kind: ClientKind): SentinelClientKind {
  return {
    name: kind.name,
    kind,
    command: kind.command,
    async open(sentinels, options = {}) {
      const client = new (Library as typeof Redis)({
        sentinels: [...sentinels],
        name: MASTER_NAME,
        keyPrefix: options.keyPrefix,
        lazyConnect: true,
        ...options.native,
      });
      client.on('error', () => {});
      await client.connect();
      return client;
    },
    close: (client: Redis) => kind.close(client),
  };
}

/** Every client library, connected through the Sentinels: what Sentinel behaviour specs run for. */
export const SENTINEL_CLIENTS: readonly SentinelClientKind[] = [NODE_REDIS_SENTINEL, ioredisSentinel(Redis, IOREDIS), ioredisSentinel(Valkey, IOVALKEY)];

/** What a spec file works with: its deployment, and Sentinel clients and transactors it closes. */
export interface SentinelSpecHarness {
  /** The spec file's deployment, started once before its tests. */
  readonly deployment: RedisSentinelHarness;
  /** A connected Sentinel client of the deployment (closed after the test). */
  sentinel(options?: Partial<RedisSentinelOptions<None, None, None, 2 | 3, None>>): Promise<SentinelClient>;
  /** A connected client of `kind`, through the deployment's Sentinels (closed after the test). */
  client(kind: SentinelClientKind, options?: SentinelClientOptions): Promise<Client>;
  /** Closes `closable` after the test (in reverse order of tracking). */
  track<T extends { close(): Promise<unknown> }>(closable: T): T;
}

/** Starts one deployment for the spec file; closes what each test opened on it after the test. */
export function useRedisSentinel(options?: Parameters<typeof startRedisSentinel>[0]): SentinelSpecHarness {
  let harness: RedisSentinelHarness | undefined;
  const opened: Array<{ close(): Promise<unknown> }> = [];
  beforeAll(async () => {
    harness = await startRedisSentinel(options);
  }, 60_000);
  afterEach(async () => {
    // Transactors before the Sentinel clients they were built on.
    for (const closable of opened.splice(0).reverse()) {
      await closable.close().catch(() => (closable as { destroy?: () => unknown }).destroy?.());
    }
  });
  afterAll(async () => {
    await harness?.stop();
  });
  const track = <T extends { close(): Promise<unknown> }>(closable: T): T => {
    opened.push(closable);
    return closable;
  };
  return {
    get deployment() {
      if (!harness) throw new Error('redis-sentinel: the deployment is not started (use it inside a test)');
      return harness;
    },
    async client(kind, clientOptions) {
      const client = await kind.open(this.deployment.sentinelRootNodes, clientOptions);
      track({ close: () => kind.close(client) });
      return client;
    },
    async sentinel(extra = {}) {
      const sentinel = createSentinel({ name: MASTER_NAME, sentinelRootNodes: [...this.deployment.sentinelRootNodes], ...extra });
      sentinel.on('error', () => {}); // failovers and stopped nodes are the point of these specs
      await track(sentinel as SentinelClient).connect();
      return sentinel;
    },
    track,
  };
}
