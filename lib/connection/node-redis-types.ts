/**
 * The slice of node-redis that redis-transact drives, typed structurally so internals stay
 * independent of node-redis's (very wide) generic client types. Public signatures use the real
 * node-redis types; these are for the engine only.
 * @internal
 */
export interface MultiBuilder {
  exec(): Promise<unknown[]>;
  [command: string]: unknown;
}

/** @internal */
export interface NodeRedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  readonly options?: { socket?: Record<string, unknown> } & Record<string, unknown>;
  duplicate(overrides?: Record<string, unknown>): NodeRedisClient;
  connect(): Promise<unknown>;
  watch(keys: string | string[]): Promise<unknown>;
  unwatch(): Promise<unknown>;
  multi(): MultiBuilder;
  sendCommand(args: string[]): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  on(event: string, listener: (...args: any[]) => void): unknown;
  _executeMulti(commands: readonly unknown[], ...rest: unknown[]): Promise<unknown[]>;
  [command: string]: unknown;
}

/** @internal */
export interface NodeRedisPool {
  readonly _keyPrefix?: unknown;
  execute<T>(fn: (client: NodeRedisClient) => T | Promise<T>): Promise<T>;
  readonly totalClients: number;
}
