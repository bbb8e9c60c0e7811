import type { ScriptClient } from './run-script.js';
import { ReleaseNotifier, type ShardedSubscriber } from './release-notifier.js';
import { SingleNodeBackend } from './single-node-backend.js';

/** The connections a topology lends its locks. @internal */
export interface LockConnections {
  /** Runs lock scripts (routed by their first key on a cluster); opened on first use. */
  commands(): Promise<ScriptClient>;
  /** Receives release notifications (sharded pub/sub); opened on first use. */
  subscriber(): Promise<ShardedSubscriber>;
  /** Puts the lock scripts in the script cache of every server that may run them. */
  loadScripts(sources: readonly string[]): Promise<void>;
  /** Closes what `commands` and `subscriber` opened. */
  close(): Promise<void>;
}

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
