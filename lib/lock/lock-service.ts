import type { ServerSource } from '../connection/connection-source.js';
import type { NodeRedisClient } from '../connection/node-redis-types.js';
import { ReleaseNotifier, type ShardedSubscriber } from './release-notifier.js';
import { SingleNodeBackend } from './single-node-backend.js';

/**
 * A transactor's locks on its one server: one command connection shared by every lock operation
 * (they pipeline), and one subscriber connection for release notifications; both opened on first
 * use and closed with the transactor.
 * @internal
 */
export class LockService {
  readonly backend: SingleNodeBackend;
  #commands: Promise<NodeRedisClient> | undefined;
  readonly #server: ServerSource;

  constructor(server: ServerSource) {
    this.#server = server;
    const notifier = new ReleaseNotifier(() => server.openShared() as unknown as Promise<ShardedSubscriber>);
    this.backend = new SingleNodeBackend(() => (this.#commands ??= this.#open()), notifier, server.keyPrefix);
  }

  async close(): Promise<void> {
    const commands = await this.#commands?.catch(() => undefined);
    this.#commands = undefined;
    await Promise.all([this.backend.close(), commands?.close().catch(() => commands.destroy())]);
  }

  #open(): Promise<NodeRedisClient> {
    const opening = this.#server.openShared();
    opening.catch(() => (this.#commands = undefined)); // try again on next use
    return opening;
  }
}
