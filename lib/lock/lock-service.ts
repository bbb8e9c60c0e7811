import type { LockConnections, ScriptClient } from '../connection/connection.js';
import type { LockKeyspace } from './lock-keys.js';
import { ReleaseNotifier } from './release-notifier.js';
import { SingleNodeBackend } from './single-node-backend.js';

/**
 * A transactor's locks: one command connection shared by every lock operation (they pipeline) and
 * one subscriber for release notifications, both opened on first use and closed with the
 * transactor.
 */
export class LockService {
  readonly backend: SingleNodeBackend;
  /** The names of the lock keys. */
  readonly keyspace: LockKeyspace;
  readonly #connections: LockConnections;

  constructor(connections: LockConnections, keyspace: LockKeyspace) {
    this.#connections = connections;
    this.keyspace = keyspace;
    this.backend = new SingleNodeBackend(connections, new ReleaseNotifier(() => connections.subscriber()), keyspace);
  }

  /** The shared command connection (on a cluster, routed by a script's first key). */
  commands(): Promise<ScriptClient> {
    return this.#connections.commands();
  }

  async close(): Promise<void> {
    await this.backend.close();
    await this.#connections.close();
  }
}
