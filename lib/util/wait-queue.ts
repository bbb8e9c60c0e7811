import { STOPPED } from './stopped.js';

/** A waiter taken off a {@link WaitQueue}, to be served once what it waits for is ready. */
export interface QueuedWaiter<T> {
  /** Serves it. Returns false when it gave up since it was taken off (the value is still yours). */
  resolve(value: T): boolean;
  /** Fails it (no-op when it gave up). */
  reject(err: unknown): void;
}

interface Entry<T> {
  resolve(value: T): void;
  reject(err: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
}

/**
 * Waiters served first come, first served, each of which may give up when its signal aborts: it
 * then leaves the queue and rejects with {@link STOPPED}. The lanes' turns and the connection
 * pool's leases both wait here.
 */
export class WaitQueue<T> {
  readonly #entries: Entry<T>[] = [];

  /** How many wait. */
  get length(): number {
    return this.#entries.length;
  }

  /** Waits for a value; rejects with {@link STOPPED} once `signal` aborts first. */
  wait(signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(STOPPED);
    return new Promise<T>((resolve, reject) => {
      const entry: Entry<T> = { resolve, reject, signal, onAbort: undefined, settled: false };
      if (signal) {
        entry.onAbort = () => {
          const index = this.#entries.indexOf(entry);
          if (index >= 0) this.#entries.splice(index, 1);
          entry.settled = true;
          reject(STOPPED);
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.#entries.push(entry);
    });
  }

  /** Takes the first waiter off the queue, or `undefined` when none waits. */
  shift(): QueuedWaiter<T> | undefined {
    const entry = this.#entries.shift();
    if (!entry) return undefined;
    // It may still give up until it is served (its value may take a while: a connection opening).
    const done = (): boolean => {
      if (entry.settled) return false;
      entry.settled = true;
      if (entry.onAbort) entry.signal!.removeEventListener('abort', entry.onAbort);
      return true;
    };
    return {
      resolve: (value) => done() && (entry.resolve(value), true),
      reject: (err) => void (done() && entry.reject(err)),
    };
  }

  /** Fails every waiter with `err`. */
  failAll(err: unknown): void {
    for (let waiter = this.shift(); waiter; waiter = this.shift()) waiter.reject(err);
  }
}
