/**
 * A process that waits for a lock and never gets it: `node --import tsx spec/support/lock-waiter.ts
 * <url> <resource>...`. The specs kill it (SIGKILL) while it waits.
 */
import { createClient } from 'redis';
import { createTransactor } from '../../lib';

async function main(): Promise<void> {
  const [url, ...resources] = process.argv.slice(2);
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  await createTransactor(client).lock(resources, { acquireTimeoutMs: 600_000 });
}

void main();
