import { createClient, type RedisClientType } from 'redis';
import { createTransactor, type Transactor, type TransactorOptions } from '../../lib';
import { type EmbeddedRedis, startEmbeddedRedis } from '../../examples/support/embedded-redis';

/**
 * Starts one real redis-server for the spec file (beforeAll/afterAll) and hands out clients that
 * are closed after each test. Each test starts from an empty database on that server.
 */
export function useRedis(options: { args?: string[] } = {}) {
  let server: EmbeddedRedis | undefined;
  const clients: RedisClientType[] = [];
  const transactors: Transactor[] = [];
  beforeAll(async () => {
    server = await startEmbeddedRedis({ args: options.args ?? [] });
  });
  afterAll(async () => {
    await server?.stop();
  });
  beforeEach(async () => {
    const admin = await connect();
    await admin.flushAll();
  });
  afterEach(async () => {
    await Promise.all(transactors.splice(0).map((tx) => tx.close()));
    await Promise.all(clients.splice(0).filter((c) => c.isOpen).map((c) => c.close().catch(() => c.destroy())));
  });

  async function connect(extra: Parameters<typeof createClient>[0] = {}): Promise<RedisClientType> {
    if (!server) throw new Error('useRedis: server not started');
    const client = createClient({ url: server.url, ...extra }) as RedisClientType;
    client.on('error', () => {});
    clients.push(client);
    await client.connect();
    return client;
  }

  /** A transactor on a fresh client, closed after the test. */
  async function transactor(options?: TransactorOptions): Promise<Transactor> {
    const tx = createTransactor(await connect(), options);
    transactors.push(tx);
    return tx;
  }

  return {
    transactor,
    get url(): string {
      if (!server) throw new Error('useRedis: server not started');
      return server.url;
    },
    get port(): number {
      return server!.port;
    },
    connect,
  };
}

/** Commands the server has processed so far, minus the INFO that asks. */
export async function commandsProcessed(admin: RedisClientType): Promise<number> {
  const info = await admin.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1]);
}

/** How many times the server has run `command` (lower case, e.g. `evalsha`) since its stats were reset. */
export async function commandCalls(admin: RedisClientType, command: string): Promise<number> {
  const stats = await admin.info('commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
}

/** Waits until `condition` holds, polling; fails with `what` after `timeoutMs`. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Waits until the server shows client `id` blocked by CLIENT PAUSE with a transaction (EXEC) in hand. */
export async function waitUntilExecIsHeld(admin: { sendCommand<T>(args: string[]): Promise<T> }, id: number): Promise<void> {
  await waitFor(async () => {
    const info = await admin.sendCommand<string>(['CLIENT', 'LIST', 'ID', String(id)]);
    return /flags=\S*x\S*b|flags=\S*b\S*x/.test(info);
  }, 'EXEC to be received and held by CLIENT PAUSE');
}
