/** The shape of bench/results/latest.json: every raw number of a run, and where it ran. */
import type { CellStats } from '../measure.js';
import type { ContenderName, InvariantResult, WorkloadName } from '../types.js';

/** One (contender, workload, concurrency) cell. */
export interface CellRecord {
  readonly workload: WorkloadName;
  readonly contender: ContenderName;
  /** Workers in all (in the multi-process run: across every process). */
  readonly concurrency: number;
  /** Processes the workers ran in: 1 in-process, more in the multi-process run. */
  readonly processes: number;
  /** False when the contender could not run here (see the contender's `unavailable`): no numbers. */
  readonly available: boolean;
  readonly stats: CellStats | null;
  readonly invariant: InvariantResult | null;
  /** Invariant held and no unexpected error (true for unavailable cells: nothing ran). */
  readonly ok: boolean;
  /** Multi-process cells: the round it ran in, from 1. */
  readonly round?: number;
}

/**
 * A paired cell: an `X` contender and its `X-once` twin (or another variant of it: see `PAIRS` in
 * markdown.ts) in one cell, on the same keys with the same workers, switching between the two
 * every `sliceMs`, so that both share the machine's noise.
 */
export interface PairedRecord {
  readonly workload: WorkloadName;
  readonly concurrency: number;
  readonly plain: ContenderName;
  /** The variant: `X-once`, or the other side of an ioredis pair. */
  readonly once: ContenderName;
  /** How long each side runs before the other takes over, ms. */
  readonly sliceMs: number;
  /** Each side's numbers, ops/s over the part of the window that was its slices. */
  readonly plainStats: CellStats;
  readonly onceStats: CellStats;
  /** Checked against both sides' commits together. */
  readonly invariant: InvariantResult;
  /** Invariant held and no unexpected error on either side. */
  readonly ok: boolean;
}

/** A contender as the run saw it. */
export interface ContenderInfo {
  readonly name: ContenderName;
  readonly summary: string;
  readonly available: boolean;
  readonly unavailable?: string;
}

/** Where and when the run happened. */
export interface MachineInfo {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly platform: string;
  readonly arch: string;
  readonly node: string;
  readonly redis: string;
  /** `embedded` (a redis-server started for the run) or the REDIS_URL host. */
  readonly redisServer: string;
  readonly totalMemoryGiB: number;
  /** 1-minute load average when the run started: a busy shared machine shows here. */
  readonly loadAverageAtStart: number;
}

/** Everything a run produced. */
export interface BenchReport {
  readonly date: string;
  readonly machine: MachineInfo;
  readonly settings: {
    readonly durationMs: number;
    readonly warmupMs: number;
    readonly concurrency: readonly number[];
    readonly processes: number;
    readonly workersPerProcess: number;
    /** Warm-up of each multi-process cell, in every child, ms (absent in older runs: they had `warmupMs`). */
    readonly processWarmupMs?: number;
    /** Rounds of the multi-process run (absent in older runs: one). */
    readonly rounds?: number;
    readonly smoke: boolean;
    /** The library measured: its build (`npm run bench`), or its source through tsx (absent in older runs: the source). */
    readonly library?: 'dist' | 'source';
  };
  readonly workloads: ReadonlyArray<{ readonly name: WorkloadName; readonly summary: string }>;
  readonly contenders: readonly ContenderInfo[];
  /** In-process cells: one per (contender, workload, concurrency). */
  readonly cells: readonly CellRecord[];
  /** The multi-process run (hot-key): each contender's median round (see `multiProcessRounds`); empty when skipped. */
  readonly multiProcess: readonly CellRecord[];
  /** Every round of the multi-process run, each with one cell per contender, in run order. Absent in older runs. */
  readonly multiProcessRounds?: ReadonlyArray<readonly CellRecord[]>;
  /** Paired cells: one per (`X`/`X-once` pair with both sides available, workload, in-process concurrency). Absent in older runs. */
  readonly paired?: readonly PairedRecord[];
  readonly elapsedMs: number;
  /** Every cell ok. */
  readonly ok: boolean;
}
