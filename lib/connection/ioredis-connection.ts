/**
 * The ioredis implementation of a {@link DedicatedConnection}: one duplicate of the app's `Redis`
 * that never reconnects, never queues while offline and never re-sends what it wrote before a
 * disconnect, so a MULTI/EXEC can only ever run on the socket that holds its WATCH (ioredis's
 * defaults would re-send it, unguarded, on a new one). Made by `ioredis-source.ts`; used by the
 * engine only through the interface.
 */
import { noop } from '../util/noop.js';
import type { DedicatedConnection, Transaction } from './connection.js';
import { DedicatedConnectionBase } from './dedicated-connection-base.js';
import { IoredisTransaction, multiBuilders, type IoredisTransactionBase } from './ioredis-transaction.js';
import type { IoredisClient, IoredisCommandClass } from './ioredis-types.js';
import { rawCommand } from './ioredis-command.js';
import { endNow } from './ioredis-end.js';
import { gatherWrites } from './ioredis-writes.js';
import { prefixedKey, prefixOf } from './key-prefix.js';
import { refuse } from './multi-refusals.js';

/**
 * What a dedicated connection overrides in the app's options: no reconnect, no offline queue, no
 * re-send after a disconnect (ioredis#1686: a WATCH lost on reconnect, both sides commit), no
 * auto-pipelining (commands go out in the order the engine sends them), no per-command timeout
 * (the call's deadline bounds the waits; a timed-out EXEC would only be an unknown outcome).
 */
const DEDICATED_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({
  lazyConnect: true,
  retryStrategy: () => null,
  reconnectOnError: null,
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  autoResubscribe: false,
  enableAutoPipelining: false,
  commandTimeout: undefined,
});

/**
 * Methods `fn` must not call on `t.read`: they would change the connection's WATCH, MULTI,
 * database or protocol state under the engine, or close a connection it owns. (ioredis also has
 * a `…Buffer` twin of each command.)
 */
const GUARDED_COMMANDS = ['watch', 'unwatch', 'multi', 'exec', 'discard', 'select', 'swapdb', 'subscribe', 'psubscribe', 'ssubscribe', 'monitor', 'reset', 'hello', 'quit'];
const GUARDED_METHODS = [...GUARDED_COMMANDS, ...GUARDED_COMMANDS.map((c) => `${c}Buffer`), 'disconnect', 'end'];

const UNWATCH: readonly string[] = Object.freeze(['unwatch']);

/** See {@link DedicatedConnection}. */
export class IoredisConnection extends DedicatedConnectionBase implements DedicatedConnection {
  /** The ioredis client handed to `fn` as `t.read`; engine-owned methods throw on it. */
  readonly client: IoredisClient;
  readonly #quit: () => Promise<unknown>;
  readonly #disconnect: () => void;
  readonly #send: (args: readonly (string | Buffer)[]) => Promise<unknown>;
  readonly #keyPrefix: string | Buffer;
  readonly #base: IoredisTransactionBase;

  private constructor(client: IoredisClient, Command: IoredisCommandClass, retiredWhen: (() => boolean) | undefined) {
    super(retiredWhen);
    this.client = client;
    this.#quit = client.quit.bind(client);
    this.#disconnect = client.disconnect.bind(client);
    this.#keyPrefix = prefixOf(client.options.keyPrefix);
    // Raw commands name keys as the server does: a Command made without the client's keyPrefix.
    this.#send = (args) => client.sendCommand(rawCommand(Command, args));
    this.#base = {
      Command,
      builder: multiBuilders(client),
      write: (command) => void client.sendCommand(command),
      send: this.#send,
      ready: () => this.alive,
      gatherWrites: () => gatherWrites(client, 'by-turn'),
      prefixed: (key) => this.prefixed(key),
      nothingSent: () => this.watchLeftSet(),
    };
    for (const method of GUARDED_METHODS) (client as Record<string, unknown>)[method] = refuse(`t.read.${method}()`);
  }

  /**
   * Opens a dedicated connection with the options (server, auth, TLS, database, prefix, RESP) of
   * `template`, but for `overrides` (on a cluster: the master's address and the cluster's prefix; on
   * Sentinel: the deployment's settings). `retiredWhen` says when the connection
   * is no longer to be used for another attempt (a new primary was named since it opened).
   */
  static async open(
    template: IoredisClient,
    Command: IoredisCommandClass,
    { overrides, retiredWhen }: { overrides?: Readonly<Record<string, unknown>>; retiredWhen?: () => boolean } = {},
  ): Promise<IoredisConnection> {
    // The dedicated options last: nothing may turn reconnects, queueing or re-sending back on.
    const client = template.duplicate({ ...overrides, ...DEDICATED_OPTIONS });
    // Errors surface through the rejected commands; an unhandled 'error' event would crash.
    client.on('error', noop);
    try {
      await client.connect();
    } catch (err) {
      endNow(client);
      throw err;
    }
    return new IoredisConnection(client, Command, retiredWhen);
  }

  get reader(): IoredisClient {
    return this.client;
  }

  protected get connected(): boolean {
    // ioredis says 'ready' until its socket's close event; a socket the server closed stops being
    // writable before that, and ioredis already refuses commands then.
    return this.client.status === 'ready' && this.client.stream?.writable === true;
  }

  override watch(keys: readonly string[]): Promise<unknown> {
    // The UNWATCH of an abandoned WATCH, the WATCH, a fence's probe and fn's first reads, sent in
    // this tick: one write.
    gatherWrites(this.client, 'by-turn');
    return super.watch(keys);
  }

  protected sendWatch(keys: readonly string[]): Promise<unknown> {
    // A raw command, its keys prefixed here: what `client.watch()` sends, without ioredis's
    // per-call options, auto-pipelining check and key-position lookup.
    return this.#send(['watch', ...(this.#keyPrefix === '' ? keys : keys.map((key) => this.prefixed(key)))]);
  }

  protected sendUnwatch(): Promise<unknown> {
    return this.#send(UNWATCH);
  }

  sendCommand(args: readonly (string | Buffer)[]): Promise<unknown> {
    return this.#send(args);
  }

  prefixed(key: string): string | Buffer {
    return prefixedKey(this.#keyPrefix, key);
  }

  transaction(): Transaction {
    return new IoredisTransaction(this.#base);
  }

  destroy(): void {
    if (this.client.status === 'end') return;
    this.#disconnect();
    this.client.stream?.destroy();
  }

  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    if (this.connected) await this.#quit().catch(noop);
    this.destroy();
  }
}
