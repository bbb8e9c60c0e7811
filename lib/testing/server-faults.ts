/**
 * The faults themselves, done for real on the call's own server: a write by another connection,
 * a lease that runs out, a connection dropped with its EXEC. Nothing here fakes a reply.
 */
import type { ScriptClient } from '../connection/connection.js';
import { sleep } from '../retry/sleep.js';

/**
 * Rewrites a key with its own value and TTL (or creates and deletes a missing one) in one script:
 * every WATCH on it fires, and its data is what it was. DUMP/RESTORE keeps any type.
 */
const TOUCH = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then
  redis.call('SET', KEYS[1], '')
  redis.call('DEL', KEYS[1])
  return 0
end
local dump = redis.call('DUMP', KEYS[1])
redis.call('RESTORE', KEYS[1], ttl > 0 and ttl or 0, dump, 'REPLACE')
return 1
`;

/** The longest remaining lease among KEYS, in ms: -2 when none is held, -1 when one never expires. */
const LONGEST_LEASE = `
local longest = -2
for _, key in ipairs(KEYS) do
  local ttl = redis.call('PTTL', key)
  if ttl == -1 then return -1 end
  if ttl > longest then longest = ttl end
end
return longest
`;

/** Ends the lease of the holder whose token is ARGV[1]: its lock keys go, as when they expire. */
const END_LEASE = `
local ended = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('DEL', key)
    ended = ended + 1
  end
end
return ended
`;

/** A watched key changes under the attempt: `serverKey` as the server names it. */
export async function touchKey(side: ScriptClient, serverKey: string): Promise<void> {
  await side.sendCommand(['EVAL', TOUCH, '1', serverKey]);
}

/**
 * Waits until the lease on `serverLockKeys` has run out on the server. The holder's own clock
 * counts its lease as over no later than the server does, so it finds it lost too.
 */
export async function waitOutLease(side: ScriptClient, serverLockKeys: readonly string[], signal: AbortSignal | undefined): Promise<void> {
  for (;;) {
    const left = Number(await side.sendCommand(['EVAL', LONGEST_LEASE, String(serverLockKeys.length), ...serverLockKeys]));
    if (left === -2) return;
    if (left === -1) throw new Error(`the lock keys ${serverLockKeys.join(', ')} have no lease to run out`);
    await sleep(Math.max(1, left), signal);
  }
}

/** Ends the lease of `token` on `serverLockKeys` now. Resolves to whether it was still held. */
export async function endLease(side: ScriptClient, serverLockKeys: readonly string[], token: string): Promise<boolean> {
  return Number(await side.sendCommand(['EVAL', END_LEASE, String(serverLockKeys.length), ...serverLockKeys, token])) > 0;
}

/** Resolves once `signal` aborts (the call's deadline or the caller's signal). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
