/**
 * The slice of node-redis that redis-transact drives, typed structurally so internals stay
 * independent of node-redis's (very wide) generic client types. Public signatures use the real
 * node-redis types; these are for the engine only. What of it is node-redis's internals (the
 * underscored members, `Multi`) is checked against the installed node-redis by
 * `spec/connection/node-redis-contract.spec.ts`.
 */

/** One command in a MULTI builder's queue. */
export interface QueuedCommand {
  readonly args: readonly unknown[];
}

/** node-redis's MULTI builder (`RedisClientMultiCommand`). */
export interface MultiBuilder {
  exec(): Promise<unknown[]>;
  [command: string]: unknown;
}

/** What node-redis hands a builder to send its queue with: `client._executeMulti`. */
export type ExecuteMulti = (commands: QueuedCommand[], selectedDB?: number, ...rest: unknown[]) => Promise<unknown[]>;

export interface NodeRedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  readonly options?: { socket?: Record<string, unknown> } & Record<string, unknown>;
  duplicate(overrides?: Record<string, unknown>): NodeRedisClient;
  connect(): Promise<unknown>;
  watch(keys: string | string[]): Promise<unknown>;
  unwatch(): Promise<unknown>;
  multi(): MultiBuilder;
  sendCommand(args: readonly (string | Buffer)[]): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
  /** The builder class `multi()` makes, with the client's commands, scripts and modules. */
  readonly Multi: new (executeMulti: ExecuteMulti, executePipeline: unknown, typeMapping: unknown, keyPrefix: unknown) => MultiBuilder;
  _executeMulti: ExecuteMulti;
  _executePipeline(commands: readonly unknown[], ...rest: unknown[]): Promise<unknown[]>;
  readonly _commandOptions?: { typeMapping?: unknown } & Record<string, unknown>;
  readonly _keyPrefix?: unknown;
  [command: string]: unknown;
}

export interface NodeRedisPool {
  readonly _keyPrefix?: unknown;
  execute<T>(fn: (client: NodeRedisClient) => T | Promise<T>): Promise<T>;
  readonly totalClients: number;
}
