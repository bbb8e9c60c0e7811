import Redis from 'ioredis';
import Valkey from 'iovalkey';
import { createClient, type RedisClientType } from 'redis';
import { createTransactor, type Transactor, type TransactorOptions } from '../../lib';
import { useRedis } from './redis';
import { TcpProxy } from './tcp-proxy';

/**
 * The client matrix: each client library redis-transact serves, described once (how to connect
 * one to a spec's server, run a raw command on it, tell whether it is connected, close it), so a
 * behaviour spec is written once and run for every client with `describe.each(CLIENTS)`.
 *
 * A matrix spec's `fn` uses only the commands every client spells alike (`get`, `set`, `incr`,
 * `decr`, `exists`) on `t.read` and `t.write`, and the kind's `command`/`queue` for the rest.
 */

/**
 * A client of any kind in the matrix: the app's client, or `t.read` inside `fn`. Typed loosely on
 * purpose: each kind's own functions below are the only place its API is spelt out.
 */
export type Client = any;

/** What a matrix spec may ask of a new client, beyond the library's defaults. */
export interface ClientOptions {
  /** Connect here instead of the spec's server (a proxy, a server of the test's own). */
  url?: string;
  /** The client's own key prefix (node-redis and ioredis both have `keyPrefix`). */
  keyPrefix?: string;
  /** Options only this library knows, passed as they are. */
  native?: Record<string, unknown>;
}

/** One client library (and protocol) of the matrix. */
export interface ClientKind {
  /** The library and protocol, as test names show them. */
  readonly name: string;
  readonly library: 'node-redis' | 'ioredis' | 'iovalkey';
  /** The RESP version its clients speak. */
  readonly resp: 2 | 3;
  /** A new client connected to `url`, with the library's defaults except what `options` say. */
  open(url: string, options?: Omit<ClientOptions, 'url'>): Promise<Client>;
  /** Runs a raw command on a client of this kind (the app's, or `t.read`) and resolves to its reply. */
  command(client: Client, args: readonly string[]): Promise<unknown>;
  /** Queues a raw command on `t.write`. */
  queue(write: Client, args: readonly string[]): void;
  /** Whether a client of this kind is connected and ready for commands. */
  isReady(client: Client): boolean;
  /** Whether a client of this kind is closed for good: it will not reconnect, nor send anything again. */
  isEnded(client: Client): boolean;
  /** Closes a client of this kind at once, whatever its state. */
  close(client: Client): Promise<void>;
}

function nodeRedis(resp: 2 | 3, name: string): ClientKind {
  return {
    name,
    library: 'node-redis',
    resp,
    async open(url, options = {}) {
      const client = createClient({ url, RESP: resp, keyPrefix: options.keyPrefix, ...options.native }) as RedisClientType;
      client.on('error', () => {});
      await client.connect();
      return client;
    },
    command: (client: RedisClientType, args) => client.sendCommand([...args]),
    queue: (write: { sendCommand(args: string[]): unknown }, args) => void write.sendCommand([...args]),
    isReady: (client: RedisClientType) => client.isReady,
    isEnded: (client: RedisClientType) => !client.isOpen,
    close: (client: RedisClientType) => {
      if (client.isOpen) client.destroy();
      return Promise.resolve();
    },
  };
}

/** ioredis and its Valkey fork iovalkey share their API: one description serves both. */
function ioredisLike(Library: typeof Redis | typeof Valkey, kind: Pick<ClientKind, 'name' | 'library' | 'resp'>, native: Record<string, unknown>): ClientKind {
  return {
    ...kind,
    async open(url, options = {}) {
      const client = new (Library as typeof Redis)(url, { lazyConnect: true, keyPrefix: options.keyPrefix, ...native, ...options.native });
      client.on('error', () => {});
      await client.connect();
      return client;
    },
    command: (client: Redis, [name, ...args]) => client.call(name!, ...args),
    queue: (write: { call(...args: string[]): unknown }, args) => void write.call(...args),
    isReady: (client: Redis) => client.status === 'ready',
    isEnded: (client: Redis) => client.status === 'end',
    close: (client: Redis) => {
      if (client.status !== 'end') client.disconnect();
      return Promise.resolve();
    },
  };
}

export const NODE_REDIS = nodeRedis(3, 'node-redis');
export const NODE_REDIS_RESP2 = nodeRedis(2, 'node-redis (RESP2)');
/** ioredis 6, which speaks RESP3 by default. */
export const IOREDIS = ioredisLike(Redis, { name: 'ioredis', library: 'ioredis', resp: 3 }, {});
export const IOREDIS_RESP2 = ioredisLike(Redis, { name: 'ioredis (RESP2)', library: 'ioredis', resp: 2 }, { protocol: 2 });
/** iovalkey 0.4 (a fork of ioredis 5): RESP2 only, it has no `protocol` option. */
export const IOVALKEY = ioredisLike(Valkey, { name: 'iovalkey', library: 'iovalkey', resp: 2 }, {});

/** One entry per client library, each in its default protocol: what behaviour specs run for. */
export const CLIENTS: readonly ClientKind[] = [NODE_REDIS, IOREDIS, IOVALKEY];
/** Every client library in every protocol it speaks: for specs about replies. */
export const CLIENTS_AND_PROTOCOLS: readonly ClientKind[] = [NODE_REDIS, NODE_REDIS_RESP2, IOREDIS, IOREDIS_RESP2, IOVALKEY];

/**
 * {@link useRedis} for the matrix: one real redis-server for the spec file (its node-redis `admin`
 * clients check and steer it), and clients of any kind, transactors on them and TCP proxies in
 * front of it, all closed after each test (transactors first, proxies last).
 */
export function useClients(options: { args?: string[] } = {}) {
  const redis = useRedis(options);
  const opened: { kind: ClientKind; client: Client }[] = [];
  const transactors: Transactor[] = [];
  const proxies: TcpProxy[] = [];

  async function cleanUp(): Promise<void> {
    await Promise.all(transactors.splice(0).map((tx) => tx.close()));
    await Promise.all(opened.splice(0).map(({ kind, client }) => kind.close(client)));
    await Promise.all(proxies.splice(0).map((proxy) => proxy.stop()));
  }
  afterEach(cleanUp);

  /** A connected client of `kind` (to the spec's server unless `options.url` says otherwise), closed after the test. */
  async function connect(kind: ClientKind, options: ClientOptions = {}): Promise<Client> {
    const { url = redis.url, ...rest } = options;
    const client = await kind.open(url, rest);
    opened.push({ kind, client });
    return client;
  }

  return {
    get url(): string {
      return redis.url;
    },
    /** A node-redis client of the test harness (not the client under test), closed after the test. */
    admin: (): Promise<RedisClientType> => redis.connect(),
    connect,
    /** A transactor on a new client of `kind`, both closed after the test. */
    async transactor(kind: ClientKind, txOptions?: TransactorOptions, clientOptions?: ClientOptions): Promise<{ tx: Transactor; client: Client }> {
      const client = await connect(kind, clientOptions);
      const tx = createTransactor(client, txOptions);
      transactors.push(tx);
      return { tx, client };
    },
    /** Closes `tx` after the test (before the clients and proxies it may use). */
    track<T extends Transactor>(tx: T): T {
      transactors.push(tx);
      return tx;
    },
    /** A TCP proxy in front of the spec's server, stopped after the test's clients are closed. */
    async proxy(): Promise<TcpProxy> {
      const proxy = await TcpProxy.inFrontOf(redis.url);
      proxies.push(proxy);
      return proxy;
    },
    /** Closes the test's transactors, clients and proxies now. */
    cleanUp,
  };
}

/** The server-side id of a client of `kind` (e.g. `t.read`, the transaction's connection). */
export async function clientIdOf(kind: ClientKind, client: Client): Promise<number> {
  return Number(await kind.command(client, ['CLIENT', 'ID']));
}
