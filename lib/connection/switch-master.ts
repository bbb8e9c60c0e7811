/**
 * `+switch-master`: what each Sentinel publishes when the master it monitors moves to a promoted
 * replica, read by both drivers' failover watches (`ioredis-primary-watch.ts`,
 * `node-redis-switch-watch.ts`).
 */

/** The channel: `<name> <old ip> <old port> <new ip> <new port>`. */
export const SWITCH_MASTER = '+switch-master';

/** A `+switch-master` message: the master's name, and its old and new `ip:port`. */
export function parseSwitchMaster(message: string): { name: string; from: string; to: string } | undefined {
  const [name, oldIp, oldPort, ip, port] = message.split(' ');
  if (name === undefined || ip === undefined || port === undefined) return undefined;
  return { name, from: `${oldIp}:${oldPort}`, to: `${ip}:${port}` };
}
