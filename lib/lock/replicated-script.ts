/**
 * Lock writes that must reach replicas before they count: a lock script, then `WAIT` on the same
 * connection in the same write, so a failover cannot promote a replica that lacks the lock (the
 * opt-in `replication` option).
 */
import type { ScriptClient } from '../connection/connection.js';
import { isErrorReply } from '../connection/errors.js';
import { LockUnavailableError } from '../errors/lock-errors.js';
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
  /** Why WAIT gave no count (NOPERM without `+wait`, a lost connection), when it failed. */
  readonly waitError?: unknown;
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
  const together = async (script: readonly string[]): Promise<ReplicatedReply> => {
    const [r, w] = await (client.sendTogether
      ? client.sendTogether([script, wait], keys[0]!)
      : Promise.allSettled([client.sendCommand(script), client.sendCommand(wait)]));
    if (r!.status === 'rejected') throw r!.reason;
    // The script's error is the caller's; WAIT's only means "no replica is known to have it".
    if (w!.status === 'rejected') return { reply: r!.value, replicatedTo: 0, waitError: w!.reason };
    return { reply: r!.value, replicatedTo: Number(w!.value) || 0 };
  };
  try {
    return await together(['EVALSHA', lua.sha, ...tail]);
  } catch (err) {
    if (!isErrorReply(err) || !err.message.startsWith('NOSCRIPT')) throw err;
    return together(['EVAL', lua.source, ...tail]);
  }
}

/** The `reason` of a {@link notReplicated} error. */
export const notReplicatedReason = 'replication';

/** A lock write that fewer replicas than required acknowledged: it does not count. */
export function notReplicated(resources: readonly string[], what: string, reply: ReplicatedReply, replication: LockReplication): LockUnavailableError {
  const why = reply.waitError === undefined ? '' : ` (WAIT failed: ${(reply.waitError as Error).message})`;
  return new LockUnavailableError(
    resources,
    notReplicatedReason,
    `${what} reached ${reply.replicatedTo} of the ${replication.replicas} replicas required within ${replication.timeoutMs} ms${why}`,
    reply.waitError,
  );
}
