/**
 * The recipes' test Redis: `REDIS_URL` when set, else a throw-away redis-server of their own; one
 * client and one transactor for the file (node:test `before`/`after`), and the keys a file wrote
 * deleted at the end, so that a shared server is left as it was.
 */
import { after, before } from 'node:test';
import { createClient } from 'redis';
import { createTransactor, type Transactor } from '../../../lib/index.js';
import { type EmbeddedRedis, startEmbeddedRedis } from '../../support/embedded-redis.js';

export type TestClient = ReturnType<typeof createClient>;

export function useTestRedis(keysWritten: readonly string[]): { readonly client: TestClient; readonly tx: Transactor } {
  let server: EmbeddedRedis | undefined;
  let client: TestClient | undefined;
  let tx: Transactor | undefined;
  before(async () => {
    server = process.env.REDIS_URL ? undefined : await startEmbeddedRedis();
    client = createClient({ url: process.env.REDIS_URL ?? server!.url });
    client.on('error', (err) => console.error('redis client error:', err));
    await client.connect();
    tx = createTransactor(client);
  });
  after(async () => {
    await client?.del([...keysWritten]);
    await tx?.close(); // closes the faulty transactors made from tx too
    await client?.close();
    await server?.stop();
  });
  return {
    get client() {
      return client!;
    },
    get tx() {
      return tx!;
    },
  };
}
