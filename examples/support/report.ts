/** Console output for the examples: progress lines, summaries and a small chart. */
import type { BuyerTally } from './buyers.js';

/** What one process of the inventory example has done so far. */
export interface Progress {
  done: number;
  total: number;
  bought: number;
  soldOut: number;
  failed: number;
}

/** A process's progress from its tally. */
export function progressOf(tally: BuyerTally, total: number): Progress {
  const { bought, 'sold-out': soldOut, 'already-recorded': again, failed } = tally.outcomes;
  return { done: bought + soldOut + again + failed, total, bought: bought + again, soldOut, failed };
}

/** `sold 50/50 · turned away 70 · p1 30/50 p2 31/50 …`: what changed since the last line, and where. */
export function progressDetail(processes: readonly Progress[], stock: number): string {
  const sum = (field: keyof Progress) => processes.reduce((total, p) => total + p[field], 0);
  const parts = [`sold ${sum('bought')}/${stock}`, `turned away ${sum('soldOut')}`];
  if (sum('failed') > 0) parts.push(`gave up ${sum('failed')}`);
  if (processes.length > 1) parts.push(processes.map((p, i) => `p${i + 1} ${p.done}/${p.total}`).join(' '));
  return parts.join(' · ');
}

/**
 * Shows progress without flooding logs: on a terminal one line redrawn in place (at most every
 * 100 ms), otherwise a line at each tenth of the work.
 */
export class ProgressLine {
  readonly #total: number;
  readonly #detail: () => string;
  readonly #tty = Boolean(process.stdout.isTTY);
  #done = 0;
  #lastTenth = 0;
  #lastDraw = 0;

  constructor(total: number, detail: () => string) {
    this.#total = total;
    this.#detail = detail;
  }

  /** `done` of the total are done now. */
  update(done: number): void {
    this.#done = done;
    const tenth = Math.floor((done * 10) / this.#total);
    if (this.#tty) {
      const now = performance.now();
      if (now - this.#lastDraw < 100 && done < this.#total) return;
      this.#lastDraw = now;
      process.stdout.write(`\r  ${this.#line()}   `);
    } else if (tenth > this.#lastTenth) {
      this.#lastTenth = tenth;
      console.log(`  ${this.#line()}`);
    }
  }

  done(): void {
    if (this.#tty) process.stdout.write('\n');
  }

  #line(): string {
    return `${this.#done}/${this.#total} (${Math.round((this.#done * 100) / this.#total)}%) · ${this.#detail()}`;
  }
}

/** The attempt buckets the summaries use: 1, 2, 3-4, 5-8, 9-16… */
function bucketOf(attempts: number): string {
  return attempts <= 2 ? `${attempts}×` : `${2 ** Math.ceil(Math.log2(attempts)) / 2 + 1}-${2 ** Math.ceil(Math.log2(attempts))}×`;
}

/** `1×: 180, 2×: 15, 3-4×: 5 (mean 1.13, max 4)`: how many calls took how many attempts. */
export function attemptHistogram(attempts: readonly number[]): string {
  if (attempts.length === 0) return 'none';
  const buckets = countBuckets(attempts);
  const mean = attempts.reduce((a, b) => a + b, 0) / attempts.length;
  const parts = [...buckets].map(([k, v]) => `${k}: ${v}`);
  return `${parts.join(', ')} (mean ${mean.toFixed(2)}, max ${Math.max(...attempts)})`;
}

function countBuckets(attempts: readonly number[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of [...attempts].sort((a, b) => a - b)) counts.set(bucketOf(n), (counts.get(bucketOf(n)) ?? 0) + 1);
  return counts;
}

/** Widest bar of {@link attemptsChart}, in characters. */
const BAR_WIDTH = 40;

/**
 * How many attempts the purchases took, per process, as bars: contention shows at a glance (one
 * process's purchases all at 1×, another's spread to 5-8×).
 *
 * ```text
 * attempts per purchase
 *   p1 1×    ████████████████████████████████████████ 46
 *      2×    ███ 3
 *   p2 1×    ██████████████████████████████ 35
 *      3-4×  █████ 6
 * ```
 */
export function attemptsChart(perProcess: ReadonlyArray<readonly number[]>): string[] {
  const counted = perProcess.map(countBuckets);
  const most = Math.max(1, ...counted.flatMap((buckets) => [...buckets.values()]));
  const lines = ['attempts per purchase' + (perProcess.length > 1 ? ', by process' : '')];
  counted.forEach((buckets, i) => {
    const name = perProcess.length > 1 ? `p${i + 1}` : '';
    let first = true;
    for (const [bucket, count] of buckets) {
      const bar = '█'.repeat(Math.max(1, Math.round((count * BAR_WIDTH) / most)));
      lines.push(`  ${(first ? name : '').padEnd(3)} ${bucket.padEnd(6)} ${bar} ${count}`);
      first = false;
    }
    if (buckets.size === 0) lines.push(`  ${name.padEnd(3)} (no purchase went through)`);
  });
  return lines;
}

/** Operations per second, rounded for display. */
export function formatRate(count: number, elapsedMs: number): string {
  return Math.round((count * 1000) / elapsedMs).toLocaleString('en-US');
}
