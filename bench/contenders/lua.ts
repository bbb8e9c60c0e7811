import { createClient, defineScript } from 'redis';
import type { Contender, Op } from '../types.js';

/**
 * The ceiling: the workload's own Lua script, run atomically by Redis through EVALSHA on one
 * shared client (node-redis `defineScript`; it falls back to EVAL once, on NOSCRIPT). One round
 * trip per op, never a conflict.
 */
export const lua: Contender = {
  name: 'lua',
  summary: 'the same logic as one Lua script via EVALSHA (node-redis defineScript) on a shared client: one round trip, no retries',
  async setup(ctx) {
    const op = defineScript({
      SCRIPT: ctx.workload.lua.source,
      NUMBER_OF_KEYS: ctx.workload.lua.numberOfKeys,
      parseCommand(parser, keys: readonly string[], args: readonly string[]) {
        parser.pushKeys([...keys]);
        for (const arg of args) parser.push(arg);
      },
      transformReply: undefined as unknown as () => number,
    });
    const client = createClient({ url: ctx.url, scripts: { op } });
    client.on('error', () => {});
    await client.connect();
    return {
      async run(o: Op) {
        await client.op(o.keys, o.luaArgs);
        return { committed: true, attempts: 1 };
      },
      async teardown() {
        await client.close();
      },
    };
  },
};
