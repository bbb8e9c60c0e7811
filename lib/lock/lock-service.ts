import type { LockConnections } from '../connection/connection.js';
import { ReleaseNotifier } from './release-notifier.js';
import { SingleNodeBackend } from './single-node-backend.js';

/**
 * A transactor's locks: one command connection shared by every lock operation (they pipeline) and
 * one subscriber for release notifications, both opened on first use and closed with the
 * transactor.
 * @internal
 */
export class LockService {
  readonly backend: SingleNodeBackend;
  readonly #connections: LockConnections;

  constructor(connections: LockConnections, keyPrefix: string) {
    this.#connections = connections;
    this.backend = new SingleNodeBackend(connections, new ReleaseNotifier(() => connections.subscriber()), keyPrefix);
  }

  async close(): Promise<void> {
    await this.backend.close();
    await this.#connections.close();
  }
}
