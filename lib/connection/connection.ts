/**
 * The seam between the engine and a Redis client library: what one transaction attempt needs of
 * its connection. node-redis implements it in `node-redis-connection.ts`; nothing outside
 * `lib/connection/` knows which client library is behind it. (A second driver implements the same
 * interfaces, and recognises its own errors in its errors module.)
 */
/**
 * A connection that belongs to one transactor and serves one attempt at a time, so a WATCH on it
 * is never shared. It never reconnects: one that drops is discarded and replaced.
 */
export interface DedicatedConnection {
  /** The client `fn` reads with (`t.read`), bound to this connection; engine-owned commands throw on it. */
  readonly reader: unknown;
  /** True while the socket is up; false for good once it drops. */
  readonly alive: boolean;
  /**
   * WATCHes `keys` (named as the app names them: the client's key prefix is added), first dropping
   * a WATCH an earlier attempt abandoned, in the same write.
   */
  watch(keys: readonly string[]): Promise<unknown>;
  /** No EXEC will follow the current WATCH: its UNWATCH rides with the next WATCH. */
  abandonWatch(): void;
  /** Sends one command as it is (keys as they are on the server: already prefixed). */
  sendCommand(args: readonly (string | Buffer)[]): Promise<unknown>;
  /** `key` as it is on the server: with the client's key prefix. */
  prefixed(key: string): string | Buffer;
  /** A MULTI builder for one attempt's `fn`, and the only way to send it. */
  transaction(): Transaction;
  /** A command whose effect must land before its call's cleanup: {@link retire} waits for its reply. */
  mustLand(reply: Promise<unknown>): void;
  /** Takes it out of service: drops the socket once the replies marked with {@link mustLand} are in (bounded). */
  retire(): Promise<void>;
  /** Drops the socket at once; pending commands reject. */
  destroy(): void;
  /** Closes gracefully, after pending replies. */
  close(): Promise<void>;
}

/** One attempt's MULTI: the builder `fn` queues on (`t.write`), and its sending. */
export interface Transaction {
  /** The client's own MULTI builder; its `exec` methods throw (the engine alone sends EXEC). */
  readonly builder: unknown;
  /**
   * Sends MULTI, the marker's SET (first, and only when `fn` queued something), what `fn` queued,
   * the trailer (after it), and EXEC, in one write. When nothing at all is queued, sends nothing
   * (the WATCH is dropped with the next one). Seals the builder.
   */
  exec(plan: ExecPlan): ExecFlight;
  /** From now on, queueing on the builder throws `TransactUsageError`: nothing more will be sent. */
  seal(): void;
}

/** What the engine adds to what `fn` queued. */
export interface ExecPlan {
  /** Set first in the MULTI when `fn` queued anything (exactly-once calls). */
  readonly marker?: MarkerWrite | undefined;
  /** Raw commands sent after `fn`'s (the lock's release); their replies are never the caller's. */
  readonly trailer?: readonly (readonly string[])[] | undefined;
  /**
   * A raw command sent right after EXEC, in the same write (`WAIT` for replicas), when EXEC is sent:
   * its reply is {@link ExecFlight.after}.
   */
  readonly after?: readonly string[] | undefined;
}

/** A commit marker to set in the MULTI: `SET key value PX ttlMs`. */
export interface MarkerWrite {
  /** As the app names keys: the connection adds the client's key prefix. */
  readonly key: string;
  readonly value: string;
  readonly ttlMs: number;
}

/** What {@link Transaction.exec} put on the wire, and its answer. */
export interface ExecFlight {
  /** Whether commands of `fn` went out (an EXEC may also carry the trailer alone, or nothing be sent). */
  readonly wrote: boolean;
  /** Whether the marker went with them. */
  readonly marked: boolean;
  /**
   * EXEC's replies to `fn`'s commands, as the client types them. Rejects as the client does: an
   * aborted EXEC, a failed command among them, a refused MULTI, a lost connection; or with
   * `TransactUsageError` when `fn` queued a command that has no place in a transaction's MULTI
   * (nothing was sent then).
   */
  readonly reply: Promise<unknown[]>;
  /** The raw replies of the trailer's commands (error replies included), once EXEC ran; else `undefined`. */
  readonly trailerReplies: readonly unknown[] | undefined;
  /** The reply of {@link ExecPlan.after}, when it was sent. */
  readonly after?: Promise<unknown> | undefined;
}

/** What runs a script: a shared connection, or a cluster client routed by the first key. */
export interface ScriptClient {
  /** Sends one command as it is (keys already prefixed). */
  sendCommand(args: readonly string[]): Promise<unknown>;
  /**
   * Sends `commands` in order on one and the same connection (routed by `routeKey` on a cluster):
   * a write, then the `WAIT` that must follow it on that connection (WAIT counts the replicas
   * that have the connection's own writes). Settles with each command's outcome. Absent where
   * `sendCommand` always uses one socket: commands sent together there go out in order, in one write.
   */
  sendTogether?(commands: readonly (readonly string[])[], routeKey: string): Promise<PromiseSettledResult<unknown>[]>;
}

/** The sharded pub/sub side of a connection (standalone or cluster): how lock waiters are woken. */
export interface ShardedSubscriber {
  sSubscribe(channels: string | string[], listener: (message: string, channel: string) => void): Promise<unknown>;
  sUnsubscribe(channels?: string | string[], listener?: (message: string, channel: string) => void): Promise<unknown>;
}

/** The ordinary (reconnecting) connections a topology lends its locks. */
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
