/**
 * Which errors retry, which end the call, which leave its outcome unknown, and what becomes of the
 * attempt's connection: one pure function of the error and the phase of the attempt it ended, so
 * every path of the engine decides alike (`spec/transaction/classify.spec.ts` holds the table).
 */
import { isClientClosedError, isErrorReply, isMultiErrorReply, isPermanentReply, isReadOnlyReply, isTransientReply, isWatchError } from '../connection/errors.js';
import { isTransactError } from '../errors/base.js';
import type { RetryReason } from '../observability/events.js';
import { STOPPED } from '../util/stopped.js';

/** Where in an attempt the error came up. */
export type Phase =
  /** Waiting for the turn, the lock or a connection: nothing was sent on the attempt's connection. */
  | 'turn'
  /** WATCH, reads and `fn` (and the fence's check): nothing was sent past WATCH and reads. */
  | 'run'
  /** A WATCH of the attempt failed (awaited after `fn`): nothing was sent past it. */
  | 'watch'
  /** EXEC was sent, and its reply (or the call's patience) failed. */
  | 'exec';

/** What the call does next. */
export type Next =
  /** Another attempt, under the retry policy. */
  | { readonly do: 'retry'; readonly reason: RetryReason }
  /** The call was stopped (aborted, or its deadline passed): its stop error. Nothing was written. */
  | { readonly do: 'stop' }
  /** The error as it is: `fn`'s own, or already one of ours. */
  | { readonly do: 'rethrow' }
  /** Redis refused a command: `TransactCommandError`, with what was applied. */
  | { readonly do: 'refused'; readonly applied: 'none' | 'partial' }
  /** EXEC was sent and its reply lost: `TransactOutcomeUnknownError` (or a settlement, exactly-once). */
  | { readonly do: 'unknown' };

/** The classifier's answer. */
export interface Verdict {
  readonly next: Next;
  /** What becomes of the attempt's connection. */
  readonly connection: 'keep' | 'return' | 'destroy';
  /** Whether EXEC ran (`'no'` before it was sent). */
  readonly ran: 'yes' | 'no' | 'unknown';
  /** The connection still watches keys that no EXEC will follow: drop them with the next WATCH. */
  readonly abandonWatch: boolean;
}

/** What the attempt knows besides the error. */
export interface Facts {
  /** The attempt's connection is still up. */
  readonly alive: boolean;
  /** The route says the error is a cluster redirection for the call's slot (nothing ran: retry there). */
  readonly redirected: boolean;
  /** The call may safely run twice: a lost EXEC reply is retried. */
  readonly idempotent: boolean;
}

const verdict = (next: Next, connection: Verdict['connection'], ran: Verdict['ran'], abandonWatch: boolean): Verdict =>
  Object.freeze({ next, connection, ran, abandonWatch });

const retry = (reason: RetryReason): Next => ({ do: 'retry', reason });

/** Decides what an error that ended an attempt in `phase` means (see {@link Verdict}). */
export function classify(err: unknown, phase: Phase, facts: Facts): Verdict {
  switch (phase) {
    case 'turn':
      return beforeTheConnection(err, facts);
    case 'run':
    case 'watch':
      return beforeExec(err, phase, facts);
    case 'exec':
      return atExec(err, facts);
  }
}

function beforeTheConnection(err: unknown, { redirected }: Facts): Verdict {
  if (err === STOPPED) return verdict({ do: 'stop' }, 'keep', 'no', false);
  if (isTransactError(err)) return verdict({ do: 'rethrow' }, 'keep', 'no', false);
  // A refusal (WRONGPASS when connecting...) will not change by trying again. Nothing was sent.
  if (isPermanentReply(err) && !redirected) return verdict({ do: 'refused', applied: 'none' }, 'keep', 'no', false);
  return verdict(retry('connection'), 'keep', 'no', false);
}

function beforeExec(err: unknown, phase: 'run' | 'watch', { alive, redirected }: Facts): Verdict {
  // fn may still be running commands on the connection: it is not handed to anyone else.
  if (err === STOPPED) return verdict({ do: 'stop' }, 'destroy', 'no', false);
  if (!alive) return verdict(retry('connection'), 'destroy', 'no', false);
  // A read or WATCH answered MOVED/ASK/TRYAGAIN/CLUSTERDOWN (fn may have rethrown it): retry
  // where the slot lives now.
  if (redirected) return verdict(retry('redirect'), 'return', 'no', true);
  // A demoted primary (a failover): the next attempt opens a connection to the primary now.
  if (isReadOnlyReply(err)) return verdict(retry('connection'), 'destroy', 'no', false);
  if (isTransientReply(err)) return verdict(retry('connection'), 'keep', 'no', true);
  // fn's own error (or a lost lock). A WATCH that failed must never be followed by EXEC: it would
  // commit unguarded; Redis refused it, nothing ran.
  if (phase === 'run' || isTransactError(err)) return verdict({ do: 'rethrow' }, 'keep', 'no', true);
  return verdict({ do: 'refused', applied: 'none' }, 'keep', 'no', true);
}

function atExec(err: unknown, { redirected, idempotent }: Facts): Verdict {
  // Refused before anything was sent (a command with no place in MULTI).
  if (isTransactError(err)) return verdict({ do: 'rethrow' }, 'keep', 'no', true);
  if (isWatchError(err)) return verdict(retry('conflict'), 'keep', 'no', false);
  // Refused before anything was queued on the socket.
  if (isClientClosedError(err)) return verdict(retry('connection'), 'destroy', 'no', false);
  // EXEC ran; some commands failed at run time, the others were applied (no rollback).
  if (isMultiErrorReply(err)) return verdict({ do: 'refused', applied: 'partial' }, 'keep', 'yes', false);
  // A queue-time error reply (EXECABORT): Redis discarded the whole transaction. On a cluster,
  // MOVED/ASK/TRYAGAIN/CLUSTERDOWN are such replies, and worth another try on the right node.
  if (redirected) return verdict(retry('redirect'), 'return', 'no', false);
  // A write queued on a demoted primary (a failover) is refused at queue time: EXEC ran nothing.
  if (isReadOnlyReply(err)) return verdict(retry('connection'), 'destroy', 'no', false);
  if (isTransientReply(err)) return verdict(retry('connection'), 'keep', 'no', false);
  if (isErrorReply(err)) return verdict({ do: 'refused', applied: 'none' }, 'keep', 'no', false);
  // The reply was lost (the connection dropped, or the call was stopped while it was on its way).
  return verdict(idempotent && err !== STOPPED ? retry('unknown') : { do: 'unknown' }, 'destroy', 'unknown', false);
}
