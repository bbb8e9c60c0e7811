/**
 * How lock scripts reach Redis: run now (by SHA, loading them on a miss), or as a command to send
 * inside a MULTI.
 */
import type { ScriptClient } from '../connection/connection.js';
import { isErrorReply } from '../connection/errors.js';
import type { LuaScript } from './scripts.js';


/**
 * Runs a lock script by SHA (EVALSHA), loading it with EVAL when the server's script cache does
 * not have it (first use, a restart, SCRIPT FLUSH). Keys and channels arrive already prefixed.
 */
export async function runScript(client: ScriptClient, lua: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return await client.sendCommand(['EVALSHA', lua.sha, ...tail]);
  } catch (err) {
    if (!isErrorReply(err) || !err.message.startsWith('NOSCRIPT')) throw err;
    return client.sendCommand(['EVAL', lua.source, ...tail]);
  }
}

/**
 * A lock script as a command to send inside a MULTI, by SHA (EVALSHA): the body would be sent on
 * every call, and the scripts are loaded up front (`SingleNodeBackend.loadScripts`). Keys and
 * channels arrive already prefixed.
 *
 * Caveat for the caller: a script the server does not have (after a restart or SCRIPT FLUSH) is
 * not refused when queued; it fails at EXEC time as an error reply (NOSCRIPT) for that one
 * command, while the other commands of the transaction apply. So send it last, and read such a
 * reply as "committed, but the script did not run": e.g. for a queued release, release by token
 * afterwards and load the scripts again.
 */
export function scriptCommand(lua: LuaScript, keys: readonly string[], args: readonly string[]): string[] {
  return ['EVALSHA', lua.sha, String(keys.length), ...keys, ...args];
}
