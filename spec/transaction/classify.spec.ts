/** The classifier's table: every (error, phase) the engine meets, and what it decides. Pure: no Redis. */
import { ClientClosedError, ErrorReply, MultiErrorReply, WatchError } from 'redis';
import { LockLostError, TransactorClosedError, TransactUsageError } from '../../lib';
import type { RetryReason } from '../../lib';
import { classify, type Facts, type Next, type Phase, type Verdict } from '../../lib/transaction/classify';
import { STOPPED } from '../../lib/util/stopped';

const UP: Facts = { alive: true, redirected: false, idempotent: false };
const DOWN: Facts = { ...UP, alive: false };
const REDIRECTED: Facts = { ...UP, redirected: true };
const IDEMPOTENT: Facts = { ...UP, idempotent: true };

const lost = new Error('Socket closed unexpectedly');
const fnError = new Error('fn failed');
const partial = new MultiErrorReply([new ErrorReply('WRONGTYPE x'), 'OK'] as never, [0]);

type Row = [string, unknown, Phase, Facts, Pick<Verdict, 'next' | 'connection' | 'ran' | 'abandonWatch'>];

const retry = (reason: RetryReason): Next => ({ do: 'retry', reason });

const TABLE: Row[] = [
  // Waiting for the turn, the lock or a connection: nothing sent on the attempt's connection.
  ['stopped while waiting', STOPPED, 'turn', UP, { next: { do: 'stop' }, connection: 'keep', ran: 'no', abandonWatch: false }],
  ['a lock error', new LockLostError(['k'], 'x'), 'turn', UP, { next: { do: 'rethrow' }, connection: 'keep', ran: 'no', abandonWatch: false }],
  ['closed', new TransactorClosedError(), 'turn', UP, { next: { do: 'rethrow' }, connection: 'keep', ran: 'no', abandonWatch: false }],
  ['a refusal while connecting', new ErrorReply('WRONGPASS invalid username-password pair'), 'turn', UP, { next: { do: 'refused', applied: 'none' }, connection: 'keep', ran: 'no', abandonWatch: false }],
  ['LOADING', new ErrorReply('LOADING wait'), 'turn', UP, { next: retry('connection'), connection: 'keep', ran: 'no', abandonWatch: false }],
  ['a redirection', new ErrorReply('MOVED 1 h:1'), 'turn', REDIRECTED, { next: retry('connection'), connection: 'keep', ran: 'no', abandonWatch: false }],
  ['no connection', lost, 'turn', UP, { next: retry('connection'), connection: 'keep', ran: 'no', abandonWatch: false }],
  // WATCH, reads and fn: nothing sent past them.
  ['stopped while fn runs', STOPPED, 'run', UP, { next: { do: 'stop' }, connection: 'destroy', ran: 'no', abandonWatch: false }],
  ['the connection died under fn', fnError, 'run', DOWN, { next: retry('connection'), connection: 'destroy', ran: 'no', abandonWatch: false }],
  ['a read redirected', new ErrorReply('MOVED 1 h:1'), 'run', REDIRECTED, { next: retry('redirect'), connection: 'return', ran: 'no', abandonWatch: true }],
  ['a read met LOADING', new ErrorReply('LOADING wait'), 'run', UP, { next: retry('connection'), connection: 'keep', ran: 'no', abandonWatch: true }],
  ['fn met a demoted primary', new ErrorReply("READONLY You can't write against a read only replica."), 'run', UP, { next: retry('connection'), connection: 'destroy', ran: 'no', abandonWatch: false }],
  ['fn threw', fnError, 'run', UP, { next: { do: 'rethrow' }, connection: 'keep', ran: 'no', abandonWatch: true }],
  ['the fence found the lock lost', new LockLostError(['k'], 'x'), 'run', UP, { next: { do: 'rethrow' }, connection: 'keep', ran: 'no', abandonWatch: true }],
  // A WATCH failed: it must never be followed by EXEC.
  ['WATCH refused', new ErrorReply('NOPERM no'), 'watch', UP, { next: { do: 'refused', applied: 'none' }, connection: 'keep', ran: 'no', abandonWatch: true }],
  ['a bad t.watch() argument', new TransactUsageError('x'), 'watch', UP, { next: { do: 'rethrow' }, connection: 'keep', ran: 'no', abandonWatch: true }],
  ['WATCH lost with the connection', lost, 'watch', DOWN, { next: retry('connection'), connection: 'destroy', ran: 'no', abandonWatch: false }],
  ['stopped before EXEC', STOPPED, 'watch', UP, { next: { do: 'stop' }, connection: 'destroy', ran: 'no', abandonWatch: false }],
  // EXEC sent.
  ['a watched key changed', new WatchError(), 'exec', UP, { next: retry('conflict'), connection: 'keep', ran: 'no', abandonWatch: false }],
  ['refused in MULTI, nothing sent', new TransactUsageError('x'), 'exec', UP, { next: { do: 'rethrow' }, connection: 'keep', ran: 'no', abandonWatch: true }],
  ['closed before it was queued', new ClientClosedError(), 'exec', UP, { next: retry('connection'), connection: 'destroy', ran: 'no', abandonWatch: false }],
  ['some commands failed at run time', partial, 'exec', UP, { next: { do: 'refused', applied: 'partial' }, connection: 'keep', ran: 'yes', abandonWatch: false }],
  ['EXECABORT after a MOVED', new ErrorReply('MOVED 1 h:1'), 'exec', REDIRECTED, { next: retry('redirect'), connection: 'return', ran: 'no', abandonWatch: false }],
  ['EXEC met LOADING', new ErrorReply('LOADING wait'), 'exec', UP, { next: retry('connection'), connection: 'keep', ran: 'no', abandonWatch: false }],
  ['EXEC on a primary cut off from its replicas (min-replicas-to-write)', new ErrorReply('NOREPLICAS Not enough good replicas to write.'), 'exec', UP, { next: retry('connection'), connection: 'keep', ran: 'no', abandonWatch: false }],
  ['EXEC on a demoted primary', new ErrorReply("READONLY You can't write against a read only replica."), 'exec', UP, { next: retry('connection'), connection: 'destroy', ran: 'no', abandonWatch: false }],
  ['a lock script on a demoted primary, waiting for the turn', new ErrorReply("READONLY You can't write against a read only replica."), 'turn', UP, { next: retry('connection'), connection: 'keep', ran: 'no', abandonWatch: false }],
  ['EXECABORT', new ErrorReply('EXECABORT Transaction discarded'), 'exec', UP, { next: { do: 'refused', applied: 'none' }, connection: 'keep', ran: 'no', abandonWatch: false }],
  ['the reply was lost', lost, 'exec', UP, { next: { do: 'unknown' }, connection: 'destroy', ran: 'unknown', abandonWatch: false }],
  ['the reply was lost, idempotent', lost, 'exec', IDEMPOTENT, { next: retry('unknown'), connection: 'destroy', ran: 'unknown', abandonWatch: false }],
  ['stopped with EXEC on its way', STOPPED, 'exec', UP, { next: { do: 'unknown' }, connection: 'destroy', ran: 'unknown', abandonWatch: false }],
  ['stopped with EXEC on its way, idempotent', STOPPED, 'exec', IDEMPOTENT, { next: { do: 'unknown' }, connection: 'destroy', ran: 'unknown', abandonWatch: false }],
];

describe('classify(error, phase)', () => {
  it.each(TABLE)('%s', (_name, err, phase, facts, expected) => {
    expect(classify(err, phase, facts)).toEqual(expected);
  });

  it('returns frozen verdicts', () => {
    expect(Object.isFrozen(classify(lost, 'exec', UP))).toBe(true);
  });
});
