import Redis, { type RedisOptions } from 'ioredis';
import { createTransactor, type Transactor, type TransactorOptions } from '../../lib';
import { useRedis } from './redis';

/**
 * {@link useRedis} for ioredis: one real redis-server for the spec file, and ioredis clients (and
 * transactors on them) that are closed after each test. `Client` is the client class: ioredis's
 * `Redis` by default, or iovalkey's (a fork of ioredis 5 with the same API, typed as ioredis's here).
 */
export function useIoredis(options: { args?: string[]; Client?: typeof Redis } = {}) {
  const redis = useRedis({ args: options.args });
  const Client = options.Client ?? Redis;
  const clients: Redis[] = [];
  const transactors: Transactor[] = [];
  /** Closes what the test opened: its transactors, then its clients. */
  async function cleanUp(): Promise<void> {
    await Promise.all(transactors.splice(0).map((tx) => tx.close()));
    for (const client of clients.splice(0)) if (client.status !== 'end') client.disconnect();
  }
  afterEach(cleanUp);

  /** A connected ioredis client on the server (or at `url`), with an `error` listener as apps should have. */
  async function connect(extra: RedisOptions = {}, url?: string): Promise<Redis> {
    const client = new Client(url ?? redis.url, { lazyConnect: true, ...extra });
    client.on('error', () => {});
    clients.push(client);
    await client.connect();
    return client;
  }

  /** A transactor on a fresh ioredis client, closed after the test. */
  async function transactor(options?: TransactorOptions, extra: RedisOptions = {}): Promise<{ tx: Transactor<Redis>; client: Redis }> {
    const client = await connect(extra);
    const tx = createTransactor(client, options);
    transactors.push(tx);
    return { tx, client };
  }

  return {
    get url(): string {
      return redis.url;
    },
    connect,
    transactor,
    /** Closes the test's transactors and clients now (before a proxy they talk through stops). */
    cleanUp,
    /** Closes `tx` after the test. */
    track: (tx: Transactor) => void transactors.push(tx),
  };
}

/** Commands the server has processed so far, minus the INFO that asks. */
export async function commandsProcessed(admin: Redis): Promise<number> {
  return Number(/total_commands_processed:(\d+)/.exec(await admin.info('stats'))?.[1]);
}
