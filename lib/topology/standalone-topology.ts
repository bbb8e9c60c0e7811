import { ConnectionPool } from '../connection/connection-pool.js';
import type { ServerSource } from '../connection/connection-source.js';
import type { NodeRedisClient } from '../connection/node-redis-types.js';
import type { LockConnections } from '../lock/lock-connections.js';
import { CommitMarker } from '../exactly-once/commit-marker.js';
import { LockService } from '../lock/lock-service.js';
import type { ShardedSubscriber } from '../lock/release-notifier.js';
import { TransactorClosedError } from '../errors/usage-errors.js';
import type { Route, Topology } from './topology.js';

/** One Redis server: one pool of dedicated connections, no slots to check. @internal */
export class StandaloneTopology implements Topology {
  readonly locks: LockService;
  readonly #pool: ConnectionPool;
  readonly #route: Route;
  readonly #lockConnections: SharedConnections;

  constructor(server: ServerSource, maxConnections: number) {
    this.#pool = new ConnectionPool(server.openDedicated, maxConnections);
    this.#route = { pool: () => this.#pool, check: () => {}, redirected: () => false, unreachable: () => {} };
    this.#lockConnections = new SharedConnections(server);
    this.locks = new LockService(this.#lockConnections, server.keyPrefix);
  }

  route(): Route {
    return this.#route;
  }

  commitMarker(keys: readonly string[], ttlMs: number): CommitMarker {
    return new CommitMarker(keys, ttlMs, '', false);
  }

  async close(): Promise<void> {
    await this.#pool.close();
    await this.locks.close();
  }
}

/** The lock service's two ordinary connections to the server, opened on first use. */
class SharedConnections implements LockConnections {
  readonly #server: ServerSource;
  /** Every client opened, connected or still connecting, so close() can always end them. */
  readonly #clients: NodeRedisClient[] = [];
  #commands: Promise<NodeRedisClient> | undefined;
  #closed = false;

  constructor(server: ServerSource) {
    this.#server = server;
  }

  commands(): Promise<NodeRedisClient> {
    if (!this.#commands) {
      const opening = this.#open();
      opening.catch(() => (this.#commands = undefined)); // try again on next use
      this.#commands = opening;
    }
    return this.#commands;
  }

  subscriber(): Promise<ShardedSubscriber> {
    return this.#open() as unknown as Promise<ShardedSubscriber>;
  }

  async loadScripts(sources: readonly string[]): Promise<void> {
    const client = await this.commands();
    await Promise.all(sources.map((source) => client.sendCommand(['SCRIPT', 'LOAD', source])));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#commands = undefined;
    const clients = this.#clients.splice(0);
    await Promise.all(clients.map(async (c) => (c.isReady ? c.close().catch(() => c.destroy()) : c.destroy())));
  }

  async #open(): Promise<NodeRedisClient> {
    if (this.#closed) throw new TransactorClosedError();
    const client = await this.#server.duplicate();
    if (this.#closed) throw new TransactorClosedError();
    this.#clients.push(client);
    await client.connect();
    return client;
  }
}
