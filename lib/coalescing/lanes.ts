import { keySetId } from './key-set.js';
import { Lane } from './lane.js';

/**
 * The lanes of one transactor, by key set. A lane lives while transactions use it, so the map
 * only holds the key sets in flight.
 * @internal
 */
export class Lanes {
  readonly #lanes = new Map<string, Lane>();

  /** The lane of transactions on exactly these keys (order does not matter). */
  laneFor(keys: readonly string[]): Lane {
    const id = keySetId(keys);
    let lane = this.#lanes.get(id);
    if (!lane) {
      const created = new Lane(() => {
        if (this.#lanes.get(id) === created) this.#lanes.delete(id);
      });
      lane = created;
      this.#lanes.set(id, lane);
    }
    return lane;
  }
}
