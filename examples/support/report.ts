/** Console output for the examples: a progress line and small summaries. */

/**
 * Shows progress without flooding logs: on a terminal one line redrawn in place, otherwise a line
 * at each tenth of the work.
 */
export class Progress {
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

  tick(): void {
    this.#done++;
    const tenth = Math.floor((this.#done * 10) / this.#total);
    if (this.#tty) {
      const now = performance.now();
      if (now - this.#lastDraw < 100 && this.#done < this.#total) return;
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
    return `${this.#done}/${this.#total} done (${Math.round((this.#done * 100) / this.#total)}%) · ${this.#detail()}`;
  }
}

/** `1×: 180, 2×: 15, 3-4×: 5` — how many calls took how many attempts. */
export function attemptHistogram(attempts: readonly number[]): string {
  if (attempts.length === 0) return 'none';
  const buckets = new Map<string, number>();
  for (const n of attempts) {
    const label = n <= 2 ? `${n}×` : `${2 ** Math.ceil(Math.log2(n)) / 2 + 1}-${2 ** Math.ceil(Math.log2(n))}×`;
    buckets.set(label, (buckets.get(label) ?? 0) + 1);
  }
  const sorted = [...attempts].sort((a, b) => a - b);
  const mean = attempts.reduce((a, b) => a + b, 0) / attempts.length;
  const parts = [...buckets].sort(([a], [b]) => parseInt(a) - parseInt(b)).map(([k, v]) => `${k}: ${v}`);
  return `${parts.join(', ')} (mean ${mean.toFixed(2)}, max ${sorted[sorted.length - 1]})`;
}

/** Operations per second, rounded for display. */
export function formatRate(count: number, elapsedMs: number): string {
  return Math.round((count * 1000) / elapsedMs).toLocaleString('en-US');
}
