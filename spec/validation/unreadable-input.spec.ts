import {
  createRedlock,
  createTransactor,
  InvalidOptionsError,
  loadRetryPolicy,
  TransactOutcomeUnknownError,
  type Transactor,
} from '../../lib';
import { validateKeys } from '../../lib/validation/keys';
import { commandsProcessed, useRedis } from '../support/redis';

const redis = useRedis();

// Inputs that throw while being read. Each test builds its own: a revoked Proxy stays revoked.
const boom = new Error('boom');
const raise = (): never => {
  throw boom;
};
/** An object whose `name` getter throws. */
const getterThrows = (name: string): object => Object.defineProperty({}, name, { enumerable: true, get: raise });
/** A Proxy over `target` whose one trap throws. */
const trapThrows = <T extends object>(target: T, trap: 'get' | 'ownKeys'): T => new Proxy(target, { [trap]: raise });
const revoked = (): object => {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
};
/** `['a', 'b']` whose index `i` getter throws. */
const indexThrows = (i: number): string[] => Object.defineProperty(['a', 'b'], i, { enumerable: true, get: raise });
/** `['a', 'b']` behind a Proxy whose get trap throws when index `i` is read. */
const indexTrapThrows = (i: number): string[] =>
  new Proxy(['a', 'b'], { get: (target, property) => (property === String(i) ? raise() : Reflect.get(target, property)) });

/** The InvalidOptionsError an unreadable input must become: the path, the reason, the thrown error as cause. */
function unreadable(path: string, thrown: 'boom' | 'revoked') {
  return thrown === 'boom'
    ? { code: 'ERR_TRANSACT_INVALID_OPTIONS', issues: [{ path, message: 'could not be read: boom' }], cause: boom }
    : {
        code: 'ERR_TRANSACT_INVALID_OPTIONS',
        issues: [{ path, message: expect.stringMatching(/^could not be read: Cannot perform '\w+' on a proxy that has been revoked$/) }],
        cause: expect.any(TypeError),
      };
}

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  throw new Error('expected it to throw');
}

const marker = () =>
  new TransactOutcomeUnknownError({
    keys: ['k'],
    attempts: 1,
    commitMarker: { key: 'rtonce:x.1', attemptId: 'x.1', settleBy: Date.now() + 60_000 },
  });
const noop = (): void => {};

describe('input that throws while being read is refused as invalid, before anything is sent', () => {
  it.each<[string, (tx: Transactor) => Promise<unknown>, string, 'boom' | 'revoked']>([
    ['transact: an options getter', (tx) => tx.transact(['k'], noop, getterThrows('mode')), 'options', 'boom'],
    ['transact: a nested options getter', (tx) => tx.transact(['k'], noop, { retry: getterThrows('maxAttempts') }), 'options', 'boom'],
    ['transact: options whose ownKeys trap throws', (tx) => tx.transact(['k'], noop, trapThrows({}, 'ownKeys')), 'options', 'boom'],
    ['transact: options whose get trap throws', (tx) => tx.transact(['k'], noop, trapThrows({}, 'get')), 'options', 'boom'],
    ['transact: revoked options', (tx) => tx.transact(['k'], noop, revoked()), 'options', 'revoked'],
    ['transact: a key getter', (tx) => tx.transact(indexThrows(0), noop), 'keys[0]', 'boom'],
    ['transact: keys whose get trap throws at [1]', (tx) => tx.transact(indexTrapThrows(1), noop), 'keys[1]', 'boom'],
    ['transact: keys whose get trap throws', (tx) => tx.transact(trapThrows(['k'], 'get'), noop), 'keys', 'boom'],
    ['transact: revoked keys', (tx) => tx.transact(revoked() as string[], noop), 'keys', 'revoked'],
    ['lock: a resource getter', (tx) => tx.lock(indexThrows(1)), 'resources[1]', 'boom'],
    ['lock: options whose get trap throws', (tx) => tx.lock(['r'], trapThrows({}, 'get')), 'options', 'boom'],
    ['withLock: revoked resources', (tx) => tx.withLock(revoked() as string[], noop), 'resources', 'revoked'],
    ['withLock: options whose ownKeys trap throws', (tx) => tx.withLock(['r'], noop, trapThrows({}, 'ownKeys')), 'options', 'boom'],
    ['settle: options whose get trap throws', (tx) => tx.settle(marker(), trapThrows({}, 'get')), 'options', 'boom'],
    ['settle: revoked options', (tx) => tx.settle(marker(), revoked()), 'options', 'revoked'],
  ])('%s', async (_, call, path, thrown) => {
    const admin = await redis.connect();
    const tx = await redis.transactor();
    const before = await commandsProcessed(admin);

    const refused = await call(tx).then(() => undefined, (err: unknown) => err);

    expect(refused).toBeInstanceOf(InvalidOptionsError);
    expect(refused).toMatchObject(unreadable(path, thrown));
    expect(await commandsProcessed(admin)).toBe(before + 1); // the INFO above: nothing reached Redis
  });

  it.each<[string, () => unknown, string, 'boom' | 'revoked']>([
    ['createTransactor: options whose get trap throws', () => createTransactor(undefined as never, trapThrows({}, 'get')), 'options', 'boom'],
    ['createTransactor: revoked options', () => createTransactor(undefined as never, revoked()), 'options', 'revoked'],
    ['createRedlock: an options getter', () => createRedlock([], getterThrows('retryDelayMs')), 'options', 'boom'],
    ['createRedlock: options whose ownKeys trap throws', () => createRedlock([], trapThrows({}, 'ownKeys')), 'options', 'boom'],
    ['loadRetryPolicy: a source getter', () => loadRetryPolicy(getterThrows('file')), 'source', 'boom'],
    ['loadRetryPolicy: a revoked source', () => loadRetryPolicy(revoked()), 'source', 'revoked'],
  ])('%s', (_, call, path, thrown) => {
    const refused = thrownBy(call);
    expect(refused).toBeInstanceOf(InvalidOptionsError);
    expect(refused).toMatchObject(unreadable(path, thrown));
  });

  it('a revoked Proxy as a key, fn or option value is described, not read', async () => {
    const admin = await redis.connect();
    const tx = await redis.transactor();
    const before = await commandsProcessed(admin);

    await expect(tx.transact([revoked() as never], noop)).rejects.toThrow('invalid options: keys[0]: must be a non-empty string, got an object');
    await expect(tx.transact(['k'], revoked() as never)).rejects.toThrow('invalid options: fn: must be a function, got an object');
    await expect(tx.transact(['k'], noop, { mode: revoked() as never })).rejects.toThrow(
      'invalid options: options.mode: must be "optimistic", "lock" or "auto", got an object',
    );
    expect(await commandsProcessed(admin)).toBe(before + 1);
  });

  it('t.watch() refuses a key it cannot read as invalid, and the call writes nothing', async () => {
    const admin = await redis.connect();
    const tx = await redis.transactor();

    const refused = tx.transact(['k'], async (t) => {
      await t.watch(revoked() as never);
      t.write.set('k', 'written');
    });

    await expect(refused).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(refused).rejects.toThrow('invalid options: t.watch()[0]: must be a non-empty string, got an object');
    expect(await admin.exists('k')).toBe(0);
  });
});

describe('validateKeys reads each key once', () => {
  /** A key list whose entries answer with the next of `values` on each read, counting reads. */
  function shifting(...values: unknown[][]): { keys: unknown[]; reads: number[] } {
    const reads = values.map(() => 0);
    const keys: unknown[] = [];
    values.forEach((answers, i) =>
      Object.defineProperty(keys, i, { enumerable: true, get: () => answers[Math.min(reads[i]!++, answers.length - 1)] }),
    );
    return { keys, reads };
  }

  it('returns what it checked, for one key and for several', () => {
    const one = shifting(['a', 42]);
    expect(validateKeys(one.keys, 'keys')).toEqual(['a']);
    expect(one.reads).toEqual([1]);

    const two = shifting(['a', ''], ['b', undefined]);
    expect(validateKeys(two.keys, 'keys')).toEqual(['a', 'b']);
    expect(two.reads).toEqual([1, 1]);
  });

  it('refuses what it read, not what a second read would say', () => {
    const bad = shifting([42, 'a']);
    expect(() => validateKeys(bad.keys, 'keys')).toThrow('invalid options: keys[0]: must be a non-empty string, got 42');
    expect(bad.reads).toEqual([1]);
  });
});
