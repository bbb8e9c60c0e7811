import { InvalidOptionsError, TransactUsageError } from '../errors/usage-errors.js';
import type { Lock } from '../lock/lock-handle.js';
import type { TransactionFn } from '../transaction/attempt.js';
import type { TransactorInternals } from '../transactor-internals.js';
import { internalsOf } from '../transactor-internals.js';
import type { Transactor } from '../transactor.js';
import type { TransactOptions } from '../transactor-options.js';
import { noop } from '../util/noop.js';
import { CallFaults, type FaultContext } from './call-faults.js';
import type { InjectedFault } from './fault-log.js';
import { type AttemptFault, type FaultCall, type FaultPlan, type FaultPlanFn, parsePlan } from './fault-plan.js';
import { endLease } from './server-faults.js';

/** A transactor whose calls suffer planned faults, with the log of those that happened. */
export type FaultyTransactor<T extends Transactor> = T & {
  /** Every fault injected so far, in order: assert that the fault you planned really happened. */
  readonly faults: readonly InjectedFault[];
};

/**
 * Returns a transactor with the API and types of `tx` whose `transact` and `withLock` calls
 * suffer the faults `plan` names, for real, on `tx`'s own Redis: a genuine WATCH conflict (another
 * connection writes a watched key after `fn` ran), an EXEC reply lost with its connection after
 * the server ran it or before it got there, a lock whose lease runs out while `fn` runs, a delay,
 * a deadline that strikes at a chosen phase. The engine's own code handles each: retries,
 * `TransactOutcomeUnknownError`, exactly-once settlement, `LockLostError`.
 *
 * It shares everything else with `tx` (connections, lanes, locks, stats, hooks; `close()` closes
 * both). With an empty plan it runs every call exactly as `tx` does, with the same round trips.
 * `tx.lock`, `tx.settle` and the rest are `tx`'s own, without faults.
 *
 * @example
 * ```ts
 * import { injectFaults } from 'redis-transact/testing';
 *
 * const faulty = injectFaults(tx, { conflicts: 2 });
 * const { attempts } = await faulty.transact(['stock:42'], fn);
 * expect(attempts).toBe(3); // fn ran 3 times: is it safe to?
 * expect(faulty.faults.map((f) => f.kind)).toEqual(['conflict', 'conflict']);
 * ```
 * @throws {@link InvalidOptionsError} naming the field when `plan` is invalid, or when `tx` was not
 * made by `createTransactor` (of this copy of the package).
 */
export function injectFaults<T extends Transactor>(tx: T, plan: FaultPlan | FaultPlanFn): FaultyTransactor<T> {
  const internals = internalsOf(tx);
  if (!internals) {
    throw new InvalidOptionsError([{ path: 'tx', message: 'must be a transactor made by createTransactor (of this copy of redis-transact)' }]);
  }
  const parsed = parsePlan(plan);
  const context: FaultContext = { plan: parsed, internals, log: [] };
  let calls = 0;
  const callOf = (operation: FaultCall['operation'], keys: unknown): FaultCall => ({
    number: ++calls,
    operation,
    keys: Array.isArray(keys) ? [...(keys as string[])] : [],
  });

  const transact = ((keys: readonly string[], fn: TransactionFn<unknown>, options?: TransactOptions) => {
    // What the engine refuses, it refuses the same way without the kit; without faults, the call is tx's own.
    if (typeof fn !== 'function' || parsed.empty) return tx.transact(keys, fn, options);
    let faults: CallFaults;
    try {
      const call = callOf('transact', keys);
      const canStop = stoppable(tx, options);
      if (parsed.needsDeadline && !canStop) throw noDeadline(call);
      faults = new CallFaults(context, call, canStop);
      faults.faultOf(1); // a bad pick is refused before anything is sent
    } catch (err) {
      return Promise.reject(err);
    }
    return internals.transact(
      keys,
      async (t) => {
        await faults.beforeFn(t.attempt, t.signal);
        return fn(t);
      },
      options,
      faults,
    );
  }) as T['transact'];

  const withLock = (<R>(resources: readonly string[], fn: (lock: Lock) => R | Promise<R>, options?: Parameters<T['withLock']>[2]) => {
    if (typeof fn !== 'function' || parsed.empty) return tx.withLock(resources, fn, options);
    let faults: CallFaults;
    try {
      faults = new CallFaults(context, callOf('withLock', resources), true);
      // A plan object is for every call: what has no place in withLock is left out there. A plan
      // function picked these for this very call: refused, rather than silently not injected.
      if (!parsed.oncePerCall) refuseOutsideWithLock(faults.faultOf(1));
    } catch (err) {
      return Promise.reject(err);
    }
    return tx.withLock(
      resources,
      async (lock) => {
        const fault = faults.faultOf(1);
        if (fault.delayMs !== undefined && (fault.at ?? 'read') === 'read') await faults.delayBeforeFn(1, fault.delayMs, lock.signal);
        if (!fault.lockLost) return fn(lock);
        // fn starts with the lock held; its lease ends under it.
        const running = Promise.resolve().then(() => fn(lock));
        running.catch(noop);
        let ended: boolean;
        try {
          ended = await loseLease(internals, lock);
        } catch (err) {
          await running.catch(noop); // fn ends before withLock does, whatever the kit ran into
          throw err;
        }
        if (ended) faults.logged(1, { kind: 'lock-lost' });
        return running;
      },
      options,
    );
  }) as T['withLock'];

  return Object.freeze({
    ...tx,
    transact,
    withLock,
    faults: context.log,
  });
}

/**
 * `withLock` has no WATCH, EXEC or deadline of its own: a plan that asks for those there would
 * inject nothing and let the test believe otherwise.
 */
function refuseOutsideWithLock(fault: AttemptFault): void {
  const refused = [
    fault.conflict && 'conflict',
    fault.lostReply && 'lostReply',
    fault.deadline && 'deadline',
    fault.at === 'exec' && "at: 'exec'",
  ].filter((name): name is string => typeof name === 'string');
  if (refused.length === 0) return;
  throw new TransactUsageError(
    `withLock takes only the faults lockLost and delayMs (at 'read'); the fault plan asks for ${refused.join(', ')}`,
  );
}

/**
 * The lease of `lock` ends on the server, and the lock is renewed at once, as its auto-renewal
 * would: the renewal finds it gone, `lock.signal` aborts, and `withLock` ends in `LockLostError`.
 */
async function loseLease(internals: TransactorInternals, lock: Lock): Promise<boolean> {
  const ended = await endLease(await internals.commands(), internals.serverLockKeys(lock.resources), lock.token);
  await lock.extend().catch(noop);
  return ended;
}

function noDeadline(call: FaultCall): TransactUsageError {
  return new TransactUsageError(
    `the fault plan asks for a deadline, but call ${call.number} has no deadline and no signal: ` +
      'pass options.retry.deadlineMs or options.signal',
  );
}

/** Whether a call with `options` on `tx` can be stopped (a deadline fault waits for that). */
function stoppable(tx: Transactor, options: TransactOptions | undefined): boolean {
  const deadline = options?.retry?.deadlineMs !== undefined ? options.retry.deadlineMs : tx.retryPolicy.deadlineMs;
  return options?.signal !== undefined || (deadline !== undefined && deadline !== null);
}
