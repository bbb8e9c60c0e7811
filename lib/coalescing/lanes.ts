/**
 * The lanes of one transactor, by key set: the engine asks for the lane of each attempt's keys.
 */
import type { SingleNodeBackend } from '../lock/single-node-backend.js';
import type { LockWaitOutcome } from '../observability/events.js';
import type { KeySet } from '../validation/key-set.js';
import { Lane, type LaneHost } from './lane.js';
import { DEFAULT_BURST_MS } from './lane-lock.js';
import { noop } from '../util/noop.js';

/** What the lanes of a transactor are built on. */
export interface LanesOptions {
  /** Where lane locks live (opened on first use). */
  readonly backend: () => SingleNodeBackend;
  /** A lane's hold of its lock ended; `contended`: it waited, or another process waited for it. */
  readonly holdEnded?: (keySet: KeySet, contended: boolean) => void;
  /** A transaction waited for its lane's lock, held elsewhere (see `onLockWait`). */
  readonly lockWaited?: (keySet: KeySet, waitedMs: number, outcome: LockWaitOutcome) => void;
  /** How long (ms) a lane keeps its lock once a waiter from elsewhere is seen ({@link DEFAULT_BURST_MS}). */
  readonly burstMs?: number;
}

/**
 * A lane lives while transactions use it, so the map only holds the key sets in flight; one lane
 * serves exactly one key set (by its exact identity).
 */
export class Lanes {
  readonly #lanes = new Map<string, Lane>();
  readonly #host: LaneHost;

  constructor(options: LanesOptions) {
    this.#host = {
      backend: options.backend,
      holdEnded: options.holdEnded ?? noop,
      lockWaited: options.lockWaited ?? noop,
      burstMs: options.burstMs ?? DEFAULT_BURST_MS,
    };
  }

  /** The lane of transactions on exactly these keys (order does not matter). */
  laneFor(keySet: KeySet): Lane {
    let lane = this.#lanes.get(keySet.id);
    if (!lane) {
      const created = new Lane(keySet, this.#host, () => {
        if (this.#lanes.get(keySet.id) === created) this.#lanes.delete(keySet.id);
      });
      lane = created;
      this.#lanes.set(keySet.id, lane);
    }
    return lane;
  }
}
