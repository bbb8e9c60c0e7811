import type { MultiBuilder } from '../connection/node-redis-types.js';
import { isErrorReply } from '../transaction/node-redis-errors.js';
import type { LuaScript } from './scripts.js';

/** What runs a script: a node-redis client, or a cluster client routed by the first key. */
export interface ScriptClient {
  sendCommand(args: string[]): Promise<unknown>;
}

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
 * Queues a lock script inside a MULTI. Sent as EVAL (the body, not the SHA): a NOSCRIPT error
 * inside EXEC would leave the other commands applied and the script not run.
 */
export function queueScript(builder: MultiBuilder, lua: LuaScript, keys: readonly string[], args: readonly string[]): void {
  (builder as unknown as { addCommand(args: string[]): unknown }).addCommand(['EVAL', lua.source, String(keys.length), ...keys, ...args]);
}
