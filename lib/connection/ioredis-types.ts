/**
 * The slice of ioredis (and iovalkey, its fork) that redis-transact drives, typed by shape so that
 * the library loads, and its declarations compile, without ioredis installed: nothing here names
 * ioredis. What of it is ioredis's internals (a pipeline's `_queue` and class, `Command`, its
 * `transformReply` and `pipelineIndex`) is checked against the installed ioredis by
 * `spec/ioredis/ioredis-contract.spec.ts`.
 */

/**
 * An ioredis command object (`Command`): a name, its arguments, a promise of its reply, how its
 * reply becomes what it returns (`transformReply`: decoding, `hgetall`'s object...), and its place
 * in a pipeline (`pipelineIndex`, set by whoever sends it in one).
 */
export interface IoredisCommand {
  readonly name: string;
  readonly args: unknown[];
  readonly promise: Promise<unknown>;
  pipelineIndex?: number | undefined;
  transformReply(reply: unknown): unknown;
}

/** ioredis's `Command` class, taken from the user's own copy of ioredis (see `ioredis-connection.ts`). */
export type IoredisCommandClass = new (name: string, args: readonly unknown[], options: { replyEncoding?: string | null }) => IoredisCommand;

/** An ioredis pipeline (`multi()` or `pipeline()`): its queue, how it queues, and how it sends. */
export interface IoredisPipeline {
  _queue: IoredisCommand[];
  [marker: symbol]: unknown;
  sendCommand(command: IoredisCommand): unknown;
  exec(): Promise<[Error | null, unknown][] | null>;
  [command: string]: unknown;
}

/** The options of an ioredis client that matter here. */
export interface IoredisOptions {
  keyPrefix?: string | Buffer;
  sentinels?: unknown;
  [option: string]: unknown;
}

/** An ioredis instance's socket (a `net.Socket`, or a `tls.TLSSocket`). */
export interface IoredisSocket {
  readonly writable: boolean;
  /** How many `uncork()` calls it takes to write what the socket holds. */
  readonly writableCorked: number;
  cork(): void;
  uncork(): void;
  destroy(): void;
}

/** An ioredis `Redis` instance (one connection). */
export interface IoredisClient {
  readonly status: string;
  readonly options: IoredisOptions;
  /** The socket (absent before the first connect). */
  readonly stream?: IoredisSocket | undefined;
  duplicate(override?: Record<string, unknown>): IoredisClient;
  connect(): Promise<void>;
  disconnect(reconnect?: boolean): void;
  quit(): Promise<unknown>;
  watch(...keys: string[]): Promise<unknown>;
  unwatch(): Promise<unknown>;
  multi(): IoredisPipeline;
  pipeline(): IoredisPipeline;
  sendCommand(command: IoredisCommand): Promise<unknown>;
  ssubscribe(...channels: string[]): Promise<unknown>;
  sunsubscribe(...channels: string[]): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
  [member: string]: unknown;
}

/**
 * An ioredis (or iovalkey) `Redis` instance, as the public API takes it (`createTransactor`,
 * `createRedlock`), matched by shape: redis-transact's declarations never name ioredis, so a
 * node-redis user compiles without it installed. (node-redis's clients have no `status` or
 * `pipeline`.)
 */
export interface IoredisClientSource {
  readonly status: string;
  readonly options: object;
  duplicate(...args: any[]): unknown;
  pipeline(...args: any[]): unknown;
  multi(...args: any[]): unknown;
}

/** An ioredis (or iovalkey) `Cluster`: the slice of it the cluster driver (`ioredis-cluster.ts`) uses. */
export interface IoredisCluster {
  readonly isCluster: true;
  readonly status: string;
  readonly options: IoredisOptions & { redisOptions?: Record<string, unknown> | undefined };
  /** For each slot, the `host:port` of its master, then of its replicas (after `natMap`). */
  readonly slots: ReadonlyArray<readonly string[] | undefined>;
  /** The cluster's connections to its nodes, one `Redis` each. */
  nodes(role?: 'all' | 'master' | 'slave'): IoredisClient[];
  duplicate(startupNodes?: unknown[], options?: Record<string, unknown>): IoredisCluster;
  connect(): Promise<void>;
  disconnect(reconnect?: boolean): void;
  quit(): Promise<unknown>;
  /** Asks a node for CLUSTER SLOTS again (ioredis marks it `@ignore`, but it is public in both libraries). */
  refreshSlotsCache(callback?: (err?: Error | null) => void): void;
  /** Maps an address the cluster announces to one the app reaches (the `natMap` option). */
  natMapper?(address: string): { host: string; port: number };
  sendCommand(command: IoredisCommand): Promise<unknown>;
  multi(): IoredisPipeline;
  on(event: string, listener: (...args: any[]) => void): unknown;
  once(event: string, listener: (...args: any[]) => void): unknown;
}

/**
 * An ioredis (or iovalkey) `Cluster`, as `createTransactor` takes it, matched by shape (see
 * {@link IoredisClientSource}): what sets it apart from a `Redis` is its `nodes()` and `slots`.
 */
export interface IoredisClusterSource extends IoredisClientSource {
  readonly isCluster: boolean;
  readonly slots: unknown;
  nodes(...args: any[]): unknown[];
}

/**
 * The `Redis` type of an ioredis Cluster's nodes (what its `nodes()` lists): `t.read` on a
 * Cluster is a dedicated connection to the slot's master, one such `Redis`.
 */
export type IoredisNodeOf<C> = C extends { nodes(...args: any[]): Array<infer R> } ? R : never;

/** ioredis's typed pipeline for client `C` (`ChainableCommander`), read off its own `pipeline()`: `t.write`. */
export type IoredisWriteBuilderOf<C> = C extends { pipeline(...args: any[]): infer W } ? W : never;
