/**
 * The engine's error predicates on ioredis's errors and the ioredis driver's own, and the
 * classifier's verdicts on them: the same as on node-redis's (`spec/transaction/classify.spec.ts`).
 * Pure: no Redis.
 */
import { ReplyError } from 'ioredis';
import { ErrorReply, WatchError } from 'redis';
import {
  failedCommandsOf,
  isClientClosedError,
  isErrorReply,
  isMultiErrorReply,
  isPermanentReply,
  isReadOnlyReply,
  isTransientReply,
  isWatchError,
} from '../../lib/connection/errors';
import { IoredisExecAbortedError, IoredisFailedCommandsError, IoredisNotSentError } from '../../lib/connection/ioredis-errors';
import { classify, type Facts } from '../../lib/transaction/classify';

const UP: Facts = { alive: true, redirected: false, idempotent: false };
const reply = (message: string): Error => new (ReplyError as new (message: string) => Error)(message);

describe('the error predicates, on ioredis', () => {
  it('reads ioredis ReplyErrors as error replies: transient, read-only or permanent by their code', () => {
    expect(isErrorReply(reply('WRONGTYPE x'))).toBe(true);
    expect(isPermanentReply(reply('NOPERM x'))).toBe(true);
    expect(isTransientReply(reply('LOADING x'))).toBe(true);
    expect(isReadOnlyReply(reply("READONLY You can't write against a read only replica."))).toBe(true);
    expect(isErrorReply(new Error('Connection is closed.'))).toBe(false);
  });

  it('reads the driver’s own errors: an aborted EXEC, failed commands, nothing sent', () => {
    const failed = new IoredisFailedCommandsError([reply('WRONGTYPE x'), 'OK'], [0]);
    expect(isWatchError(new IoredisExecAbortedError())).toBe(true);
    expect(isMultiErrorReply(failed)).toBe(true);
    expect(failedCommandsOf(failed)).toMatchObject({ errorIndexes: [0], replies: [expect.any(Error), 'OK'] });
    expect(isClientClosedError(new IoredisNotSentError())).toBe(true);
    expect(isClientClosedError(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe(true);
    // Also failed for commands already written when the socket closed: their outcome is unknown.
    expect(isClientClosedError(new Error('Connection is closed.'))).toBe(false);
  });

  it('still reads node-redis’s errors', () => {
    expect(isWatchError(new WatchError())).toBe(true);
    expect(isErrorReply(new ErrorReply('WRONGTYPE x'))).toBe(true);
  });
});

describe('the classifier, at EXEC, on ioredis', () => {
  it.each([
    ['an aborted EXEC', new IoredisExecAbortedError(), { next: { do: 'retry', reason: 'conflict' }, connection: 'keep', ran: 'no' }],
    ['failed commands', new IoredisFailedCommandsError([reply('WRONGTYPE x')], [0]), { next: { do: 'refused', applied: 'partial' }, ran: 'yes' }],
    ['a queue-time refusal (EXECABORT)', reply('ERR unknown command'), { next: { do: 'refused', applied: 'none' }, ran: 'no' }],
    ['a demoted primary', reply('READONLY x'), { next: { do: 'retry', reason: 'connection' }, connection: 'destroy', ran: 'no' }],
    ['nothing sent', new IoredisNotSentError(), { next: { do: 'retry', reason: 'connection' }, connection: 'destroy', ran: 'no' }],
    ['a lost reply', new Error('Connection is closed.'), { next: { do: 'unknown' }, connection: 'destroy', ran: 'unknown' }],
  ])('%s', (_name, err, expected) => {
    expect(classify(err, 'exec', UP)).toMatchObject(expected);
  });
});
