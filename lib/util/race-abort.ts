import { noop } from './noop.js';

/**
 * Settles like `work`, or rejects with `stopped` as soon as `signal` aborts, whichever is first.
 * `work` always gets a handler: a race it loses never leaves its rejection unhandled. What it
 * resolves to after losing goes to `abandoned` (a connection opened too late is closed, not leaked).
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal, stopped: unknown, abandoned: (late: T) => void = noop): Promise<T> {
  const lost = () => void work.then(abandoned, noop);
  if (signal.aborted) {
    lost();
    return Promise.reject(stopped);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      lost();
      reject(stopped);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
