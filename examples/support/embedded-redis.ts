import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { RedisMemoryServer } from 'redis-memory-server';

/** Where to get `redis-server` when it is missing; shown in the error. */
const INSTALL_HINT =
  'install Redis 7 (Debian/Ubuntu: `apt-get install -y redis-server`; macOS: `brew install redis`) ' +
  'or set REDIS_SERVER_BINARY to the path of a redis-server binary';

/**
 * Finds a `redis-server` binary: `REDIS_SERVER_BINARY`, then the PATH, then the usual system
 * locations. redis-memory-server's own download is disabled for this project (no network here).
 */
export function resolveRedisServerBinary(): string {
  const candidates = [
    process.env.REDIS_SERVER_BINARY,
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'redis-server')),
    '/usr/bin/redis-server',
    '/usr/local/bin/redis-server',
    '/opt/homebrew/bin/redis-server',
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(`no redis-server binary found: ${INSTALL_HINT}`);
}

/** A throw-away redis-server process on a random loopback port. */
export interface EmbeddedRedis {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  /** Stops the process (SIGINT, then SIGKILL if it lingers). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence), after `stop()`. */
  start(): Promise<void>;
}

/** Starts a redis-server on 127.0.0.1 (random port unless `port` is given) with extra `args`. */
export async function startEmbeddedRedis(options: { port?: number; args?: string[] } = {}): Promise<EmbeddedRedis> {
  const server = await RedisMemoryServer.create({
    binary: { systemBinary: resolveRedisServerBinary() },
    instance: { ip: '127.0.0.1', port: options.port ?? null, args: options.args ?? [] },
  });
  const host = await server.getHost();
  const port = await server.getPort();
  return {
    host,
    port,
    url: `redis://${host}:${port}`,
    stop: async () => {
      await server.stop();
    },
    start: async () => {
      await server.start();
    },
  };
}
