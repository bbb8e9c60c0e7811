/** Raw ioredis commands: the arguments as they are, no key prefix added. */
import type { IoredisCommand, IoredisCommandClass } from './ioredis-types.js';

/**
 * `args` (the command's name first) as an ioredis Command made with `Command`, the app's own
 * copy's class: keys go out as the server names them (no `keyPrefix`). `replyEncoding` null leaves
 * the reply undecoded (MULTI and EXEC: ioredis decodes EXEC's replies by the commands they answer).
 */
export function rawCommand(Command: IoredisCommandClass, args: readonly unknown[], replyEncoding: string | null = 'utf8'): IoredisCommand {
  return new Command(String(args[0]).toLowerCase(), args.slice(1), { replyEncoding });
}
