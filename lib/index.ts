export { createTransactor } from './transactor.js';
export type {
  ContextOf,
  ReadClientOf,
  RepliesOf,
  Transactor,
  ClusterClientSource,
  IoredisClientSource,
  IoredisClusterSource,
  SentinelClientSource,
  ServerClientSource,
  TransactorSource,
  WriteBuilderOf,
} from './transactor.js';
export { DEFAULT_AUTO_MODE, DEFAULT_MAX_CONNECTIONS } from './transactor-options.js';
export type { AutoModeOptions, ReplicationOptions, SettleOptions, TransactMode, TransactOptions, TransactorOptions } from './transactor-options.js';
export { DEFAULT_MARKER_TTL_MS } from './exactly-once/commit-marker.js';
export type { CommitMarkerRef } from './exactly-once/commit-marker.js';
export type { SettledOutcome } from './exactly-once/settle-outcome.js';
export type { TransactionContext } from './transaction/context.js';
export type { TransactResult } from './transaction/run-transaction.js';
export type {
  AttemptEvent,
  AttemptMode,
  CommitEvent,
  ConflictEvent,
  DeescalationEvent,
  EscalationEvent,
  HookErrorEvent,
  HookName,
  LockAcquiredEvent,
  LockExtendedEvent,
  LockLostEvent,
  LockWaitEvent,
  LockWaitOutcome,
  RetryEvent,
  TransactHooks,
} from './observability/events.js';
export { HOOK_WARNING_CODE, HOOK_WARNING_NAME } from './observability/hook-errors.js';
export type { TransactCounters, TransactStats } from './observability/stats.js';
export type { SpanLike, TracerLike } from './observability/tracing.js';
export type { RetryReason } from './observability/events.js';

export { DEFAULT_RETRY_POLICY, resolveRetryPolicy } from './retry/retry-policy.js';
export type { BackoffKind, JitterKind, RetryPolicy, RetryPolicyInput } from './retry/retry-policy.js';
export { backoffDelay } from './retry/backoff.js';
export { loadRetryPolicy } from './retry/load-retry-policy.js';
export type { RetryPolicySource } from './retry/load-retry-policy.js';

export { isTransactError, TransactError } from './errors/base.js';
export type { TransactErrorCode } from './errors/base.js';
export {
  isTransactAbortedError,
  isTransactCommandError,
  isTransactConflictError,
  isTransactConnectionError,
  isTransactNotReplicatedError,
  isTransactOutcomeUnknownError,
  isTransactTimeoutError,
  TransactAbortedError,
  TransactCommandError,
  TransactConflictError,
  TransactConnectionError,
  TransactNotReplicatedError,
  TransactOutcomeUnknownError,
  TransactTimeoutError,
} from './errors/transaction-errors.js';
export type { TransactionFailure } from './errors/transaction-errors.js';
export {
  InvalidOptionsError,
  isInvalidOptionsError,
  isTransactorClosedError,
  isTransactUsageError,
  TransactorClosedError,
  TransactUsageError,
} from './errors/usage-errors.js';
export type { OptionIssue } from './errors/usage-errors.js';

export { Lock } from './lock/lock-handle.js';
export type { Locker } from './lock/locker.js';
export { DEFAULT_LOCK_OPTIONS } from './lock/lock-options.js';
export type { LockOptions } from './lock/lock-options.js';
export { isLockLostError, isLockUnavailableError, LockLostError, LockUnavailableError } from './errors/lock-errors.js';
export type { LockUnavailableReason } from './errors/lock-errors.js';
export { createRedlock } from './lock/redlock.js';
export type { Redlock, RedlockOptions } from './lock/redlock.js';
export { CrossSlotError, isCrossSlotError } from './errors/cluster-errors.js';
