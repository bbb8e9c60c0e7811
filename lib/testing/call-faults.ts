/**
 * One call's faults: what its plan picks for each attempt, struck at the engine's fault points
 * (see `attempt-faults.ts`) and inside `fn`, and logged once they really happened.
 */
import type { DedicatedConnection, ExecFlight, ExecPlan, Transaction } from '../connection/connection.js';
import { isWatchError } from '../connection/errors.js';
import { TransactUsageError } from '../errors/usage-errors.js';
import { sleep } from '../retry/sleep.js';
import type { AttemptFaults, BeforeExecPoint } from '../transaction/attempt-faults.js';
import type { TransactorInternals } from '../transactor-internals.js';
import { noop } from '../util/noop.js';
import type { InjectedFault } from './fault-log.js';
import type { AttemptFault, FaultCall, ParsedPlan } from './fault-plan.js';
import { touchKey, untilAborted, waitOutLease } from './server-faults.js';

/** What every call of one faulty transactor shares. */
export interface FaultContext {
  readonly plan: ParsedPlan;
  readonly internals: TransactorInternals;
  readonly log: InjectedFault[];
}

/** The faults of one `transact` or `withLock` call. */
export class CallFaults implements AttemptFaults {
  readonly #context: FaultContext;
  readonly #call: FaultCall;
  /** Whether the call can be stopped at all: a deadline fault waits for it. */
  readonly #stoppable: boolean;
  readonly #byAttempt = new Map<number, AttemptFault>();
  /** The call's signal (`t.signal`: the same for every attempt), once `fn` first ran. */
  #signal: AbortSignal | undefined;
  /** Once-per-call faults (a {@link FaultPlan}) that already struck. */
  readonly #struck = new Set<'lostReply' | 'lockLost'>();

  constructor(context: FaultContext, call: FaultCall, stoppable: boolean) {
    this.#context = context;
    this.#call = call;
    this.#stoppable = stoppable;
  }

  /** The faults of `attempt`, picked (and validated) once, at the attempt's start. */
  faultOf(attempt: number): AttemptFault {
    let fault = this.#byAttempt.get(attempt);
    if (!fault) {
      fault = this.#context.plan.pick(this.#call, attempt) ?? {};
      if (fault.deadline && !this.#stoppable) {
        throw new TransactUsageError(
          `the fault plan asks for a deadline at '${fault.deadline}', but call ${this.#call.number} has no deadline ` +
            'and no signal: pass options.retry.deadlineMs or options.signal',
        );
      }
      this.#byAttempt.set(attempt, fault);
    }
    return fault;
  }

  /** Whether a once-per-call fault may still strike. */
  #mayStrike(kind: 'lostReply' | 'lockLost'): boolean {
    return !this.#context.plan.oncePerCall || !this.#struck.has(kind);
  }

  /** Records a fault that happened. */
  logged(attempt: number, entry: DistributiveOmit<InjectedFault, 'call' | 'attempt' | 'keys'>): void {
    this.#context.log.push({ call: this.#call.number, attempt, keys: this.#call.keys, ...entry });
  }

  /** Before the app's `fn` runs in `attempt`: the read-phase faults. */
  async beforeFn(attempt: number, signal: AbortSignal): Promise<void> {
    this.#signal = signal;
    const fault = this.faultOf(attempt);
    if (fault.delayMs !== undefined && (fault.at ?? 'read') === 'read') await this.delayBeforeFn(attempt, fault.delayMs, signal);
    if (fault.deadline === 'read') {
      await untilAborted(signal);
      this.logged(attempt, { kind: 'deadline', phase: 'read' });
      throw signal.reason;
    }
  }

  /** Holds `attempt` up for `ms` before `fn`, and logs it. */
  async delayBeforeFn(attempt: number, ms: number, signal: AbortSignal): Promise<void> {
    await sleep(ms, signal);
    this.logged(attempt, { kind: 'delay', phase: 'read', ms });
  }

  async beforeExec(point: BeforeExecPoint): Promise<void> {
    const { attempt } = point;
    const fault = this.faultOf(attempt);
    if (fault.delayMs !== undefined && fault.at === 'exec') {
      await sleep(fault.delayMs, this.#signal);
      this.logged(attempt, { kind: 'delay', phase: 'exec', ms: fault.delayMs });
    }
    // Logged once EXEC goes out (see `transaction`): an attempt that queued nothing sends none,
    // and a conflict has nothing to abort.
    if (fault.conflict) await touchKey(await this.#context.internals.commands(), point.serverKeys[0]!);
    // Only an attempt under the lock has a lease to lose.
    if (fault.lockLost && point.serverLockKeys.length > 0 && this.#mayStrike('lockLost')) {
      this.#struck.add('lockLost');
      await waitOutLease(await this.#context.internals.commands(), point.serverLockKeys, this.#signal);
      this.logged(attempt, { kind: 'lock-lost' });
    }
  }

  transaction(attempt: number, transaction: Transaction, connection: DedicatedConnection): Transaction {
    const fault = this.faultOf(attempt);
    const lostReply = fault.lostReply;
    const deadline = fault.deadline === 'exec';
    if (!lostReply && !deadline && !fault.conflict) return transaction;
    return {
      builder: transaction.builder,
      seal: () => transaction.seal(),
      exec: (plan: ExecPlan): ExecFlight => {
        const alive = connection.alive;
        const flight = transaction.exec(plan);
        // A conflict is one only if it aborted an EXEC (an attempt that queued nothing may send none).
        if (fault.conflict) {
          void flight.reply.then(noop, (err: unknown) => {
            if (isWatchError(err)) this.logged(attempt, { kind: 'conflict', key: this.#call.keys[0]! });
          });
        }
        // Nothing of fn's went out, or nothing could: there is no EXEC of its writes to lose or wait on.
        if (!flight.wrote || !alive) return flight;
        if (lostReply && this.#mayStrike('lostReply')) return this.#loseReply(attempt, flight, connection, lostReply === 'committed');
        if (deadline) return this.#stopAtExec(attempt, flight);
        return flight;
      },
    };
  }

  /**
   * Not committed: the connection is dropped before its queued EXEC is written (node-redis writes
   * on the next turn of the event loop), so the server never sees it, and EXEC fails as the client
   * fails a command whose connection was dropped. Committed: the server runs EXEC and answers; the
   * answer is dropped with the connection, and EXEC fails with a lost connection.
   */
  #loseReply(attempt: number, flight: ExecFlight, connection: DedicatedConnection, committed: boolean): ExecFlight {
    if (!committed) {
      this.#struck.add('lostReply');
      connection.destroy();
      this.logged(attempt, { kind: 'lost-reply', committed: false });
      return flight;
    }
    let lost = false;
    // An EXEC that aborted or was refused is passed on as it is: there was no commit to lose.
    const reply = flight.reply.then(() => {
      this.#struck.add('lostReply');
      connection.destroy();
      lost = true;
      this.logged(attempt, { kind: 'lost-reply', committed: true });
      // Not a TransactError, nor a reply of the server's: to the engine, a connection that dropped.
      throw new Error("the connection dropped while EXEC's reply was on its way (injected: lostReply 'committed')");
    });
    return replaceReply(flight, reply, () => lost);
  }

  /** EXEC runs on the server; its reply is held back until the call is stopped (its deadline passed). */
  #stopAtExec(attempt: number, flight: ExecFlight): ExecFlight {
    const signal = this.#signal!;
    const reply = flight.reply.then(
      async (replies) => {
        await untilAborted(signal);
        this.logged(attempt, { kind: 'deadline', phase: 'exec' });
        return replies;
      },
      async (err: unknown) => {
        await untilAborted(signal);
        this.logged(attempt, { kind: 'deadline', phase: 'exec' });
        throw err;
      },
    );
    // The engine stops listening when the call is stopped, before this settles.
    reply.catch(noop);
    return replaceReply(flight, reply, () => signal.aborted);
  }
}

/** `flight` with the kit's `reply` instead of its own; once `replyGone`, the trailer's replies are gone too. */
function replaceReply(flight: ExecFlight, reply: Promise<unknown[]>, replyGone: () => boolean): ExecFlight {
  return {
    wrote: flight.wrote,
    marked: flight.marked,
    reply,
    after: flight.after,
    get trailerReplies() {
      return replyGone() ? undefined : flight.trailerReplies;
    },
  };
}

/** `Omit` over each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
