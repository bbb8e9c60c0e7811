/**
 * Drives one cell in this process: `concurrency` async workers loop operations through a
 * contender, first for the warm-up (not recorded), then for the measured window.
 */
import { emptyStats, opPhase, type RawStats, recordError, recordOp, windowQuarter } from './measure.js';
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

/**
 * Runs the workers and returns what they recorded. Ops still in flight when the window closes are
 * awaited (the drain) and timed to their end: they count toward the slowest call, not toward ops/s.
 * Rejects only if workers outlive the drain time.
 */
export async function driveCell(contender: ContenderCell, cell: WorkloadCell, concurrency: number, schedule: CellSchedule): Promise<RawStats> {
  const [stats] = await driveSides([contender], () => 0, cell, concurrency, schedule);
  return stats!;
}

/** How long each side of a paired cell runs before the other takes over, ms (less when the window is shorter than two slices). */
export const PAIR_SLICE_MS = 100;

/** Which side of a paired cell runs `elapsedMs` after its start: 0 in even slices, 1 in odd ones. */
export function pairedSide(elapsedMs: number, sliceMs: number): 0 | 1 {
  return Math.floor(Math.max(0, elapsedMs) / sliceMs) % 2 === 0 ? 0 : 1;
}

/** How much of `[fromMs, toMs)` (ms after a paired cell's start) belongs to each side's slices. */
export function pairedSideTimeMs(fromMs: number, toMs: number, sliceMs: number): [number, number] {
  const time: [number, number] = [0, 0];
  for (let slice = Math.floor(fromMs / sliceMs); slice * sliceMs < toMs; slice++) {
    const overlap = Math.min(toMs, (slice + 1) * sliceMs) - Math.max(fromMs, slice * sliceMs);
    if (overlap > 0) time[slice % 2 === 0 ? 0 : 1] += overlap;
  }
  return time;
}

/**
 * Drives one paired cell: the same `concurrency` workers on the same workload cell, switching all
 * together between `sides[0]` and `sides[1]` every `sliceMs` (warm-up included), so that both sides
 * share whatever the machine does meanwhile. An op belongs to the side whose slice it started in;
 * each side's ops count as in `driveCell`. Rejects only if workers outlive the drain time.
 *
 * The sides never overlap: at a switch, a worker starts its first op of the new side only once the
 * old side's last ops have ended. Two transactors on one hot key would otherwise conflict at every
 * switch, as two processes do, and the cell would measure that (auto mode's side escalating) rather
 * than what each side costs.
 */
export async function drivePairedCell(
  sides: readonly [ContenderCell, ContenderCell],
  cell: WorkloadCell,
  concurrency: number,
  schedule: CellSchedule,
  sliceMs: number,
): Promise<[RawStats, RawStats]> {
  const [plain, other] = await driveSides(sides, (elapsedMs) => pairedSide(elapsedMs, sliceMs), cell, concurrency, schedule);
  return [plain!, other!];
}

/**
 * The workers of a cell: each loops ops until the window closes, on the side `sideAt` names for
 * the moment the op starts (ms after the cell's start), recording it in that side's stats.
 */
async function driveSides(
  sides: readonly ContenderCell[],
  sideAt: (elapsedMs: number) => number,
  cell: WorkloadCell,
  concurrency: number,
  schedule: CellSchedule,
): Promise<RawStats[]> {
  const stats = sides.map(() => emptyStats());
  // Epoch → performance clock, once: the window is then measured with the monotonic clock.
  const perfStart = performance.now() + (schedule.startAt - Date.now());
  const windowStart = perfStart + schedule.warmupMs;
  const windowEnd = windowStart + schedule.durationMs;
  const delay = Math.max(0, perfStart - performance.now());
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));

  const switches = new SideSwitches(sides.length);
  async function worker(index: number): Promise<void> {
    for (let started = performance.now(); started < windowEnd; started = performance.now()) {
      let side = sideAt(started - perfStart);
      if (!switches.enter(side)) {
        await switches.othersEnded(side);
        started = performance.now();
        if (started >= windowEnd) return;
        side = sideAt(started - perfStart);
        if (!switches.enter(side)) continue;
      }
      const op = cell.nextOp();
      try {
        const result = await sides[side]!.run(op, index);
        const ended = performance.now();
        recordOp(stats[side]!, result, ended - started, opPhase(ended, windowStart, windowEnd), windowQuarter(ended, windowStart, windowEnd));
      } catch (err) {
        recordError(stats[side]!, err);
        return; // an unexpected error fails the cell; looping on it would only repeat it
      } finally {
        switches.leave(side);
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

/** Keeps the sides of a paired cell apart: ops of one side run only while none of another side does. */
class SideSwitches {
  readonly #running: number[];
  #ended: Array<() => void> = [];

  constructor(sides: number) {
    this.#running = Array.from({ length: sides }, () => 0);
  }

  /** Counts an op of `side` as running, unless another side still has ops running. */
  enter(side: number): boolean {
    if (this.#running.some((n, s) => s !== side && n > 0)) return false;
    this.#running[side]!++;
    return true;
  }

  leave(side: number): void {
    if (--this.#running[side]! > 0) return;
    const waiting = this.#ended;
    this.#ended = [];
    for (const wake of waiting) wake();
  }

  /** Resolves once no side other than `side` has ops running. */
  async othersEnded(side: number): Promise<void> {
    while (this.#running.some((n, s) => s !== side && n > 0)) await new Promise<void>((resolve) => this.#ended.push(resolve));
  }
}
