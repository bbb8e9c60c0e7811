/**
 * Ends 1,000 calls early, at random points, in a process of its own, so that an unhandled
 * rejection is seen as Node sees it (jest installs handlers of its own). Prints one JSON line:
 * `{ unhandled, settled, outcomes }`; exits 0 when every call settled.
 * Usage: `node --import tsx spec/support/end-calls-early.ts <redis url>`
 */
import { createClient } from 'redis';
import { createTransactor, isTransactError, type TransactMode } from '../../lib/index.js';

const unhandled: string[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(String((reason as Error)?.stack ?? reason)));

const outcomes: Record<string, number> = {};
let settled = 0;
const random = (below: number) => Math.floor(Math.random() * below);

async function settle(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
    outcomes.committed = (outcomes.committed ?? 0) + 1;
  } catch (err) {
    const code = isTransactError(err) ? err.code : (err as Error).constructor.name;
    outcomes[code] = (outcomes[code] ?? 0) + 1;
  }
  settled++;
}

async function main(): Promise<void> {
  const url = process.argv[2]!;
  const client = createClient({ url });
  client.on('error', () => {});
  await client.connect();
  const modes: TransactMode[] = ['optimistic', 'lock', 'auto'];
  const increment = async (t: { read: { get(k: string): Promise<string | null> }; write: { set(k: string, v: string): unknown } }) => {
    const v = Number((await t.read.get('hot')) ?? 0);
    t.write.set('hot', String(v + 1));
  };

  // 1. Deadlines of 1-11 ms on a hot key, few connections: calls end while waiting for the turn,
  //    a connection, in fn (a read in flight), or with EXEC on the wire.
  const few = createTransactor(client, { maxConnections: 4 });
  for (let round = 0; round < 3; round++) {
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        settle(() => few.transact(['hot', `k${i % 5}`], increment, { mode: modes[i % 3], retry: { deadlineMs: 1 + (i % 11) } })),
      ),
    );
  }

  // 2. The caller aborts after 0-4 ms: anywhere from before the first attempt to EXEC on the wire.
  const tx = createTransactor(client);
  await Promise.all(
    Array.from({ length: 300 }, (_, i) =>
      settle(() => {
        const controller = new AbortController();
        setTimeout(() => controller.abort(new Error('caller gave up')), random(5));
        return tx.transact(['hot'], increment, { mode: modes[i % 3], signal: controller.signal });
      }),
    ),
  );

  // 3. Aborted from a hook, just before fn runs (the signal is already aborted when fn starts).
  let abortNow: AbortController | undefined;
  const hooked = createTransactor(client, { hooks: { onAttempt: () => abortNow?.abort(new Error('stop')) } });
  for (let i = 0; i < 100; i++) {
    abortNow = new AbortController();
    const signal = abortNow.signal;
    await settle(() => hooked.transact(['hot'], increment, { mode: modes[i % 3], signal }));
  }

  // 4. Lock mode on one key with deadlines of 2-20 ms: most calls end in the lock wait.
  const lockers = [createTransactor(client), createTransactor(client)];
  await Promise.all(
    Array.from({ length: 24 }, async (_, w) => {
      for (let j = 0; j < 13; j++) {
        await settle(() => lockers[w % 2]!.transact(['acct'], increment, { mode: 'lock', retry: { deadlineMs: 2 + random(19) } }));
      }
    }),
  );

  for (const t of [few, tx, hooked, ...lockers]) await t.close();
  await client.close();
  // close() waited for every connection to answer or drop: an orphaned rejection has happened by
  // now, and surfaces within the next turns of the event loop.
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  process.stdout.write(JSON.stringify({ unhandled: unhandled.length, first: unhandled[0], settled, outcomes }));
}

main().catch((err: unknown) => {
  process.stderr.write(String((err as Error)?.stack ?? err));
  process.exit(1);
});
