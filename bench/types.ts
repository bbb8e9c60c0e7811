/**
 * The shapes every part of the benchmark agrees on: a workload hands out operations, a contender
 * runs them, the cell driver times them. Kept free of Redis client types so that workloads and
 * reports stay testable in isolation.
 */
import type { BenchClient } from './redis-client.js';

export type { BenchClient };

/** One write an operation decided on: `INCRBY key by`. Every workload writes only counters. */
export interface Write {
  readonly key: string;
  readonly by: number;
}

/**
 * One read-modify-write operation, described once so that every contender runs exactly the same
 * logic: read `reads`, call `decide`, apply the writes atomically, guarded on `keys`.
 */
export interface Op {
  /** Every key the operation reads or writes: what is watched or locked. */
  readonly keys: readonly string[];
  /** Keys read (GET), in order, before deciding. */
  readonly reads: readonly string[];
  /** The writes to apply given the values read, or none when the operation is refused. */
  decide(values: ReadonlyArray<string | null>): readonly Write[];
  /** ARGV of the workload's Lua script (its KEYS are `keys`). */
  readonly luaArgs: readonly string[];
}

/** Outcome of one verified invariant. */
export interface InvariantResult {
  readonly ok: boolean;
  /** One line for humans, e.g. `stock 1000000000 → 999987000 (−13000) = 13000 committed`. */
  readonly detail: string;
}

/** The keys and operations of one cell: fresh keys under one tag, so cells never interfere. */
export interface WorkloadCell {
  /** Writes the initial values. Called once, by the parent process only. */
  init(client: BenchClient): Promise<void>;
  /** A new random operation. */
  nextOp(): Op;
  /** Checks the workload's invariant once every worker has stopped; `committed` counts every committed op of the cell (warm-up included). */
  check(client: BenchClient, committed: number): Promise<InvariantResult>;
}

/** Workload names, in report order. */
export const WORKLOAD_NAMES = ['hot-key', 'spread', 'bank'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

/** A kind of traffic: its keys, its per-op transaction, its Lua twin and its invariant. */
export interface Workload {
  readonly name: WorkloadName;
  /** One line for the report. */
  readonly summary: string;
  /** The same operation as one atomic Lua script: KEYS = `op.keys`, ARGV = `op.luaArgs`; returns 1 when it wrote, 0 when refused. */
  readonly lua: { readonly source: string; readonly numberOfKeys: number };
  /**
   * The cell's keys and operation generator, all under `tag`. Pure (no I/O), so that the child
   * processes of a multi-process run build the very same cell as the parent.
   */
  cell(tag: string): WorkloadCell;
}

/** What one operation came to. */
export interface OpResult {
  /** True when the operation completed (written, or refused after a consistent read); false when the contender gave up. */
  readonly committed: boolean;
  /** Attempts it took (lock acquisitions for lock-based contenders), the first included. */
  readonly attempts: number;
}

/** What a contender gets to set up one cell. */
export interface CellContext {
  readonly url: string;
  readonly workload: Workload;
  /** Workers that will call `run` concurrently in this process (worker indexes are 0 to concurrency − 1). */
  readonly concurrency: number;
}

/** A contender's resources for one cell. */
export interface ContenderCell {
  /** Runs one operation for `worker`. Throws only on unexpected errors (they fail the cell). */
  run(op: Op, worker: number): Promise<OpResult>;
  /** Closes what `setup` opened. */
  teardown(): Promise<void>;
}

/** Contender names, in report order. */
export const CONTENDER_NAMES = [
  'watch-loop',
  'watch-loop-pipelined',
  'lua',
  'npm-lock',
  'transact-optimistic',
  'transact-optimistic-once',
  'transact-lock',
  'transact-lock-once',
  'transact-auto',
  // The same on ioredis: its hand-written loop, and the transactor on an ioredis Redis instance.
  'watch-loop-ioredis',
  'transact-optimistic-ioredis',
  'transact-lock-ioredis',
  'transact-auto-ioredis',
] as const;
export type ContenderName = (typeof CONTENDER_NAMES)[number];

/** One way of doing the read-modify-write. */
export interface Contender {
  readonly name: ContenderName;
  /** One line for the report. */
  readonly summary: string;
  /**
   * Checked once per run, before any cell: `undefined` when the contender can run here, else the
   * reason it cannot (shown as n/a), e.g. a transact mode the library does not have yet.
   */
  probe?(url: string): Promise<string | undefined>;
  /** Opens what one cell needs (connections, scripts, transactor). */
  setup(ctx: CellContext): Promise<ContenderCell>;
}
