/**
 * The node-redis implementation of a {@link DedicatedConnection}: one duplicate of the app's
 * client that never reconnects, whose MULTI builders send what the engine adds (a commit marker
 * first, a lock release last) in the same MULTI as `fn`'s writes. Made by the connection sources
 * (`connection-source.ts`, `node-redis-cluster.ts`); used by the engine only through the interface.
 */
import { noop } from '../util/noop.js';
import type { DedicatedConnection, ExecFlight, ExecPlan, MarkerWrite, Transaction } from './connection.js';
import { DedicatedConnectionBase } from './dedicated-connection-base.js';
import { Flight } from './exec-flight.js';
import { prefixedKey, prefixOf } from './key-prefix.js';
import { REFUSED_IN_MULTI, refuse, refuseLateWrite, refusedInMulti } from './multi-refusals.js';
import type { MultiBuilder, NodeRedisClient, QueuedCommand } from './node-redis-types.js';

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

/** See {@link DedicatedConnection}. */
export class NodeRedisConnection extends DedicatedConnectionBase implements DedicatedConnection {
  /** The node-redis client handed to `fn` as `t.read`; engine-owned methods throw on it. */
  readonly client: NodeRedisClient;
  readonly #watch: (keys: string[]) => Promise<unknown>;
  readonly #unwatch: () => Promise<unknown>;
  readonly #close: () => Promise<void>;
  readonly #destroy: () => void;
  readonly #keyPrefix: string | Buffer;
  readonly #transactionBase: TransactionBase;

  private constructor(client: NodeRedisClient, retiredWhen: (() => boolean) | undefined) {
    super(retiredWhen);
    this.client = client;
    this.#watch = client.watch.bind(client);
    this.#unwatch = client.unwatch.bind(client);
    this.#close = client.close.bind(client);
    this.#destroy = client.destroy.bind(client);
    this.#keyPrefix = prefixOf(client._keyPrefix);
    this.#transactionBase = {
      client,
      keyPrefix: this.#keyPrefix,
      executePipeline: client._executePipeline.bind(client),
      nothingSent: () => this.watchLeftSet(),
    };
    for (const method of GUARDED_METHODS) {
      (client as Record<string, unknown>)[method] = refuse(`t.read.${method}()`);
    }
  }

  /**
   * Opens a dedicated connection with the options (server, auth, TLS, prefix, RESP) of `template`,
   * and overrides: another node of the same cluster (`socket`), or the cluster's key prefix (its
   * node clients do not carry it). `retiredWhen` says when the connection is no longer to be
   * used, though its socket is up (a Sentinel named another primary since it was opened).
   */
  static async open(
    template: NodeRedisClient,
    overrides: { socket?: Record<string, unknown>; keyPrefix?: string; retiredWhen?: () => boolean } = {},
  ): Promise<NodeRedisConnection> {
    // node-redis would replay a queued MULTI/EXEC on a new socket without its WATCH (a lost update).
    const socket = { ...template.options?.socket, ...overrides.socket, reconnectStrategy: false };
    // node-redis's per-command timeout only covers commands still waiting to be written, which a
    // connection that never reconnects does not keep; it costs a timer per command, so it is off
    // here (the call's deadline bounds the waits instead).
    const commandOptions = { ...template._commandOptions, timeout: 0 };
    // No client-side cache: a read served from a cache that other sockets fill is not guarded by
    // this connection's WATCH (a lost update), and closing a member of a shared cache clears it.
    const client = template.duplicate({
      socket,
      commandOptions,
      clientSideCache: undefined,
      ...(overrides.keyPrefix ? { keyPrefix: overrides.keyPrefix } : {}),
    });
    // Errors surface through the rejected commands; an unhandled 'error' event would crash.
    client.on('error', noop);
    await client.connect();
    return new NodeRedisConnection(client, overrides.retiredWhen);
  }

  get reader(): NodeRedisClient {
    return this.client;
  }

  protected get connected(): boolean {
    return this.client.isReady;
  }

  protected sendWatch(keys: readonly string[]): Promise<unknown> {
    return this.#watch(keys as string[]);
  }

  protected sendUnwatch(): Promise<unknown> {
    return this.#unwatch();
  }

  sendCommand(args: readonly (string | Buffer)[]): Promise<unknown> {
    return this.client.sendCommand(args);
  }

  prefixed(key: string): string | Buffer {
    return prefixedKey(this.#keyPrefix, key);
  }

  transaction(): Transaction {
    return new NodeRedisTransaction(this.#transactionBase);
  }

  destroy(): void {
    if (this.client.isOpen) this.#destroy();
  }

  async close(): Promise<void> {
    if (this.client.isOpen) await this.#close().catch(noop);
  }
}

/** Hands the builder's queue over without sending it: {@link NodeRedisTransaction.seal} needs the queue. */
const CAPTURE = Symbol('capture');

/** What one connection's transactions share (made once per connection, not per attempt). */
interface TransactionBase {
  readonly client: NodeRedisClient;
  readonly keyPrefix: string | Buffer;
  readonly executePipeline: unknown;
  /** No EXEC will follow the connection's WATCH: drop it with the next one. */
  readonly nothingSent: () => void;
}


const REFUSED = new Flight(false, false);

/**
 * One attempt's MULTI. The builder is node-redis's own class for the client (typed commands,
 * scripts, modules, functions, `sendCommand`), made with a send function of this transaction's
 * own: whatever `fn` queued, however it queued it, arrives there as the builder's queue, and the
 * marker and trailer are added around it. Their replies are taken off before node-redis turns the
 * rest into the caller's replies.
 */
class NodeRedisTransaction implements Transaction {
  readonly builder: MultiBuilder;
  readonly #base: TransactionBase;
  readonly #exec: () => Promise<unknown[]>;
  #plan: ExecPlan | typeof CAPTURE | undefined;
  #queue: QueuedCommand[] | undefined;
  #flight: Flight | undefined;
  #sealed = false;

  constructor(base: TransactionBase) {
    this.#base = base;
    const { client } = base;
    const builder = new client.Multi(
      (commands, selectedDB) => this.#send(commands, selectedDB),
      base.executePipeline,
      client._commandOptions?.typeMapping,
      client._keyPrefix,
    );
    this.#exec = builder.exec;
    for (const [method, refusal] of WRITE_REFUSALS) (builder as Record<string, unknown>)[method] = refusal;
    this.builder = builder;
  }

  exec(plan: ExecPlan): ExecFlight {
    this.#plan = plan;
    const reply = this.#exec.call(this.builder);
    const flight = this.#flight;
    // node-redis hands its queue to the send function before its first await: checked by the
    // contract spec. Were it ever later, what was sent could not be known here.
    if (!flight) {
      reply.catch(noop);
      throw new Error('redis-transact: node-redis did not hand the MULTI queue over synchronously (unsupported node-redis version)');
    }
    this.seal();
    if (flight === REFUSED) return { wrote: false, marked: false, reply, trailerReplies: undefined };
    flight.reply = reply;
    return flight;
  }

  seal(): void {
    if (this.#sealed) return;
    this.#sealed = true;
    if (!this.#queue) {
      this.#plan = CAPTURE;
      this.#exec.call(this.builder).catch(noop);
    }
    // Every way of queueing (typed commands, scripts, modules, sendCommand) ends in the queue's push.
    if (this.#queue) this.#queue.push = refuseLateWrite;
  }

  #send(commands: QueuedCommand[], selectedDB: number | undefined): Promise<unknown[]> {
    this.#queue = commands;
    const plan = this.#plan;
    if (plan === CAPTURE || plan === undefined) return Promise.resolve([]);
    const refused = commands.find(({ args }) => REFUSED_IN_MULTI.has(String(args[0]).toUpperCase()));
    if (refused) {
      this.#flight = REFUSED;
      this.#base.nothingSent();
      return Promise.reject(refusedInMulti(String(refused.args[0])));
    }
    const trailer = plan.trailer;
    const wrote = commands.length > 0;
    // The marker only when fn queued something: with nothing to apply there is nothing to apply once.
    const marker = wrote ? plan.marker : undefined;
    const flight = new Flight(wrote, marker !== undefined);
    this.#flight = flight;
    if (!wrote && !trailer?.length) {
      // An empty MULTI/EXEC is a wasted round trip: skipped, and the WATCH dropped with the next one.
      this.#base.nothingSent();
      return Promise.resolve([]);
    }
    const { client } = this.#base;
    if (!marker && !trailer?.length) {
      const exec = client._executeMulti(commands, selectedDB);
      this.#queueAfter(flight, plan);
      return exec;
    }
    const head = marker ? 1 : 0;
    const all: QueuedCommand[] = marker ? [{ args: this.#markerSet(marker) }, ...commands] : [...commands];
    for (const args of trailer ?? []) all.push({ args });
    const exec = client._executeMulti(all, selectedDB).then((raw) => {
      flight.trailerReplies = raw.slice(head + commands.length);
      return raw.slice(head, head + commands.length);
    });
    this.#queueAfter(flight, plan);
    return exec;
  }

  /** Queues the plan's `after` command right behind EXEC (node-redis writes both in one write). */
  #queueAfter(flight: Flight, plan: ExecPlan): void {
    // Only behind fn's writes: a lock release alone (or nothing of fn's) has no commit to wait for.
    if (!plan.after || !flight.wrote) return;
    flight.after = this.#base.client.sendCommand(plan.after);
    flight.after.catch(noop);
  }

  /** `SET marker value PX ttl`, in the connection's own database, under its key prefix. */
  #markerSet(marker: MarkerWrite): unknown[] {
    return ['SET', prefixedKey(this.#base.keyPrefix, marker.key), marker.value, 'PX', String(marker.ttlMs)];
  }
}

