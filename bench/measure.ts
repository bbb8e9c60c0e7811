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
  /** Ops committed at any time in the cell, warm-up and overrun included: what the invariant counts. */
  totalCommitted: number;
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
  /** Latency of committed ops, ms (NaN, null in JSON, when nothing committed). */
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  errors: number;
  firstError?: string;
  /** Multi-process runs: each process's share of the commits in the measured window (0..1), in process order. */
  shares?: number[];
}

/** An empty record. */
export function emptyStats(): RawStats {
  return { committed: 0, giveUps: 0, attemptsSum: 0, attemptsMax: 0, latenciesMs: [], totalCommitted: 0, errors: 0 };
}

/** Records one finished op; `inWindow` says whether it finished inside the measured window. */
export function recordOp(stats: RawStats, result: OpResult, latencyMs: number, inWindow: boolean): void {
  if (result.committed) stats.totalCommitted++;
  if (!inWindow) return;
  stats.attemptsSum += result.attempts;
  stats.attemptsMax = Math.max(stats.attemptsMax, result.attempts);
  if (result.committed) {
    stats.committed++;
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
    merged.totalCommitted += p.totalCommitted;
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
    meanMs: asArray.length > 0 ? asArray.reduce((a, b) => a + b, 0) / asArray.length : Number.NaN,
    p50Ms: quantile(asArray, 0.5),
    p90Ms: quantile(asArray, 0.9),
    p99Ms: quantile(asArray, 0.99),
    p999Ms: quantile(asArray, 0.999),
    maxMs: quantile(asArray, 1),
    errors: raw.errors,
    ...(raw.firstError === undefined ? {} : { firstError: raw.firstError }),
    ...(raw.committedByProcess === undefined
      ? {}
      : { shares: raw.committedByProcess.map((n) => (raw.committed > 0 ? n / raw.committed : Number.NaN)) }),
  };
}
