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
  /** Per key, the sequence number of the latest EXEC this transactor sent that wrote under it. */
  readonly #execs = new Map<string, number>();
  #sequence = 0;
  /** Set once a call asks for a mark: until then (no auto-mode call yet) EXECs are not recorded. */
  #recording = false;
  readonly #host;

  constructor(options: LanesOptions) {
    this.#host = {
      backend: options.backend,
      holdEnded: options.holdEnded ?? (() => {}),
      background: (work: Promise<void>) => {
        this.#background.add(work);
        const done = () => this.#background.delete(work);
        work.then(done, done); // handled: a failed release has nobody left to tell
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

  /** A mark to compare later EXECs of this transactor against (see {@link Lanes.execSinceOn}). */
  mark(): number {
    this.#recording = true;
    return this.#sequence;
  }

  /** An EXEC guarded by `keys` is on the wire. */
  execSent(keys: readonly string[]): void {
    if (!this.#recording) return;
    // A bounded memory: forgetting only makes a later conflict look like another process's.
    if (this.#execs.size > 100_000) this.#execs.clear();
    const sequence = ++this.#sequence;
    for (const key of keys) this.#execs.set(key, sequence);
  }

  /**
   * Whether another EXEC of this transactor on any of `keys` went out after `mark`: a conflict
   * since then may be this process's own doing (overlapping key sets run in different lanes).
   */
  execSinceOn(keys: readonly string[], mark: number): boolean {
    return keys.some((key) => (this.#execs.get(key) ?? 0) > mark);
  }

  /** Waits for the releases lanes started after their calls settled (each bounded). */
  async drain(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }
}
