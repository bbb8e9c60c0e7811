import type { ResolvedLockOptions } from '../lock/lock-options.js';
import { LockGuard } from '../lock/lock-guard.js';
import type { SingleNodeBackend } from '../lock/single-node-backend.js';
import type { Observer } from '../observability/observer.js';
import type { CommitGuard } from '../transaction/commit-guard.js';
import type { TransactMode } from '../transactor-options.js';
import { AutoGuard } from './auto-guard.js';
import type { ContentionTracker } from './contention-tracker.js';
import type { Lanes } from '../coalescing/lanes.js';

/** What a mode's guard is built from. @internal */
export interface GuardContext {
  readonly backend: SingleNodeBackend;
  readonly lockOptions: ResolvedLockOptions;
  readonly tracker: ContentionTracker;
  readonly observer: Observer;
  readonly escalateAfter: number;
  readonly lanes: Lanes;
}

/** The per-call guard of a mode: none for optimistic, a lock for lock mode, adaptive for auto. @internal */
export function guardForMode(mode: TransactMode, keys: readonly string[], context: GuardContext): CommitGuard | undefined {
  switch (mode) {
    case 'optimistic':
      return undefined;
    case 'lock':
      return new LockGuard(context.backend, keys, context.lockOptions, context.observer, context.lanes);
    case 'auto':
      return new AutoGuard({ ...context, keys });
  }
}
