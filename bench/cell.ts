/**
 * Drives one cell in this process: `concurrency` async workers loop operations through a
 * contender, first for the warm-up (not recorded), then for the measured window.
 */
import { emptyStats, type RawStats, recordError, recordOp } from './measure.js';
import type { ContenderCell, WorkloadCell } from './types.js';

/** When a cell's phases happen. */
export interface CellSchedule {
  /** When the warm-up starts, as a `Date.now()` epoch: shared by the processes of a multi-process run. */
  readonly startAt: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** How long workers may take, after the window, to finish the op they are in (a give-up can take seconds). */
  readonly drainMs: number;
}

/** Runs the workers and returns what they recorded. Rejects only if workers outlive the drain time. */
export async function driveCell(contender: ContenderCell, cell: WorkloadCell, concurrency: number, schedule: CellSchedule): Promise<RawStats> {
  const stats = emptyStats();
  // Epoch → performance clock, once: the window is then measured with the monotonic clock.
  const perfStart = performance.now() + (schedule.startAt - Date.now());
  const windowStart = perfStart + schedule.warmupMs;
  const windowEnd = windowStart + schedule.durationMs;
  const delay = Math.max(0, perfStart - performance.now());
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));

  async function worker(index: number): Promise<void> {
    while (performance.now() < windowEnd) {
      const op = cell.nextOp();
      const started = performance.now();
      try {
        const result = await contender.run(op, index);
        const ended = performance.now();
        recordOp(stats, result, ended - started, ended >= windowStart && ended <= windowEnd);
      } catch (err) {
        recordError(stats, err);
        return; // an unexpected error fails the cell; looping on it would only repeat it
      }
    }
  }

  const workers = Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
  let timer: NodeJS.Timeout | undefined;
  const overrun = new Promise<never>((_, reject) => {
    const limit = windowEnd - performance.now() + schedule.drainMs;
    timer = setTimeout(() => reject(new Error(`workers still busy ${schedule.drainMs} ms after the window closed`)), limit);
  });
  try {
    await Promise.race([workers, overrun]);
  } finally {
    clearTimeout(timer);
  }
  return stats;
}
