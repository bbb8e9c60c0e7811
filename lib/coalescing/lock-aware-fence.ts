/**
 * Auto mode's optimistic attempt, aware of the lock: the lane gives one to each attempt of an
 * auto-mode call that runs without the lane's lock.
 */
import type { DedicatedConnection } from '../connection/connection.js';
import { noop } from '../util/noop.js';
import type { Fence, FenceVerdict } from './fence.js';

/**
 * The lock keys are watched and read with the first reads (no extra round trip), so an attempt
 * that finds them held by another process gives way instead of competing, and one in flight when
 * the lock is taken aborts on the watched key.
 */
export class LockAwareFence implements Fence {
  readonly mode = 'optimistic' as const;
  readonly #watchKeys: readonly string[];
  readonly #serverKeys: readonly string[];
  #holders: Promise<unknown> | undefined;

  /**
   * @param watchKeys - the lock keys as the client names keys (it adds its prefix to WATCH)
   * @param serverKeys - the same keys as they are on the server (read raw)
   */
  constructor(watchKeys: readonly string[], serverKeys: readonly string[]) {
    this.#watchKeys = watchKeys;
    this.#serverKeys = serverKeys;
  }

  begin(): readonly string[] {
    return this.#watchKeys;
  }

  probe(connection: DedicatedConnection): void {
    this.#holders = connection.sendCommand(['MGET', ...this.#serverKeys]);
    this.#holders.catch(noop);
  }

  async check(): Promise<FenceVerdict> {
    const holders = (await this.#holders) as unknown[];
    return holders.some((holder) => holder !== null) ? 'give-way' : 'go';
  }

  trailer(): undefined {
    return undefined;
  }

  trailerEnded(): Promise<void> {
    return Promise.resolve();
  }

  afterConflict(): Promise<undefined> {
    return Promise.resolve(undefined);
  }
}
