/**
 * The rounds of the multi-process run: every contender once per round, interleaved, so that each
 * round's cells share the machine's state of the moment. Tables show each contender's median round;
 * ratios are taken within a round, never across rounds.
 */
import type { ContenderName } from '../types.js';
import { formatRatio } from './format.js';
import type { CellRecord } from './results.js';

/**
 * A contender's median round among `cells` (its cells of every round): the one with the median
 * ops/s, the lower of the two middle ones for an even count (a real round, not an average, so its
 * every column comes from one cell). Unavailable or failed-to-measure cells sort first. Undefined
 * when `cells` is empty.
 */
export function medianRound(cells: readonly CellRecord[]): CellRecord | undefined {
  const sorted = [...cells].sort((a, b) => (a.stats?.opsPerSec ?? -1) - (b.stats?.opsPerSec ?? -1));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Each contender's median round, in the order of the first round. */
export function medianCells(rounds: ReadonlyArray<readonly CellRecord[]>): CellRecord[] {
  const names = (rounds[0] ?? []).map((c) => c.contender);
  return names.flatMap((name) => {
    const median = medianRound(rounds.flatMap((round) => round.filter((c) => c.contender === name)));
    return median ? [median] : [];
  });
}

/** The median of `values` (the mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length / 2;
  return sorted.length % 2 === 1 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One ratio of the multi-process ratios table: `numerator`'s metric ÷ `denominator`'s, in the same round. */
export interface RoundRatio {
  readonly numerator: ContenderName;
  readonly denominator: ContenderName;
  readonly metric: 'ops/s' | 'p99';
}

/** The ratios the multi-process run is judged by. */
export const ROUND_RATIOS: readonly RoundRatio[] = [
  { numerator: 'transact-auto', denominator: 'transact-optimistic', metric: 'ops/s' },
  { numerator: 'transact-lock', denominator: 'transact-optimistic', metric: 'ops/s' },
  { numerator: 'transact-lock', denominator: 'npm-lock', metric: 'ops/s' },
  { numerator: 'transact-auto', denominator: 'transact-optimistic', metric: 'p99' },
];

/** `ratio` in one round, or NaN when a side is missing, unavailable or has nothing to divide by. */
export function roundRatio(round: readonly CellRecord[], ratio: RoundRatio): number {
  const value = (name: ContenderName) => {
    const stats = round.find((c) => c.contender === name)?.stats;
    if (!stats) return Number.NaN;
    return ratio.metric === 'ops/s' ? stats.opsPerSec : stats.p99Ms;
  };
  const num = value(ratio.numerator);
  const den = value(ratio.denominator);
  return Number.isFinite(num) && den > 0 ? num / den : Number.NaN;
}

/** `1.23×`, or `–` for NaN. */
function formatValue(r: number): string {
  return Number.isFinite(r) ? formatRatio(r, 1) : '–';
}

/**
 * The ratios table as markdown lines: one row per ratio of `ROUND_RATIOS`, one column per round,
 * and the median of the rounds' ratios with their min–max. Empty when no ratio could be taken
 * (e.g. a run without those contenders).
 */
export function ratiosTable(rounds: ReadonlyArray<readonly CellRecord[]>): string[] {
  const rows = ROUND_RATIOS.map((ratio) => ({ ratio, values: rounds.map((round) => roundRatio(round, ratio)) }));
  if (!rows.some((r) => r.values.some(Number.isFinite))) return [];
  const header = `| ratio | ${rounds.map((_, i) => `round ${i + 1}`).join(' | ')} | median (min–max) |`;
  const lines = [header, `| --- | ${rounds.map(() => '--:').join(' | ')} | --: |`];
  for (const { ratio, values } of rows) {
    const known = values.filter(Number.isFinite);
    const summary =
      known.length === 0 ? '–' : `${formatValue(median(known))} (${formatValue(Math.min(...known)).slice(0, -1)}–${formatValue(Math.max(...known))})`;
    lines.push(`| ${ratio.numerator} ÷ ${ratio.denominator} ${ratio.metric} | ${values.map(formatValue).join(' | ')} | ${summary} |`);
  }
  return lines;
}
