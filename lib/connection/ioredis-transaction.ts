/**
 * One attempt's MULTI on an ioredis dedicated connection. `fn` queues on ioredis's own MULTI
 * pipeline (`t.write`: typed commands, scripts, `call`, the key prefix applied by ioredis), which
 * is never exec'd itself: at EXEC the connection writes its MULTI, the commit marker's SET, what
 * `fn` queued, the trailer and EXEC, one command after another into its held socket (one write),
 * and turns EXEC's replies into what each command returns, as ioredis's pipeline does. ioredis's
 * answers (`null` for an aborted EXEC, rejected commands) become the driver's errors
 * (`ioredis-errors.ts`).
 */
import { noop } from '../util/noop.js';
import type { ExecFlight, ExecPlan, MarkerWrite, Transaction } from './connection.js';
import { Flight } from './exec-flight.js';
import { rawCommand } from './ioredis-command.js';
import { IoredisExecAbortedError, IoredisFailedCommandsError, IoredisNotSentError } from './ioredis-errors.js';
import type { IoredisClient, IoredisCommand, IoredisCommandClass, IoredisPipeline } from './ioredis-types.js';
import { REFUSED_IN_MULTI, refuse, refuseLateWrite, refusedInMulti } from './multi-refusals.js';

/** What one connection's transactions share (made once per connection, not per attempt). */
export interface IoredisTransactionBase {
  /** ioredis's `Command`, from the app's own copy of ioredis. */
  readonly Command: IoredisCommandClass;
  /** A fresh builder for `fn` (see {@link multiBuilders}). */
  readonly builder: () => IoredisPipeline;
  /** Writes one command, made by ioredis or {@link rawCommand}, on the connection: its `promise` answers. */
  readonly write: (command: IoredisCommand) => void;
  /** Sends a raw command (keys as the server names them). */
  readonly send: (args: readonly (string | Buffer)[]) => Promise<unknown>;
  /** The socket is up: commands written now go out. */
  readonly ready: () => boolean;
  /** Holds the connection's writes until the end of the tick: what is sent meanwhile goes out in one write. */
  readonly gatherWrites: () => void;
  /** `key` under the client's key prefix. */
  readonly prefixed: (key: string) => string | Buffer;
  /** No EXEC will follow the connection's WATCH: drop it with the next one. */
  readonly nothingSent: () => void;
}

/**
 * Pipeline methods `fn` must not call on `t.write`: the engine sends EXEC itself, and a SELECT
 * inside the transaction would move the rest of it (and the connection) to another database.
 */
const GUARDED_WRITE_COMMANDS = ['exec', 'multi', 'discard', 'select', 'swapdb', 'watch', 'unwatch'];
const WRITE_REFUSALS = [...GUARDED_WRITE_COMMANDS, ...GUARDED_WRITE_COMMANDS.map((c) => `${c}Buffer`)].map(
  (method) => [method, refuse(`t.write.${method}()`)] as const,
);

/**
 * Makes `fn`'s builders for `client`: objects of ioredis's `Pipeline` (its typed commands, `call`,
 * the client's scripts and key prefix), made for one MULTI the driver writes itself. ioredis's
 * `Pipeline` constructor copies the client's scripts onto every instance, defines a getter and
 * makes a promise, and its `sendCommand` chains two more promises on every command to fill the
 * pipeline's own result: none of it is used here (EXEC's reply is read by the driver), and it was
 * about a tenth of the client's CPU per transaction. So the builders share one prototype per
 * connection holding what the constructor would copy, the refusals and a `sendCommand` that only
 * queues; each builder is made without the constructor.
 */
export function multiBuilders(client: IoredisClient): () => IoredisPipeline {
  const Pipeline = client.pipeline().constructor as { prototype: object };
  // What ioredis's pipelines read of themselves on the way to `sendCommand` (the client, its
  // options, that they are one), alike for every builder of the connection.
  const shared = Object.assign(Object.create(Pipeline.prototype) as object, {
    redis: client,
    isPipeline: true,
    options: client.options,
    sendCommand: queueInMulti,
  }) as Record<string | symbol, unknown>;
  // What ioredis's constructor copies from the client: its scripts (the `scripts` option) and
  // added commands, as methods of the builder.
  for (const name of [...Object.keys(client.scriptsSet as object), ...(client.addedBuiltinSet as Set<string>)]) {
    shared[name] = client[name];
    shared[`${name}Buffer`] = client[`${name}Buffer`];
  }
  for (const [method, refusal] of WRITE_REFUSALS) shared[method] = refusal;
  Object.defineProperty(shared, 'length', {
    get(this: IoredisPipeline) {
      return this._queue.length;
    },
  });
  return () => {
    const builder = Object.create(shared) as IoredisPipeline;
    builder._queue = [];
    builder[SEALED] = false;
    return builder;
  };
}

/** Set on a builder once its attempt has ended: every way of queueing on it (commands, scripts, `call`, `addBatch`) ends in its `sendCommand`, which then refuses. */
const SEALED = Symbol('redis-transact.sealed');

/**
 * Queues `command` on a builder (`this`), as ioredis's pipeline does, without the promises it
 * chains on each command to fill its own result. A command's rejection (the socket closed before
 * its reply) is handled here; the driver reports the attempt's outcome from EXEC's.
 */
function queueInMulti(this: IoredisPipeline, command: IoredisCommand): IoredisPipeline {
  if (this[SEALED] === true) refuseLateWrite();
  command.pipelineIndex = this._queue.length;
  command.promise.catch(noop);
  this._queue.push(command);
  return this;
}

/** See {@link Transaction}. */
export class IoredisTransaction implements Transaction {
  readonly builder: IoredisPipeline;
  readonly #base: IoredisTransactionBase;
  #sealed = false;

  constructor(base: IoredisTransactionBase) {
    this.#base = base;
    this.builder = base.builder();
  }

  exec(plan: ExecPlan): ExecFlight {
    const queued = this.builder._queue;
    this.seal();
    const refused = queued.find((command) => REFUSED_IN_MULTI.has(command.name.toUpperCase()));
    if (refused) {
      this.#base.nothingSent();
      return { wrote: false, marked: false, reply: Promise.reject(refusedInMulti(refused.name)), trailerReplies: undefined };
    }
    const trailer = plan.trailer ?? NO_TRAILER;
    const wrote = queued.length > 0;
    // The marker only when fn queued something: with nothing to apply there is nothing to apply once.
    const marker = wrote ? plan.marker : undefined;
    const flight = new Flight(wrote, marker !== undefined);
    if (!wrote && trailer.length === 0) {
      // An empty MULTI/EXEC is a wasted round trip: skipped, and the WATCH dropped with the next one.
      this.#base.nothingSent();
      flight.reply = Promise.resolve([]);
      return flight;
    }
    if (!this.#base.ready()) {
      flight.reply = Promise.reject(new IoredisNotSentError());
      return flight;
    }
    const { Command, write } = this.#base;
    const markerSet = marker && this.#markerSet(marker);
    const trailing = trailer.map((args) => rawCommand(Command, args));
    const multi = rawCommand(Command, ['multi']);
    const exec = rawCommand(Command, ['exec'], null);
    // The builder handles the rejections of fn's commands; the driver, of its own.
    const sent = [multi, ...(markerSet ? [markerSet] : []), ...queued, ...trailing, exec];
    // One write for all of it, `after`, and what the connection sends next in this tick (the
    // WATCH and reads of the next transaction on the same keys, chained behind this one).
    this.#base.gatherWrites();
    for (let i = 0; i < sent.length; i++) {
      // Numbered as an ioredis pipeline numbers its commands: when the socket closes after a part
      // of them was answered, ioredis fails the rest as it fails a pipeline's.
      sent[i]!.pipelineIndex = i;
      write(sent[i]!);
    }
    multi.promise.catch(noop);
    markerSet?.promise.catch(noop);
    for (const command of trailing) command.promise.catch(noop);
    flight.reply = exec.promise.then(
      (reply) => repliesOf(transformed(sent, reply), marker ? 1 : 0, queued.length, flight),
      (err: Error) => execFailed(sent, err),
    );
    if (plan.after && wrote) {
      flight.after = this.#base.send(plan.after);
      flight.after.catch(noop);
    }
    return flight;
  }

  seal(): void {
    if (this.#sealed) return;
    this.#sealed = true;
    this.builder[SEALED] = true;
  }


  /** `SET marker value PX ttl`, in the connection's own database, under its key prefix. */
  #markerSet(marker: MarkerWrite): IoredisCommand {
    return rawCommand(this.#base.Command, ['set', this.#base.prefixed(marker.key), marker.value, 'PX', String(marker.ttlMs)]);
  }
}

/** A plan with no trailer: one shared empty list rather than one per attempt. */
const NO_TRAILER: readonly (readonly string[])[] = Object.freeze([]);

/**
 * EXEC's replies, each as its command returns it (ioredis's pipeline does the same for its own
 * EXEC): the commands sent right before EXEC answer in order; error replies stay as they are.
 */
function transformed(sent: readonly IoredisCommand[], reply: unknown): unknown {
  if (!Array.isArray(reply)) return reply;
  const execAt = sent.length - 1;
  for (let i = 0; i < reply.length; i++) {
    if (reply[i] instanceof Error) continue;
    try {
      reply[i] = sent[execAt - (reply.length - i)]!.transformReply(reply[i]);
    } catch (err) {
      reply[i] = err;
    }
  }
  return reply;
}

/** `fn`'s replies out of EXEC's (marker?, fn's, trailer), or the error node-redis would have raised in its place. */
function repliesOf(execReply: unknown, head: number, count: number, flight: Flight): unknown[] {
  if (execReply === null) throw new IoredisExecAbortedError();
  const all = execReply as unknown[];
  // Only fn's replies (no marker, no trailer): no copies.
  const replies = head === 0 && all.length === count ? all : all.slice(head, head + count);
  if (replies !== all) flight.trailerReplies = all.slice(head + count);
  const errorIndexes: number[] = [];
  for (let i = 0; i < replies.length; i++) if (replies[i] instanceof Error) errorIndexes.push(i);
  if (errorIndexes.length > 0) throw new IoredisFailedCommandsError(replies, errorIndexes);
  return replies;
}

/**
 * EXEC failed. EXECABORT: Redis refused a command at queue time and discarded the transaction;
 * that refusal (the first, in the order sent) is the error (READONLY, OOM, MOVED...), as node-redis
 * reports it. Otherwise the reply was lost.
 */
async function execFailed(sent: readonly IoredisCommand[], execError: Error): Promise<never> {
  if (execError.message.startsWith('EXECABORT')) {
    for (const outcome of await Promise.allSettled(sent.map((command) => command.promise))) {
      if (outcome.status === 'rejected') throw outcome.reason;
    }
  }
  throw execError;
}
