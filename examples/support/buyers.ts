/** The buying loop of the inventory example, run in the example's process or in each of its children. */
import { createClient } from 'redis';
import { createTransactor, isTransactError, type RetryPolicyInput, type TransactMode } from '../../lib/index.js';

/** What a purchase can come to (besides failing). */
export type Outcome = 'bought' | 'sold-out' | 'already-recorded';

/** One share of the buyers: who buys, from which keys, how. Plain data, so a child process can get it. */
export interface BuyerJob {
  readonly url: string;
  readonly stockKey: string;
  readonly ordersKey: string;
  /** Buyer numbers of this share (order ids are `order-<n>`). */
  readonly buyers: readonly number[];
  readonly concurrency: number;
  readonly mode: TransactMode;
  readonly retry: RetryPolicyInput;
}

/** What a share of the buyers did. */
export interface BuyerTally {
  /** When its first purchase started and its last ended (ms since the epoch: comparable across processes). */
  startedAt: number;
  endedAt: number;
  outcomes: Record<Outcome | 'failed', number>;
  /** Attempts of each purchase that went through. */
  attempts: number[];
  /** Calls auto mode switched to lock mode. */
  escalations: number;
}

/**
 * Runs `job`'s buyers, `concurrency` at a time, on a transactor of its own; `tick` after each.
 * Connects first, then waits for `go` (so that several processes start buying together).
 */
export async function runBuyers(
  job: BuyerJob,
  tick: (tally: BuyerTally) => void = () => {},
  go: () => Promise<void> = () => Promise.resolve(),
): Promise<BuyerTally> {
  const tally: BuyerTally = {
    startedAt: 0,
    endedAt: 0,
    outcomes: { bought: 0, 'sold-out': 0, 'already-recorded': 0, failed: 0 },
    attempts: [],
    escalations: 0,
  };
  const client = createClient({ url: job.url });
  client.on('error', (err) => console.error('redis client error:', err));
  await client.connect();
  const tx = createTransactor(client, {
    retry: job.retry,
    maxConnections: Math.min(job.concurrency, 32),
    hooks: { onEscalate: () => tally.escalations++ },
  });
  const { stockKey, ordersKey, mode } = job;

  async function buy(buyer: number): Promise<void> {
    const orderId = `order-${buyer}`;
    try {
      const result = await tx.transact(
        [stockKey, ordersKey],
        async (t): Promise<Outcome> => {
          const [left, recorded] = await Promise.all([t.read.get(stockKey), t.read.hExists(ordersKey, orderId)]);
          if (recorded) return 'already-recorded';
          if (Number(left) <= 0) return 'sold-out';
          t.write.decr(stockKey).hSet(ordersKey, orderId, `buyer-${buyer}`);
          return 'bought';
        },
        { idempotent: true, mode }, // the HEXISTS check makes a second run harmless
      );
      tally.outcomes[result.value]++;
      tally.attempts.push(result.attempts);
    } catch (err) {
      tally.outcomes.failed++;
      console.error(`\nbuyer ${buyer}: ${isTransactError(err) ? `${err.code}: ` : ''}${(err as Error).message}`);
    }
    tick(tally);
  }

  await go();
  tally.startedAt = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(job.concurrency, job.buyers.length) }, async () => {
      while (next < job.buyers.length) await buy(job.buyers[next++]!);
    }),
  );
  tally.endedAt = Date.now();
  await tx.close();
  await client.close();
  return tally;
}
