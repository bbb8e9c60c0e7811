import { randomUUID } from 'node:crypto';
import {
  createTransactor,
  DEFAULT_MAX_CONNECTIONS,
  isInvalidOptionsError,
  isTransactConflictError,
  type RetryPolicyInput,
  type TransactOptions,
} from '../../lib/index.js';
import { connectClient } from '../redis-client.js';
import type { Contender, ContenderName, Op, OpResult } from '../types.js';

/** The transaction modes the harness knows; each becomes a contender once the library accepts it. */
export type TransactMode = 'optimistic' | 'lock' | 'auto';

/**
 * Generous on attempts (as many as the hand-written loop's cap, so give-ups mean the same thing),
 * the library's defaults for everything else: its backoff is part of what is measured.
 */
export const TRANSACT_RETRY: RetryPolicyInput = { maxAttempts: 1000 };

/**
 * The transactor's `maxConnections` for `concurrency` workers: one per worker up to the
 * library's default (16). Users keep the default; more would only add conflicts on a hot key.
 */
export function transactConnections(concurrency: number): number {
  return Math.min(concurrency, DEFAULT_MAX_CONNECTIONS);
}

/**
 * Whether the library takes `{ mode }`: true, false (it refuses `mode` as an unknown option, as
 * it does before lock mode exists), or the message of another failure.
 */
async function probeMode(url: string, mode: TransactMode): Promise<boolean | string> {
  const client = await connectClient(url);
  const tx = createTransactor(client, { maxConnections: 1 });
  try {
    // A transaction that queues nothing sends no EXEC: the probe writes no data.
    await tx.transact([`{bench:probe:${randomUUID().slice(0, 8)}}`], () => undefined, { mode });
    return true;
  } catch (err) {
    if (isInvalidOptionsError(err) && /\bmode\b/.test(err.message)) return false;
    return `${(err as Error).name}: ${(err as Error).message}`;
  } finally {
    await tx.close();
    await client.close();
  }
}

/**
 * A redis-transact contender: `tx.transact(op.keys, fn, { mode })`, where `fn` reads with
 * `t.read` (all reads in one round trip) and queues the writes on `t.write`.
 */
export function transactContender(name: ContenderName, mode: TransactMode, summary: string): Contender {
  // Decided by `probe`: optimistic runs without `mode` when the library does not know the option.
  let callOptions: TransactOptions | undefined;
  return {
    name,
    summary,
    async probe(url) {
      const supported = await probeMode(url, mode);
      if (supported === true) {
        callOptions = { mode };
        return undefined;
      }
      if (supported === false) {
        if (mode === 'optimistic') return undefined; // the only mode there is: the default
        return `this redis-transact has no mode '${mode}' (options.mode is not a known option)`;
      }
      return `probe failed: ${supported}`;
    },
    async setup(ctx) {
      const client = await connectClient(ctx.url);
      const tx = createTransactor(client, { maxConnections: transactConnections(ctx.concurrency), retry: TRANSACT_RETRY });
      return {
        async run(op: Op): Promise<OpResult> {
          try {
            const { attempts } = await tx.transact(
              op.keys,
              async (t) => {
                const values = await Promise.all(op.reads.map((k) => t.read.get(k)));
                for (const w of op.decide(values)) t.write.incrBy(w.key, w.by);
              },
              callOptions,
            );
            return { committed: true, attempts };
          } catch (err) {
            if (isTransactConflictError(err)) return { committed: false, attempts: err.attempts };
            throw err;
          }
        },
        async teardown() {
          await tx.close();
          await client.close();
        },
      };
    },
  };
}
