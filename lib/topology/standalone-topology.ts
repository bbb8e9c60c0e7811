import { ConnectionPool } from '../connection/connection-pool.js';
import type { ServerSource } from '../connection/connection-source.js';
import { CommitMarker } from '../exactly-once/commit-marker.js';
import { LockKeyspace } from '../lock/lock-keys.js';
import { LockService } from '../lock/lock-service.js';
import { KeySet } from '../validation/key-set.js';
import type { Route, Topology } from './topology.js';
import { noop } from '../util/noop.js';

/**
 * One Redis server (or the primary a Sentinel deployment names): one pool of dedicated
 * connections, no slots to check.
 */
export class StandaloneTopology implements Topology {
  readonly locks: LockService;
  readonly #pool: ConnectionPool;
  readonly #route: Route;
  readonly #server: ServerSource;

  constructor(server: ServerSource, maxConnections: number) {
    this.#server = server;
    this.#pool = new ConnectionPool(server.openDedicated, maxConnections);
    this.#route = { pool: () => this.#pool, check: noop, redirected: () => false, unreachable: noop };
    this.locks = new LockService(server.lockConnections(), new LockKeyspace(server.keyPrefix));
  }

  keySet(keys: readonly string[]): KeySet {
    return new KeySet(keys);
  }

  route(): Route {
    return this.#route;
  }

  commitMarker(_keySet: KeySet, ttlMs: number): CommitMarker {
    return new CommitMarker(undefined, ttlMs);
  }

  async close(): Promise<void> {
    await this.#pool.close();
    await this.locks.close();
    await this.#server.close?.();
  }
}
