/**
 * A competitor in another process, for specs that block their own event loop: takes `resource`
 * with its own transactor (waiting while it is held), prints the lock's token, and exits holding
 * it (its 60 s lease outlives the spec).
 * Usage: `node --import tsx spec/support/take-lock.ts <redis url> <resource>`
 */
import { createClient } from 'redis';
import { createTransactor } from '../../lib/index.js';

async function main(): Promise<void> {
  const [url, resource] = process.argv.slice(2);
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  const lock = await createTransactor(client).lock([resource!], { ttlMs: 60_000, acquireTimeoutMs: 30_000 });
  process.stdout.write(lock.token);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(String(err));
  process.exit(1);
});
