/** Messages between the multi-process run's parent and its children (over the fork IPC channel). */
import type { RawStats } from './measure.js';
import type { ContenderName, WorkloadName } from './types.js';

/** What a child is told to run: passed as its only argument, JSON. */
export interface ChildJob {
  readonly url: string;
  readonly contender: ContenderName;
  readonly workload: WorkloadName;
  /** The cell's key tag: the parent already wrote the initial values under it. */
  readonly tag: string;
  readonly concurrency: number;
  /** Warm-up on the cell's keys before the window (`--process-warmup`): long enough for a fresh process's JIT to settle. */
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly drainMs: number;
}

/** Parent → child: start the warm-up at `startAt` (a `Date.now()` epoch, the same for every child). */
export interface GoMessage {
  readonly type: 'go';
  readonly startAt: number;
}

/** Child → parent. */
export type ChildMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly stats: RawStats }
  | { readonly type: 'failed'; readonly error: string };
