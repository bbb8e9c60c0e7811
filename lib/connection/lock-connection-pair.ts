/**
 * A lock service's two ordinary connections to one server (a script connection and a sharded
 * subscriber), each opened on first use: the same for every client library, which only says how
 * to make, connect and end one of its connections.
 */
import { noop } from '../util/noop.js';
import { settleWithin } from '../util/time-bounds.js';
import type { LockConnections, ScriptClient, ShardedSubscriber } from './connection.js';
import { LazyConnection } from './lazy-connection.js';

/** The longest a lock connection's graceful close may wait for replies before it is dropped. */
export const CLOSE_WAIT_MS = 1_000;

/** How a server's lock connections behave when the server is down. */
export interface LockConnectionOptions {
  /**
   * Fail fast (a quorum node): commands fail at once while disconnected instead of queueing, the
   * first connect is awaited at most this long, and the subscriber connects in the background.
   */
  readonly failFastAfterMs?: number;
}

/** What a client library supplies for {@link LockConnectionPair}. */
export interface LockConnectionParts<C extends ScriptClient & ShardedSubscriber> {
  /** A new connection, not yet connected; `failFast`: commands fail while disconnected instead of queueing. */
  create(failFast: boolean): Promise<C>;
  /** Connects it (resolves once it is ready). */
  connect(connection: C): Promise<unknown>;
  /** Ends it, gracefully when it can, bounded; never rejects. */
  end(connection: C): Promise<void>;
}

/** See {@link LockConnections}. */
export class LockConnectionPair<C extends ScriptClient & ShardedSubscriber> implements LockConnections {
  readonly #commands: LazyConnection<C>;
  readonly #subscriber: LazyConnection<C>;

  constructor(parts: LockConnectionParts<C>, options: LockConnectionOptions) {
    const failFast = options.failFastAfterMs;
    this.#commands = new LazyConnection<C>({
      // A quorum node that is down keeps reconnecting in the background, and its commands fail at
      // once meanwhile (no offline queue) instead of waiting for it; the first one waits (bounded).
      create: () => parts.create(failFast !== undefined),
      connect: (c) => (failFast === undefined ? parts.connect(c) : settleWithin(parts.connect(c), failFast)),
      end: parts.end,
    });
    this.#subscriber = new LazyConnection<C>({
      create: () => parts.create(false),
      // A quorum node's subscriptions wait in its queue until it is up.
      connect: (c) => (failFast === undefined ? parts.connect(c) : (parts.connect(c).catch(noop), Promise.resolve())),
      end: parts.end,
    });
  }

  commands(): Promise<C> {
    return this.#commands.get();
  }

  subscriber(): Promise<ShardedSubscriber> {
    return this.#subscriber.get();
  }

  async loadScripts(sources: readonly string[]): Promise<void> {
    const client = await this.commands();
    await Promise.all(sources.map((source) => client.sendCommand(['SCRIPT', 'LOAD', source])));
  }

  async close(): Promise<void> {
    await Promise.all([this.#commands.close(), this.#subscriber.close()]);
  }
}
