/**
 * Per-cell statistics: raw samples while the cell runs (mergeable across processes), a summary
 * once it is over.
 */
import type { OpResult } from './types.js';

/** Everything recorded in one process for one cell. Plain data: it crosses process boundaries as JSON. */
export interface RawStats {
  /** Ops committed in the measured window. */
  committed: number;
  /** Ops given up in the measured window. */
  giveUps: number;
  /** Attempts of every op finished in the window, committed or given up. */
  attemptsSum: number;
  attemptsMax: number;
  /** Latency of each committed op in the window, ms, from its first attempt to its commit. */
  latenciesMs: number[];
  /**
   * The longest call, ms, committed or given up, among those that ended in the window and those
   * still in flight when it closed (timed to their end in the drain): 0 when there were none.
   */
  slowestMs: number;
  /** Calls still in flight when the window closed, and the longest of them in all, ms (0 when none). */
  inflight: number;
  inflightMaxMs: number;
  /** Ops committed at any time in the cell, warm-up and overrun included: what the invariant counts. */
  totalCommitted: number;
  /** Ops committed in each quarter of the measured window, by when they ended: a rate still rising means a warm-up too short. */
  committedByQuarter: number[];
  /** Unexpected errors (each stops its worker); the first message is kept. */
  errors: number;
  firstError?: string;
  /** Multi-process runs: each process's ops committed in the measured window, in process order. */
  committedByProcess?: number[];
}

/** A cell's numbers as reported. */
export interface CellStats {
  /** Committed ops per second over the measured window. */
  opsPerSec: number;
  committed: number;
  giveUps: number;
  /** Attempts per committed op: all attempts made in the window (give-ups' too) / commits (NaN, null in JSON, when nothing committed). */
  attemptsMean: number;
  /** Most attempts any single op took. */
  attemptsMax: number;
  /** Attempts made in the window in all. */
  attemptsSum: number;
  /** Ops committed at any time in the cell (warm-up and overrun included): what the invariant was checked against. */
  totalCommitted: number;
  /** Ops committed in each quarter of the window, in order. */
  committedByQuarter: number[];
  /** Latency of committed ops, ms (NaN, null in JSON, when nothing committed). */
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  /** Slowest committed op that ended in the window. */
  maxMs: number;
  /** Slowest call of all: committed or given up, ended in the window or still in flight when it closed (its full duration). */
  slowestMs: number;
  /** Calls still in flight when the window closed (not in ops/s, nor in the percentiles), and the longest of them, ms (0 when none). */
  inflight: number;
  inflightMaxMs: number;
  errors: number;
  firstError?: string;
  /** Multi-process runs: each process's share of the commits in the measured window (0..1), in process order. */
  shares?: number[];
}

/** An empty record. */
export function emptyStats(): RawStats {
  return { committed: 0, giveUps: 0, attemptsSum: 0, attemptsMax: 0, latenciesMs: [], slowestMs: 0, inflight: 0, inflightMaxMs: 0, totalCommitted: 0, committedByQuarter: [0, 0, 0, 0], errors: 0 };
}

/**
 * Where a finished op lies relative to the measured window: ended before it opened (warm-up),
 * ended inside it, or started before it closed and ended after (in flight at the end: drained).
 */
export type OpPhase = 'warm-up' | 'window' | 'in-flight';

/** The phase of an op that ended at `ended` (same clock as the window's bounds). */
export function opPhase(ended: number, windowStart: number, windowEnd: number): OpPhase {
  if (ended < windowStart) return 'warm-up';
  if (ended <= windowEnd) return 'window';
  // Workers start no op once the window has closed: an op ending after it was in flight then.
  return 'in-flight';
}

/** Which quarter (0 to 3) of the window `[windowStart, windowEnd]` the instant `ended` falls in. */
export function windowQuarter(ended: number, windowStart: number, windowEnd: number): number {
  return Math.min(3, Math.max(0, Math.floor(((ended - windowStart) * 4) / (windowEnd - windowStart))));
}

/**
 * Records one finished op. Only ops that ended in the window count toward ops/s and the
 * percentiles; those in flight when it closed count toward the slowest call, with their full
 * duration: leaving them out would hide exactly the calls that were stuck.
 */
export function recordOp(stats: RawStats, result: OpResult, latencyMs: number, phase: OpPhase, quarter = 0): void {
  if (result.committed) stats.totalCommitted++;
  if (phase === 'in-flight') {
    stats.inflight++;
    stats.inflightMaxMs = Math.max(stats.inflightMaxMs, latencyMs);
    stats.slowestMs = Math.max(stats.slowestMs, latencyMs);
    return;
  }
  if (phase !== 'window') return;
  stats.slowestMs = Math.max(stats.slowestMs, latencyMs);
  stats.attemptsSum += result.attempts;
  stats.attemptsMax = Math.max(stats.attemptsMax, result.attempts);
  if (result.committed) {
    stats.committed++;
    stats.committedByQuarter[quarter]!++;
    stats.latenciesMs.push(latencyMs);
  } else {
    stats.giveUps++;
  }
}

/** Records an unexpected error. */
export function recordError(stats: RawStats, err: unknown): void {
  stats.errors++;
  stats.firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Adds up the records of several processes. */
export function mergeStats(parts: readonly RawStats[]): RawStats {
  const merged = emptyStats();
  for (const p of parts) {
    merged.committed += p.committed;
    merged.giveUps += p.giveUps;
    merged.attemptsSum += p.attemptsSum;
    merged.attemptsMax = Math.max(merged.attemptsMax, p.attemptsMax);
    for (const l of p.latenciesMs) merged.latenciesMs.push(l);
    merged.slowestMs = Math.max(merged.slowestMs, p.slowestMs);
    merged.inflight += p.inflight;
    merged.inflightMaxMs = Math.max(merged.inflightMaxMs, p.inflightMaxMs);
    merged.totalCommitted += p.totalCommitted;
    p.committedByQuarter.forEach((n, i) => (merged.committedByQuarter[i]! += n));
    merged.errors += p.errors;
    merged.firstError ??= p.firstError;
  }
  return merged;
}

/** The `q`-quantile (0..1) of ascending `sorted`, nearest-rank; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/** Ops/s of the window's last quarter ÷ its first: about 1 for a settled cell, well above 1 for one still warming up (NaN when the first quarter committed nothing). */
export function quarterTrend(stats: Pick<CellStats, 'committedByQuarter'>): number {
  const [first = 0] = stats.committedByQuarter;
  const last = stats.committedByQuarter.at(-1) ?? 0;
  return first > 0 ? last / first : Number.NaN;
}

/** Summarizes a cell measured over `durationMs`. */
export function summarize(raw: RawStats, durationMs: number): CellStats {
  const sorted = Float64Array.from(raw.latenciesMs).sort();
  const asArray = Array.from(sorted);
  return {
    opsPerSec: (raw.committed * 1000) / durationMs,
    committed: raw.committed,
    giveUps: raw.giveUps,
    attemptsMean: raw.committed > 0 ? raw.attemptsSum / raw.committed : Number.NaN,
    attemptsMax: raw.attemptsMax,
    attemptsSum: raw.attemptsSum,
    totalCommitted: raw.totalCommitted,
    committedByQuarter: raw.committedByQuarter,
    meanMs: asArray.length > 0 ? asArray.reduce((a, b) => a + b, 0) / asArray.length : Number.NaN,
    p50Ms: quantile(asArray, 0.5),
    p90Ms: quantile(asArray, 0.9),
    p99Ms: quantile(asArray, 0.99),
    p999Ms: quantile(asArray, 0.999),
    maxMs: quantile(asArray, 1),
    slowestMs: raw.slowestMs,
    inflight: raw.inflight,
    inflightMaxMs: raw.inflightMaxMs,
    errors: raw.errors,
    ...(raw.firstError === undefined ? {} : { firstError: raw.firstError }),
    ...(raw.committedByProcess === undefined
      ? {}
      : { shares: raw.committedByProcess.map((n) => (raw.committed > 0 ? n / raw.committed : Number.NaN)) }),
  };
}
