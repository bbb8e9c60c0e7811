/**
 * Lock writes that must reach replicas before they count: a lock script, then `WAIT` on the same
 * connection in the same write, so a failover cannot promote a replica that lacks the lock (the
 * opt-in `replication` option).
 */
import type { ScriptClient } from '../connection/connection.js';
import { isErrorReply } from '../connection/node-redis-errors.js';
import { LockUnavailableError } from '../errors/lock-errors.js';
import { noop } from '../util/noop.js';
import type { LuaScript } from './scripts.js';

/** Replicas that must acknowledge a lock write (an acquisition, a renewal) before it counts. */
export interface LockReplication {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/** A lock script's reply, and how many replicas had acknowledged it when WAIT answered. */
export interface ReplicatedReply {
  readonly reply: unknown;
  readonly replicatedTo: number;
}

/**
 * Runs `lua` by SHA and `WAIT replicas timeoutMs` right behind it on the same connection (loading
 * the script with EVAL, again followed by WAIT, on a miss). A WAIT that fails (an ACL without
 * `+wait`, a lost connection after the script ran) counts no replica.
 */
export async function runScriptReplicated(
  client: ScriptClient,
  lua: LuaScript,
  keys: readonly string[],
  args: readonly string[],
  replication: LockReplication,
): Promise<ReplicatedReply> {
  const tail = [String(keys.length), ...keys, ...args];
  const wait = ['WAIT', String(replication.replicas), String(replication.timeoutMs)];
  const together = (script: readonly string[]): [Promise<unknown>, Promise<number>] => {
    const both = client.sendTogether
      ? client.sendTogether([script, wait], keys[0]!)
      : Promise.allSettled([client.sendCommand(script), client.sendCommand(wait)]);
    const reply = both.then(([r]) => (r!.status === 'fulfilled' ? r!.value : Promise.reject(r!.reason)));
    // The script's error is the caller's; WAIT's only means "no replica is known to have it".
    const replicatedTo = both.then(([, w]) => (w!.status === 'fulfilled' ? Number(w!.value) || 0 : 0), () => 0);
    return [reply, replicatedTo];
  };
  const [reply, replicatedTo] = together(['EVALSHA', lua.sha, ...tail]);
  try {
    return { reply: await reply, replicatedTo: await replicatedTo };
  } catch (err) {
    replicatedTo.catch(noop);
    if (!isErrorReply(err) || !err.message.startsWith('NOSCRIPT')) throw err;
    const [loaded, loadedTo] = together(['EVAL', lua.source, ...tail]);
    return { reply: await loaded, replicatedTo: await loadedTo };
  }
}

/** The `reason` of a {@link notReplicated} error. */
export const notReplicatedReason = 'replication';

/** A lock write that fewer replicas than required acknowledged: it does not count. */
export function notReplicated(resources: readonly string[], what: string, replicatedTo: number, replication: LockReplication): LockUnavailableError {
  return new LockUnavailableError(
    resources,
    notReplicatedReason,
    `${what} reached ${replicatedTo} of the ${replication.replicas} replicas required within ${replication.timeoutMs} ms`,
  );
}
