/**
 * `createTransactor`: the public transactor, its types, and the wiring of everything a call uses.
 */
import type { ClusterClientSource, ReadClientOf, SentinelClientSource, ServerClientSource, TransactorSource, WriteBuilderOf } from './connection/client-types.js';
import { serverSourceFor } from './connection/connection-source.js';
import { ioredisClusterSourceFor, isIoredisCluster } from './connection/ioredis-cluster.js';
import { clusterSourceFor, isCluster } from './connection/node-redis-cluster.js';
import { isSentinel, sentinelSourceFor } from './connection/node-redis-sentinel.js';
import { InvalidOptionsError, TransactUsageError } from './errors/usage-errors.js';
import { isTransactOutcomeUnknownError, TransactConnectionError, type TransactOutcomeUnknownError } from './errors/transaction-errors.js';
import { DEFAULT_MARKER_TTL_MS } from './exactly-once/commit-marker.js';
import { SETTLE_WINDOW_MS, type SettledOutcome, SettlementFailed, settleOutcome } from './exactly-once/settle-outcome.js';
import { InFlight } from './lifecycle/in-flight.js';
import { closeFromInside, refuseSelfDeadlock } from './transaction/nesting.js';
import { ConflictLedger } from './adaptive/conflict-ledger.js';
import { ContentionTracker } from './adaptive/contention-tracker.js';
import { AutoLocking } from './adaptive/auto-locking.js';
import { lockModeLocking, optimisticLocking } from './coalescing/call-locking.js';
import { Lanes } from './coalescing/lanes.js';
import { DEFAULT_LOCK_OPTIONS, resolveLockOptions } from './lock/lock-options.js';
import { registerInternals } from './transactor-internals.js';
import type { AttemptFaults } from './transaction/attempt-faults.js';
import { createLocker, type Locker } from './lock/locker.js';
import { DEFAULT_RETRY_POLICY, mergeRetryPolicy, type RetryPolicy } from './retry/retry-policy.js';
import type { TransactionFn } from './transaction/attempt.js';
import { parseCallOptions } from './validation/call-options.js';
import { validateFn } from './validation/function.js';
import { CallScope } from './transaction/call-scope.js';
import type { TransactionContext } from './transaction/context.js';
import { validateKeys } from './validation/keys.js';
import { Observer } from './observability/observer.js';
import { StatsRecorder, type TransactStats } from './observability/stats.js';
import { traced } from './observability/tracing.js';
import { runTransaction, type TransactResult } from './transaction/run-transaction.js';
import {
  DEFAULT_AUTO_MODE,
  DEFAULT_MAX_CONNECTIONS,
  type SettleOptions,
  settleOptionsSchema,
  type TransactOptions,
  type TransactorOptions,
  transactorOptionsSchema,
} from './transactor-options.js';
import { describeValue, parseInput } from './validation/parse-input.js';
import { ClusterTopology } from './topology/cluster-topology.js';
import { StandaloneTopology } from './topology/standalone-topology.js';
import type { Topology } from './topology/topology.js';

export type { IoredisClientSource, IoredisClusterSource } from './connection/client-types.js';
export type { ClusterClientSource, ReadClientOf, SentinelClientSource, ServerClientSource, TransactorSource, WriteBuilderOf };

/**
 * EXEC's replies, one per command `fn` queued, in order. An array of `unknown`: `fn` queues
 * commands one statement at a time (and only on some paths), so no type can say which replies
 * come back; narrow each one where you use it.
 */
export type RepliesOf = unknown[];

/** The context `fn` receives for a transactor built on `C`. */
export type ContextOf<C> = TransactionContext<ReadClientOf<C>, WriteBuilderOf<C>>;

/** Runs read-modify-write transactions, and takes locks, on one Redis server or a Redis Cluster. */
export interface Transactor<C extends TransactorSource = any> extends Locker {
  /**
   * WATCHes `keys`, runs `fn` (which reads with `t.read` and queues writes on `t.write`), and
   * commits what it queued in one MULTI/EXEC. When a watched key changed meanwhile, runs `fn`
   * again under the retry policy. If `fn` throws, nothing is written and the error is rethrown.
   * With `mode: 'lock'`, `fn` runs only while the call holds the lock on `keys`, and the commit is
   * a fenced EXEC.
   *
   * @example
   * ```ts
   * const { value } = await tx.transact(['stock:42', 'orders:42'], async (t) => {
   *   const stock = Number((await t.read.get('stock:42')) ?? 0);
   *   if (stock <= 0) return 'sold-out';
   *   t.write.decr('stock:42').rPush('orders:42', orderId);
   *   return 'ok';
   * });
   * ```
   */
  transact<T>(
    keys: readonly string[],
    fn: (t: ContextOf<C>) => T | Promise<T>,
    options?: TransactOptions,
  ): Promise<TransactResult<T, RepliesOf>>;
  /**
   * Settles the outcome of an exactly-once call that ended in `TransactOutcomeUnknownError` (Redis
   * could not be reached in time): claims the attempt's commit marker, the same way the call would
   * have. `'committed'`: its writes were applied, once. `'not-committed'`: nothing was written, and
   * now nothing will be. Safe to call again; the answer does not change.
   *
   * @example
   * ```ts
   * try { await tx.transact(keys, fn, { exactlyOnce: true }); }
   * catch (err) {
   *   if (isTransactOutcomeUnknownError(err) && err.commitMarker) later(() => tx.settle(err));
   * }
   * ```
   * @throws {@link InvalidOptionsError} when `error` carries no commit marker.
   * @throws {@link TransactUsageError} after `error.commitMarker.settleBy`: the marker may be gone.
   * @throws {@link TransactConnectionError} when Redis could not be reached before the transactor's
   * deadline (10 s without one), `options.signal`, or `settleBy`.
   * @throws {@link TransactorClosedError} once the transactor is closed.
   */
  settle(error: TransactOutcomeUnknownError, options?: SettleOptions): Promise<SettledOutcome>;
  /** The validated retry policy every call starts from. */
  readonly retryPolicy: RetryPolicy;
  /**
   * Counters since the transactor was created (calls, commits, failures, attempts, conflicts,
   * escalations), in all and by key prefix. Cheap: counted as it goes, copied on request.
   */
  stats(): TransactStats;
  /**
   * Stops taking calls (made after it, they reject with `TransactorClosedError`), lets those in
   * flight finish on their own terms, releases the locks from `lock` their callers still hold
   * (their `release()` then resolves `false`), and closes the transactor's own connections. The
   * client or pool it was built from is left open. Calling it again returns the same promise;
   * calling it from inside `fn` rejects with `TransactUsageError` (it would wait for that call).
   */
  close(): Promise<void>;
}

/**
 * Creates a transactor on a connected node-redis client, client pool, cluster client or Sentinel
 * client, or on an ioredis (or iovalkey) `Redis` instance or `Cluster`. The transactor opens its own dedicated
 * connections (same server, credentials, TLS and key prefix; on a cluster, to the master that owns
 * each transaction's slot; on Sentinel, to the primary the Sentinels name now) so that concurrent
 * transactions never share a WATCH; the client itself is never left watching.
 *
 * @example
 * ```ts
 * const client = await createClient({ url }).connect();
 * const tx = createTransactor(client, { retry: { maxAttempts: 20 } });
 * // or, on ioredis: createTransactor(new Redis(url)), createTransactor(new Cluster(nodes))
 * ```
 * @throws {@link InvalidOptionsError} when `client` or an option is invalid.
 */
export function createTransactor<C extends TransactorSource>(client: C, options?: TransactorOptions): Transactor<C> {
  // What every call starts from: options validated once, here.
  const parsed = parseInput(transactorOptionsSchema, options ?? {}, 'options');
  const policy = mergeRetryPolicy(DEFAULT_RETRY_POLICY, parsed.retry, 'options.retry');
  // The replication wait covers locks too: a lock a failover could lose is no lock.
  const lockDefaults = { ...DEFAULT_LOCK_OPTIONS, ...parsed.lock, replication: parsed.replication };
  const markerTtlMs = parsed.markerTtlMs ?? DEFAULT_MARKER_TTL_MS;
  const escalateAfter = parsed.auto?.escalateAfter ?? DEFAULT_AUTO_MODE.escalateAfter;

  // Where calls run, and what they share.
  const maxConnections = parsed.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const cluster = isCluster(client) ? clusterSourceFor(client) : isIoredisCluster(client) ? ioredisClusterSourceFor(client) : undefined;
  const topology: Topology = cluster
    ? new ClusterTopology(cluster, maxConnections)
    : new StandaloneTopology(isSentinel(client) ? sentinelSourceFor(client) : serverSourceFor(client), maxConnections);
  const stats = new StatsRecorder();
  const observer = new Observer(parsed.hooks ?? {}, stats, parsed.onHookError);
  const tracker = new ContentionTracker(
    parsed.auto?.relaxAfter ?? DEFAULT_AUTO_MODE.relaxAfter,
    parsed.auto?.coolDownMs ?? DEFAULT_AUTO_MODE.coolDownMs,
  );
  const lanes = new Lanes({
    backend: () => topology.locks.backend,
    holdEnded: (keySet, contended) => {
      if (tracker.settled(keySet, contended)) observer.deescalate(keySet.keys);
    },
    lockWaited: (keySet, waitedMs, outcome) => observer.lockWait(keySet.keys, waitedMs, outcome),
  });
  const ledger = new ConflictLedger();
  const inFlight = new InFlight();

  /** One `transact` call: validated before anything is sent, then run under the call's policy. */
  function runCall<T>(
    keys: readonly string[],
    fn: TransactionFn<T>,
    callOptions: TransactOptions | undefined,
    faults?: AttemptFaults,
  ): Promise<TransactResult<T>> {
    const keySet = topology.keySet(validateKeys(keys, 'keys'));
    validateFn(fn);
    const call = callOptions === undefined ? undefined : parseCallOptions(callOptions);
    const callPolicy = mergeRetryPolicy(policy, call?.retry, 'options.retry');
    const route = topology.route(keySet);
    refuseSelfDeadlock(lanes, keySet, () => route.pool());
    const mode = call?.mode ?? parsed.mode ?? 'auto';
    const replication = call?.replication ?? parsed.replication;
    // The lock defaults carry the transactor's replication already; a call's own replaces it.
    const lockOptions = resolveLockOptions(call?.lock, call?.replication ? { ...lockDefaults, replication } : lockDefaults, true);
    const locking =
      mode === 'lock'
        ? lockModeLocking(lockOptions)
        : mode === 'auto'
          ? new AutoLocking({ keySet, options: lockOptions, tracker, observer, escalateAfter })
          : optimisticLocking(lockOptions);
    const marker = (call?.exactlyOnce ?? parsed.exactlyOnce) ? topology.commitMarker(keySet, call?.markerTtlMs ?? markerTtlMs) : undefined;
    const scope = new CallScope(call?.signal, callPolicy.deadlineMs);
    const transaction = { keySet, fn, idempotent: call?.idempotent ?? false, scope, route, lanes, locking, ledger, observer, marker, replication, faults };
    return traced(parsed.tracer, () => ({ 'redis_transact.mode': mode, 'redis_transact.keys': keySet.keys.length }), () =>
      runTransaction(transaction, callPolicy),
      (err) => observer.tracerFailed(err),
    );
  }

  /** `tx.settle`: validated, then one settlement like a call's own, bounded by the policy's deadline. */
  async function settleCall(error: TransactOutcomeUnknownError, settleOptions: SettleOptions | undefined): Promise<SettledOutcome> {
    const marker = isTransactOutcomeUnknownError(error) ? error.commitMarker : undefined;
    if (!marker) {
      throw new InvalidOptionsError([
        { path: 'error', message: `must be the TransactOutcomeUnknownError of an exactlyOnce call, got ${describeValue(error)}` },
      ]);
    }
    const { signal } = parseInput(settleOptionsSchema, settleOptions ?? {}, 'options');
    if (Date.now() > marker.settleBy) {
      throw new TransactUsageError(
        `the commit marker ${marker.key} may have expired (settle by ${new Date(marker.settleBy).toISOString()}): ` +
          'the outcome can no longer be settled; reconcile by reading back',
      );
    }
    const window = AbortSignal.timeout(policy.deadlineMs ?? SETTLE_WINDOW_MS);
    const route = topology.route(topology.keySet(error.keys));
    try {
      return await settleOutcome(route, marker, markerTtlMs, signal ? AbortSignal.any([signal, window]) : window);
    } catch (err) {
      if (!(err instanceof SettlementFailed)) throw err;
      throw new TransactConnectionError({ keys: error.keys, attempts: err.tries, cause: err.cause });
    }
  }

  /** `tx.close`: calls in flight finish first, then the locks their callers hold go, then connections. */
  let closing: Promise<void> | undefined;
  async function closeOnce(): Promise<void> {
    await inFlight.close();
    await topology.close();
  }

  const transactor: Transactor<C> = {
    retryPolicy: policy,
    ...createLocker(() => topology.locks.backend, lockDefaults, (resources) => topology.keySet(resources), observer, inFlight),
    stats: () => stats.snapshot(),
    transact: (keys, fn, callOptions) => inFlight.run(() => runCall(keys, fn, callOptions)),
    settle: (error, settleOptions) => inFlight.run(() => settleCall(error, settleOptions)),
    close: () => {
      // From inside one of its own calls, close() would wait for that very call: refuse it.
      const refused = closeFromInside(lanes);
      return refused ? Promise.reject(refused) : (closing ??= closeOnce());
    },
  };
  registerInternals(transactor, {
    transact: (keys, fn, callOptions, faults) => inFlight.run(() => runCall(keys, fn, callOptions, faults)),
    commands: () => topology.locks.commands(),
    serverLockKeys: (resources) => topology.locks.keyspace.lockKeys(resources).serverLockKeys,
  });
  return transactor;
}
