import { performance } from 'node:perf_hooks';
import { isPermanentReply } from '../connection/errors.js';
import { sleep } from '../retry/sleep.js';
import { noop } from '../util/noop.js';
import { withTimeout } from '../util/time-bounds.js';
import type { LockBackend } from './lock-backend.js';

/** Pause between tries of a release that got no answer. */
const RELEASE_RETRY_MS = 20;

/**
 * Releases what `token` holds on `resources` (never another holder's lock), trying again until
 * `withinMs` has passed when no answer came (the lock connection was cut and is reconnecting, the
 * server is restarting): one lost reply must not leave a lock held for a whole lease. A refusal
 * from Redis (NOPERM...) will not change by trying again. Never rejects.
 * @internal
 */
export async function releaseWithin(backend: Pick<LockBackend, 'release'>, resources: readonly string[], token: string, withinMs: number): Promise<void> {
  const until = performance.now() + withinMs;
  for (;;) {
    const left = until - performance.now();
    if (left <= 0) return;
    try {
      await withTimeout(backend.release(resources, token), left);
      return;
    } catch (err) {
      if (isPermanentReply(err)) return;
      await sleep(Math.min(RELEASE_RETRY_MS, Math.max(0, until - performance.now()))).catch(noop);
    }
  }
}
