import type { SingleNodeBackend } from '../lock/single-node-backend.js';
import { keySetId } from './key-set.js';
import { Lane } from './lane.js';

/** What the lanes of a transactor are built on. @internal */
export interface LanesOptions {
  /** Where lane locks live (opened on first use). */
  readonly backend: () => SingleNodeBackend;
  /** A lane's hold of its lock ended; `contended`: it waited, or another process waited for it. */
  readonly holdEnded?: (keys: readonly string[], contended: boolean) => void;
}

/**
 * The lanes of one transactor, by key set. A lane lives while transactions use it, so the map
 * only holds the key sets in flight.
 * @internal
 */
export class Lanes {
  readonly #lanes = new Map<string, Lane>();
  readonly #background = new Set<Promise<void>>();
  readonly #host;

  constructor(options: LanesOptions) {
    this.#host = {
      backend: options.backend,
      holdEnded: options.holdEnded ?? (() => {}),
      background: (work: Promise<void>) => {
        this.#background.add(work);
        void work.finally(() => this.#background.delete(work));
      },
    };
  }

  /** The lane of transactions on exactly these keys (order does not matter). */
  laneFor(keys: readonly string[]): Lane {
    const id = keySetId(keys);
    let lane = this.#lanes.get(id);
    if (!lane) {
      const created = new Lane(keys, this.#host, () => {
        if (this.#lanes.get(id) === created) this.#lanes.delete(id);
      });
      lane = created;
      this.#lanes.set(id, lane);
    }
    return lane;
  }

  /** Waits for the releases lanes started after their calls settled (each bounded). */
  async drain(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }
}
