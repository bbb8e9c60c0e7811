import { defineScript } from 'redis';

/**
 * A client script (`createClient({ scripts: { bump } })`): `bump(key, by)` runs INCRBY in Lua. A
 * script is queued on a MULTI where the library's own wrappers cannot see it.
 */
export const bump = defineScript({
  NUMBER_OF_KEYS: 1,
  SCRIPT: "return redis.call('INCRBY', KEYS[1], ARGV[1])",
  parseCommand(parser, key: string, by: string) {
    parser.pushKey(key);
    parser.push(by);
  },
  transformReply: (reply: unknown) => reply as number,
});
