import { TransactUsageError } from '../errors/usage-errors.js';
import { settleWithin } from '../util/time-bounds.js';
import type { MultiBuilder, NodeRedisClient } from './node-redis-types.js';

/** How long a retired connection may wait for the replies of what it already sent. */
const RETIRE_WAIT_MS = 2_000;

/**
 * Methods `fn` must not call on `t.read`: they would change the connection's WATCH, MULTI,
 * database or protocol state under the engine, or close a connection it owns.
 */
const GUARDED_METHODS = [
  'watch', 'WATCH', 'unwatch', 'UNWATCH', 'multi', 'MULTI', 'select', 'SELECT',
  'subscribe', 'SUBSCRIBE', 'pSubscribe', 'PSUBSCRIBE', 'sSubscribe', 'SSUBSCRIBE', 'monitor', 'MONITOR',
  'reset', 'quit', 'QUIT', 'disconnect', 'close', 'destroy',
] as const;

/**
 * MULTI builder methods `fn` must not call on `t.write`: the engine sends EXEC itself, and a
 * SELECT inside the transaction would move the rest of it (and the connection) to another database.
 */
const GUARDED_WRITE_METHODS = ['exec', 'EXEC', 'execTyped', 'execAsPipeline', 'execAsPipelineTyped', 'select', 'SELECT'] as const;

/** Refusals for `t.write`'s guarded methods, made once: a builder is made per attempt. */
const WRITE_REFUSALS = GUARDED_WRITE_METHODS.map((method) => [method, refuse(`t.write.${method}()`)] as const);

/**
 * Commands that must not run inside a transaction's MULTI however they were queued (a raw
 * `t.write.sendCommand`): they would end it early or move it, and the connection, to another
 * database or protocol.
 */
const REFUSED_IN_MULTI = new Set(['SELECT', 'SWAPDB', 'MULTI', 'EXEC', 'DISCARD', 'RESET', 'QUIT', 'HELLO', 'WATCH', 'UNWATCH']);

/** A commit marker to send in the MULTI, first, if anything else is (see {@link DedicatedConnection.multi}). */
export interface MarkerWrite {
  /** As node-redis commands take it: the connection adds its key prefix. */
  readonly key: string;
  readonly value: string;
  readonly ttlMs: number;
}

/**
 * A connection that belongs to one transactor and serves one attempt at a time, so a WATCH on it
 * is never shared. It never reconnects by itself: node-redis would otherwise replay a queued
 * MULTI/EXEC on the new socket without the WATCH (a lost update). A connection that drops is
 * discarded and replaced.
 */
export class DedicatedConnection {
  /** The node-redis client handed to `fn` as `t.read`; engine-owned methods throw on it. */
  readonly client: NodeRedisClient;
  readonly #watch: (keys: string[]) => Promise<unknown>;
  readonly #unwatch: () => Promise<unknown>;
  readonly #multi: () => MultiBuilder;
  readonly #close: () => Promise<void>;
  readonly #destroy: () => void;
  #staleWatch = false;
  readonly #keyPrefix: string | Buffer;
  /** Set only while a commit is being sent: the marker it carries, and how many commands are the fence's. */
  #marker: { write: MarkerWrite; fenceCommands: number } | undefined;
  #marked = false;
  /** Set by a commit whose queue held a command refused in MULTI: nothing was sent. */
  #refused: TransactUsageError | undefined;
  /**
   * Commands whose effect must land before their call's cleanup (a lock acquire, an EXEC that
   * releases), until their replies: dropping the connection waits for these, and only these.
   */
  readonly #landing = new Set<Promise<unknown>>();

  private constructor(client: NodeRedisClient) {
    this.client = client;
    this.#watch = client.watch.bind(client);
    this.#unwatch = client.unwatch.bind(client);
    this.#multi = client.multi.bind(client);
    this.#close = client.close.bind(client);
    this.#destroy = client.destroy.bind(client);
    const prefix = (client as { _keyPrefix?: unknown })._keyPrefix;
    this.#keyPrefix = typeof prefix === 'string' || Buffer.isBuffer(prefix) ? prefix : '';
    // An empty MULTI/EXEC is a wasted round trip: a transaction that queued nothing skips it,
    // and its WATCH is dropped with the next one, before anything else can use this connection.
    const executeMulti = client._executeMulti.bind(client);
    client._executeMulti = (commands, ...rest) => {
      // Whatever fn queued, however it queued it (typed commands, sendCommand, scripts, modules),
      // is in `commands`: the marker goes first, in the connection's own database, when anything
      // besides the fence's commands is there. Its reply is taken off before node-redis sees it.
      const refused = (commands as ReadonlyArray<{ args: readonly unknown[] }>).find(({ args }) =>
        REFUSED_IN_MULTI.has(String(args[0]).toUpperCase()),
      );
      if (refused) {
        this.#refused = new TransactUsageError(
          `${String(refused.args[0]).toUpperCase()} cannot be queued on t.write: it would end the transaction early or move it ` +
            'to another database; nothing was sent',
        );
        return Promise.reject(this.#refused);
      }
      const marker = this.#marker;
      this.#marked = marker !== undefined && commands.length > marker.fenceCommands;
      if (this.#marked) {
        const { key, value, ttlMs } = marker!.write;
        const prefixed = typeof this.#keyPrefix === 'string' ? this.#keyPrefix + key : Buffer.concat([this.#keyPrefix, Buffer.from(key)]);
        const set = { args: ['SET', prefixed, value, 'PX', String(ttlMs)] };
        return executeMulti([set, ...commands], ...rest).then((replies) => replies.slice(1));
      }
      if (commands.length > 0) return executeMulti(commands, ...rest);
      this.#staleWatch = true;
      return Promise.resolve([]);
    };
    for (const method of GUARDED_METHODS) {
      (client as Record<string, unknown>)[method] = refuse(`t.read.${method}()`);
    }
  }

  /**
   * Opens a dedicated connection with the options (server, auth, TLS, prefix, RESP) of `template`,
   * and overrides: another node of the same cluster (`socket`), or the cluster's key prefix (its
   * node clients do not carry it).
   */
  static async open(
    template: NodeRedisClient,
    overrides: { socket?: Record<string, unknown>; keyPrefix?: string } = {},
  ): Promise<DedicatedConnection> {
    const socket = { ...template.options?.socket, ...overrides.socket, reconnectStrategy: false };
    // node-redis's per-command timeout only covers commands still waiting to be written, which a
    // connection that never reconnects does not keep; it costs a timer per command, so it is off
    // here (the call's deadline bounds the waits instead).
    const commandOptions = { ...(template as { _commandOptions?: object })._commandOptions, timeout: 0 };
    const client = template.duplicate({ socket, commandOptions, ...(overrides.keyPrefix ? { keyPrefix: overrides.keyPrefix } : {}) });
    // Errors surface through the rejected commands; an unhandled 'error' event would crash.
    client.on('error', () => {});
    await client.connect();
    return new DedicatedConnection(client);
  }

  /** True while the socket is up; false for good once it drops. */
  get alive(): boolean {
    return this.client.isReady;
  }

  /** WATCHes `keys`, first dropping a WATCH an earlier attempt left (in the same write). */
  watch(keys: string[]): Promise<unknown> {
    if (this.#staleWatch) {
      this.#staleWatch = false;
      this.#unwatch().catch(() => {});
    }
    return this.#watch(keys);
  }

  /**
   * Marks the current WATCH as abandoned (no EXEC will follow). The UNWATCH rides along with the
   * next attempt's WATCH instead of costing a write of its own now.
   */
  abandonWatch(): void {
    this.#staleWatch = true;
  }

  /**
   * A fresh MULTI builder for `fn` (`t.write`) and the function that sends it. The builder's own
   * `exec` methods throw, so only the engine decides when EXEC goes out. `commit(marker,
   * fenceCommands)` sends `marker`'s SET first in the MULTI when anything but the last
   * `fenceCommands` commands is queued, and says whether it did; EXEC's replies never include it.
   * A queue holding a command that must not run in a transaction's MULTI (SELECT, EXEC, RESET...,
   * sent raw) is not sent: `refused` says why.
   */
  multi(): { builder: MultiBuilder; commit: (marker?: MarkerWrite, fenceCommands?: number) => Commit } {
    const builder = this.#multi();
    const exec = builder.exec;
    for (const [method, refusal] of WRITE_REFUSALS) (builder as Record<string, unknown>)[method] = refusal;
    return {
      builder,
      commit: (marker, fenceCommands = 0) => {
        this.#marker = marker && { write: marker, fenceCommands };
        this.#marked = false;
        this.#refused = undefined;
        try {
          // node-redis hands the queue to _executeMulti synchronously, before its first await.
          const replies = exec.call(builder);
          if (this.#refused) replies.catch(() => {});
          return { replies, marked: this.#marked, refused: this.#refused };
        } finally {
          this.#marker = undefined;
        }
      },
    };
  }

  /** Closes gracefully, after pending replies. */
  async close(): Promise<void> {
    if (this.client.isOpen) await this.#close().catch(() => {});
  }

  /** Drops the socket at once; pending commands reject. */
  destroy(): void {
    if (this.client.isOpen) this.#destroy();
  }

  /**
   * Marks `reply` as a command that must land before its call's cleanup: a lock script or an EXEC
   * that releases must not run on the server after the cleanup, which goes over another connection.
   */
  mustLand(reply: Promise<unknown>): void {
    this.#landing.add(reply);
    const landed = () => this.#landing.delete(reply);
    reply.then(landed, landed);
  }

  /**
   * Takes the connection out of service and drops the socket. Commands not yet answered are cut
   * off (the server may or may not run them), except those marked with {@link mustLand}: the drop
   * waits for their replies first, at most `RETIRE_WAIT_MS`.
   */
  retire(): Promise<void> {
    if (this.#landing.size === 0 || !this.alive) {
      this.destroy();
      return Promise.resolve();
    }
    return settleWithin(Promise.allSettled(this.#landing), RETIRE_WAIT_MS).then(() => this.destroy());
  }
}

/** What `commit` did: EXEC's replies, whether the marker went with them, or why nothing was sent. */
export interface Commit {
  readonly replies: Promise<unknown[]>;
  readonly marked: boolean;
  readonly refused: TransactUsageError | undefined;
}

function refuse(what: string): () => never {
  return () => {
    throw new TransactUsageError(
      `${what} is not available inside a transaction: redis-transact owns WATCH, MULTI, EXEC and the connection; ` +
        'read with t.read, queue writes on t.write, and watch more keys with t.watch()',
    );
  };
}
