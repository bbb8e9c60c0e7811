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

/**
 * {@link raceAbort} against `signal` and a timer of `ms` milliseconds (`Infinity`: none), whichever
 * comes first: a command to a server that stalls (or a network that drops every byte) must not
 * hold a wait that has a deadline. Without either, `work` as it is. (A plain timer, not
 * `AbortSignal.timeout`: this runs once per lock acquisition.)
 */
export function raceAbortWithin<T>(
  work: Promise<T>,
  bound: { readonly signal: AbortSignal | undefined; readonly ms: number },
  stopped: unknown,
  abandoned: (late: T) => void = noop,
): Promise<T> {
  if (!Number.isFinite(bound.ms)) return bound.signal ? raceAbort(work, bound.signal, stopped, abandoned) : work;
  const timer = new AbortController();
  const handle = setTimeout(() => timer.abort(), Math.max(0, Math.ceil(bound.ms)));
  handle.unref();
  const signal = bound.signal ? AbortSignal.any([bound.signal, timer.signal]) : timer.signal;
  const raced = raceAbort(work, signal, stopped, abandoned);
  const clear = () => clearTimeout(handle);
  raced.then(clear, clear);
  return raced;
}
