/** Number formatting shared by the markdown and SVG reports. */

/** `12,345` ops/s; `0.4` below 10 so a crawl does not read as zero. */
export function formatOps(opsPerSec: number): string {
  if (opsPerSec < 10) return opsPerSec.toFixed(1);
  return Math.round(opsPerSec).toLocaleString('en-US');
}

/** `1.23×`, or `–` when there is nothing to compare with. */
export function formatRatio(value: number, base: number | undefined): string {
  if (base === undefined || !(base > 0)) return '–';
  const r = value / base;
  if (r >= 10) return `${r.toFixed(1)}×`;
  // Two significant digits below 0.1, so that 0.004× does not read as 0.00×.
  return `${r >= 0.1 || r === 0 ? r.toFixed(2) : r.toPrecision(2)}×`;
}

/** Milliseconds with about three significant digits; `–` when there were no samples. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms >= 100) return Math.round(ms).toLocaleString('en-US');
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

/** Axis label for ops/s: 500, 2k, 10k, 1.5M. */
export function formatAxis(value: number): string {
  if (value >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (value >= 1e3) return `${+(value / 1e3).toFixed(1)}k`;
  return String(+value.toFixed(1));
}

/**
 * Shares (0..1, summing to 1) as whole percentages that add up to exactly 100 (largest remainder),
 * joined by `/`: `26/24/25/25`. `–` when a share is unknown (nothing committed).
 */
export function formatShares(shares: readonly number[]): string {
  if (shares.length === 0 || !shares.every(Number.isFinite)) return '–';
  const exact = shares.map((s) => s * 100);
  const whole = exact.map(Math.floor);
  let left = 100 - whole.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((e, i) => ({ i, r: e - whole[i]! })).sort((a, b) => b.r - a.r);
  for (const { i } of byRemainder) {
    if (left <= 0) break;
    whole[i]!++;
    left--;
  }
  return whole.join('/');
}
