import { Redis } from 'ioredis';
import { createClient } from 'redis';

function newClient(url: string) {
  const client = createClient({ url });
  // A dropped connection surfaces as a failed command (which fails the cell); the 'error' event
  // only needs a listener so that node does not treat it as unhandled.
  client.on('error', () => {});
  return client;
}

/** A node-redis client as the harness creates it: RESP3, no modules or scripts of its own. */
export type BenchClient = ReturnType<typeof newClient>;

/** A connected node-redis client on `url`. */
export async function connectClient(url: string): Promise<BenchClient> {
  const client = newClient(url);
  await client.connect();
  return client;
}

/** A connected ioredis `Redis` on `url`, at ioredis's defaults (as an app would create it), with an 'error' listener as above. */
export async function connectIoredis(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true });
  redis.on('error', () => {});
  await redis.connect();
  return redis;
}
