/**
 * What a test asks `injectFaults` for: a plan for every call (`conflicts: 2`), or a function that
 * picks each attempt's faults. Validated with zod before any call is made.
 */
import { z } from 'zod';
import { parseInput } from '../validation/parse-input.js';
import { durationMs } from '../validation/duration.js';

/** Where in an attempt a delay or a deadline strikes: while `fn` reads, or at EXEC. */
export type FaultPhase = 'read' | 'exec';

/** The faults of one attempt (what a {@link FaultPlanFn} returns). Every field is optional. */
export interface AttemptFault {
  /** A write by another connection to a watched key, after `fn` ran and before EXEC: EXEC aborts. */
  readonly conflict?: boolean;
  /**
   * EXEC's reply is lost with its connection: after the server ran it (`'committed'`) or before
   * it reached the server (`'not-committed'`). Applies to an attempt whose `fn` queued writes.
   */
  readonly lostReply?: 'committed' | 'not-committed';
  /**
   * The lock's lease runs out before the commit, as for a paused process. In lock mode (and an auto
   * call's attempts under the lock) the kit waits after `fn` until the lease has really run out on
   * the server, before EXEC: give such calls a short `lock.ttlMs`. In `withLock`, the lease is
   * ended on the server while `fn` runs and renewed at once, as the auto-renewal would: the renewal
   * finds it gone.
   */
  readonly lockLost?: boolean;
  /** Milliseconds the attempt is held up at {@link AttemptFault.at}. */
  readonly delayMs?: number;
  /** Where `delayMs` applies. @defaultValue 'read' */
  readonly at?: FaultPhase;
  /**
   * The call's deadline (or signal) ends it at this phase: the attempt waits there until the call
   * is stopped. At `'exec'`, EXEC reaches the server and runs, and the call is stopped while its
   * reply is on the way. The call needs a deadline (`retry.deadlineMs`) or a `signal`.
   */
  readonly deadline?: FaultPhase;
}

/**
 * The same faults for every call: its first `conflicts` attempts conflict; the attempt after them
 * suffers `delayMs` and `deadline`; `lostReply` and `lockLost` strike once per call, at the first
 * attempt after the conflicts where they can (one that queued writes; one under the lock).
 */
export interface FaultPlan extends Omit<AttemptFault, 'conflict'> {
  /** How many attempts of each call end in a genuine WATCH conflict. @defaultValue 0 */
  readonly conflicts?: number;
}

/** Which call an attempt belongs to, for a {@link FaultPlanFn}. */
export interface FaultCall {
  /** 1 for the first call made through the faulty transactor, then 2, 3... */
  readonly number: number;
  /** `'transact'` or `'withLock'`. */
  readonly operation: 'transact' | 'withLock';
  /** The call's keys (resources, for `withLock`). */
  readonly keys: readonly string[];
}

/** Picks the faults of each attempt; `undefined` for none. Called once per attempt, at its start. */
export type FaultPlanFn = (call: FaultCall, attempt: number) => AttemptFault | undefined;

const phaseSchema = z.enum(['read', 'exec'], { error: "must be 'read' or 'exec'" });
const faultFields = {
  lostReply: z.enum(['committed', 'not-committed'], { error: "must be 'committed' or 'not-committed'" }).optional(),
  lockLost: z.boolean({ error: 'must be a boolean' }).optional(),
  delayMs: durationMs({ min: 0, rule: 'must be a whole number of milliseconds, 0 or more' }).optional(),
  at: phaseSchema.optional(),
  deadline: phaseSchema.optional(),
};
const attemptFaultSchema = z.strictObject({ conflict: z.boolean({ error: 'must be a boolean' }).optional(), ...faultFields });
const planSchema = z.strictObject({
  conflicts: z
    .number({ error: 'must be a whole number from 0 to 1000' })
    .int({ error: 'must be a whole number from 0 to 1000' })
    .min(0, { error: 'must be a whole number from 0 to 1000' })
    .max(1000, { error: 'must be a whole number from 0 to 1000' })
    .optional(),
  ...faultFields,
});

/** A validated plan. */
export interface ParsedPlan {
  /** The faults of one attempt, validated (`InvalidOptionsError` naming the field). */
  readonly pick: FaultPlanFn;
  /** `lostReply` and `lockLost` strike at most once per call (a {@link FaultPlan}). */
  readonly oncePerCall: boolean;
  /** A {@link FaultPlan} that names no fault: calls go to the transactor untouched. */
  readonly empty: boolean;
  /** A {@link FaultPlan} with a `deadline`: every call needs one (checked before it starts). */
  readonly needsDeadline: boolean;
}

/** Validates `plan`; throws `InvalidOptionsError` naming the field and the reason. */
export function parsePlan(plan: unknown): ParsedPlan {
  if (typeof plan === 'function') {
    const chosen = plan as FaultPlanFn;
    const pick: FaultPlanFn = (call, attempt) => {
      const fault = chosen(call, attempt);
      return fault === undefined ? undefined : parseInput(attemptFaultSchema, fault, `plan(call ${call.number}, attempt ${attempt})`);
    };
    return { pick, oncePerCall: false, empty: false, needsDeadline: false };
  }
  const { conflicts = 0, ...rest } = parseInput(planSchema, plan, 'plan');
  // The once-per-call faults are kept on from the first attempt after the conflicts; the kit
  // strikes each only once per call.
  const pick: FaultPlanFn = (_call, attempt) => {
    if (attempt <= conflicts) return { conflict: true };
    if (attempt === conflicts + 1) return rest;
    const { lostReply, lockLost } = rest;
    return { ...(lostReply ? { lostReply } : {}), ...(lockLost ? { lockLost } : {}) };
  };
  const empty = conflicts === 0 && !rest.lostReply && !rest.lockLost && rest.delayMs === undefined && rest.deadline === undefined;
  return { pick, oncePerCall: true, empty, needsDeadline: rest.deadline !== undefined };
}
