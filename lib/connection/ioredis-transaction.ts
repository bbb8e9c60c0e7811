/**
 * One attempt's MULTI on an ioredis dedicated connection. `fn` queues on ioredis's own MULTI
 * pipeline (`t.write`: typed commands, scripts, `call`, the key prefix applied by ioredis), which
 * is never sent itself: at EXEC its commands are moved into a plain pipeline between MULTI (and
 * the commit marker's SET) and the trailer and EXEC, so everything goes out in one write and
 * ioredis still turns each reply into what the command returns. ioredis's answers (`null` for an
 * aborted EXEC, `[err, reply]` pairs) become the driver's errors (`ioredis-errors.ts`).
 */
import { noop } from '../util/noop.js';
import type { ExecFlight, ExecPlan, MarkerWrite, Transaction } from './connection.js';
import { Flight } from './exec-flight.js';
import { rawCommand } from './ioredis-command.js';
import { IoredisExecAbortedError, IoredisFailedCommandsError, IoredisNotSentError } from './ioredis-errors.js';
import type { IoredisCommand, IoredisCommandClass, IoredisPipeline } from './ioredis-types.js';
import { REFUSED_IN_MULTI, refuse, refuseLateWrite, refusedInMulti } from './multi-refusals.js';

/** What one connection's transactions share (made once per connection, not per attempt). */
export interface IoredisTransactionBase {
  /** ioredis's `Command`, from the app's own copy of ioredis. */
  readonly Command: IoredisCommandClass;
  /** The connection's own `multi()` and `pipeline()` (the reader's `multi` is refused to `fn`). */
  readonly multi: () => IoredisPipeline;
  readonly pipeline: () => IoredisPipeline;
  /** Sends a raw command (keys as the server names them). */
  readonly send: (args: readonly (string | Buffer)[]) => Promise<unknown>;
  /** The socket is up: a pipeline written now goes out whole. */
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


/** See {@link Transaction}. */
export class IoredisTransaction implements Transaction {
  readonly builder: IoredisPipeline;
  readonly #base: IoredisTransactionBase;
  #sealed = false;

  constructor(base: IoredisTransactionBase) {
    this.#base = base;
    const builder = base.multi();
    for (const [method, refusal] of WRITE_REFUSALS) builder[method] = refusal;
    this.builder = builder;
  }

  exec(plan: ExecPlan): ExecFlight {
    // The builder's own MULTI comes first in its queue; what follows is fn's.
    const queued = this.builder._queue.slice(1);
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
    const pipeline = this.#base.pipeline();
    const { Command } = this.#base;
    // One write for the pipeline, `after`, and what the connection sends next in this tick (the
    // WATCH and reads of the next transaction on the same keys, chained behind this one).
    this.#base.gatherWrites();
    pipeline.sendCommand(rawCommand(Command, ['multi'], null));
    if (marker) pipeline.sendCommand(this.#markerSet(marker));
    for (const command of queued) pipeline.sendCommand(command);
    for (const args of trailer) pipeline.sendCommand(rawCommand(Command, args));
    pipeline.sendCommand(rawCommand(Command, ['exec'], null));
    // ioredis writes the whole pipeline before exec() returns (here into the corked socket, whole
    // or not at all): `after` follows it on the wire.
    flight.reply = pipeline.exec().then((results) => repliesOf(results ?? [], marker ? 1 : 0, queued.length, flight));
    if (plan.after && wrote) {
      flight.after = this.#base.send(plan.after);
      flight.after.catch(noop);
    }
    return flight;
  }

  seal(): void {
    if (this.#sealed) return;
    this.#sealed = true;
    // Every way of queueing on an ioredis pipeline (commands, scripts, call, addBatch) ends here.
    this.builder.sendCommand = refuseLateWrite;
  }


  /** `SET marker value PX ttl`, in the connection's own database, under its key prefix. */
  #markerSet(marker: MarkerWrite): IoredisCommand {
    return rawCommand(this.#base.Command, ['set', this.#base.prefixed(marker.key), marker.value, 'PX', String(marker.ttlMs)]);
  }
}

/** A plan with no trailer: one shared empty list rather than one per attempt. */
const NO_TRAILER: readonly (readonly string[])[] = Object.freeze([]);

/**
 * `fn`'s replies out of the pipeline's `[err, reply]` pairs (MULTI, marker?, fn's, trailer, EXEC),
 * or the error node-redis would have raised in its place.
 */
function repliesOf(results: [Error | null, unknown][], head: number, count: number, flight: Flight): unknown[] {
  const [execError, execReply] = results[results.length - 1] ?? [new IoredisNotSentError(), undefined];
  if (execError) {
    // EXECABORT: Redis refused a command at queue time and discarded the transaction; that refusal
    // is the error (READONLY, OOM, MOVED...), as node-redis reports it. Otherwise the reply was lost.
    if (execError.message.startsWith('EXECABORT')) throw results.find(([error]) => error)?.[0] ?? execError;
    throw execError;
  }
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
