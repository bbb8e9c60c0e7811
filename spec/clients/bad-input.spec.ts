import { createTransactor, InvalidOptionsError, type Transactor } from '../../lib';
import { CLIENTS, useClients } from '../support/clients';
import { commandsProcessed } from '../support/redis';

/**
 * Bad input to a transactor, refused by name before anything is sent, whatever the client: written
 * once and run for every client of the matrix.
 */
const clients = useClients();

const CALLS: Array<[string, (tx: Transactor) => Promise<unknown>, string]> = [
  ['an empty key list', (tx) => tx.transact([], () => 1), 'invalid options: keys: must name at least one key'],
  ['a key list that is not an array', (tx) => tx.transact('k' as never, () => 1), 'keys: must be an array of key names, got "k"'],
  [
    'non-string keys',
    (tx) => tx.transact(['ok', 42, ''] as never, () => 1),
    'invalid options: keys[1]: must be a non-empty string, got 42; keys[2]: must be a non-empty string, got ""',
  ],
  ['fn that is not a function', (tx) => tx.transact(['k'], 'nope' as never), 'fn: must be a function, got "nope"'],
  [
    'a bad per-call retry policy',
    (tx) => tx.transact(['k'], () => 1, { retry: { maxAttempts: 0, backoff: 'linear' as never } }),
    'options.retry.maxAttempts: must be a positive integer, got 0; options.retry.backoff: must be one of "none", "fixed", "exponential", "decorrelated", got "linear"',
  ],
  ['an unknown mode', (tx) => tx.transact(['k'], () => 1, { mode: 'fast' as never }), 'options.mode: must be "optimistic", "lock" or "auto", got "fast"'],
  ['an unknown per-call option', (tx) => tx.transact(['k'], () => 1, { retries: 3 } as never), 'options.retries: is not a known option'],
  ['a signal that is not an AbortSignal', (tx) => tx.transact(['k'], () => 1, { signal: {} as never }), 'options.signal: must be an AbortSignal'],
  ['a lock on no resources', (tx) => tx.lock([]), 'resources: must name at least one key'],
  ['a lock on a resource that is not a string', (tx) => tx.withLock([7] as never, () => 1), 'resources[0]: must be a non-empty string, got 7'],
  ['withLock without a function', (tx) => tx.withLock(['r'], 'x' as never), 'fn: must be a function'],
  ['a lease of 0', (tx) => tx.lock(['r'], { ttlMs: 0 }), 'options.ttlMs: must be a positive number of milliseconds, at least 20 (a lease must outlast a round trip), got 0'],
  ['a negative lease', (tx) => tx.lock(['r'], { ttlMs: -5 }), 'options.ttlMs: must be a positive number of milliseconds, at least 20'],
  ['a negative acquire timeout', (tx) => tx.lock(['r'], { acquireTimeoutMs: -1 }), 'options.acquireTimeoutMs: must be 0 or a positive number of milliseconds, got -1'],
  ['an unknown lock option', (tx) => tx.lock(['r'], { ttl: 100 } as never), 'options.ttl: is not a known option'],
];

describe.each(CLIENTS)('bad input on $name', (kind) => {
  it.each(CALLS)('rejects %s with InvalidOptionsError before sending any command', async (_name, call, message) => {
    const { tx } = await clients.transactor(kind);
    const admin = await clients.admin();
    const before = await commandsProcessed(admin);

    const failure = call(tx);

    await expect(failure).rejects.toBeInstanceOf(InvalidOptionsError);
    await expect(failure).rejects.toThrow(message);
    expect(await commandsProcessed(admin)).toBe(before + 1); // only the INFO that asks
  });

  it('rejects bad transactor options naming every field', async () => {
    const client = await clients.connect(kind);
    expect(() =>
      createTransactor(client, { retry: { baseDelayMs: -1, deadlineMs: 0 }, maxConnections: 1.5, hooks: { onRetry: 1 as never } }),
    ).toThrow(
      'invalid options: options.retry.baseDelayMs: must be 0 or more, got -1; options.retry.deadlineMs: must be a positive number of milliseconds or null, got 0; ' +
        'options.maxConnections: must be a positive integer, got 1.5; options.hooks.onRetry: must be a function, got 1',
    );
    expect(() => createTransactor(client, { retry: { baseDelayMs: 100, maxDelayMs: 10 } })).toThrow(
      'options.retry.maxDelayMs: must be at least baseDelayMs (100), got 10',
    );
  });
});

it('refuses what is no client it knows, naming those it takes', () => {
  expect(() => createTransactor({} as never)).toThrow(
    'client: must be a node-redis client (createClient), client pool (createClientPool), cluster client (createCluster) or Sentinel client (createSentinel)',
  );
});
