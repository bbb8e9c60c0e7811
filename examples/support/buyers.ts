/** The buying loop of the inventory example, run in the example's process or in each of its children. */
import { isTransactError, isTransactOutcomeUnknownError, type RetryPolicyInput, type TransactMode, type TransactOutcomeUnknownError } from '../../lib/index.js';
import { type ClientName, openShop, type Outcome } from './purchase.js';

/** One share of the buyers: who buys, from which keys, how. Plain data, so a child process can get it. */
export interface BuyerJob {
  readonly url: string;
  /** The client the purchases run on (every process of a run uses the same). */
  readonly client: ClientName;
  readonly stockKey: string;
  readonly ordersKey: string;
  /** Buyer numbers of this share (order ids are `order-<n>`). */
  readonly buyers: readonly number[];
  readonly concurrency: number;
  readonly mode: TransactMode;
  readonly retry: RetryPolicyInput;
  /** Purchases run with `exactlyOnce: true`: a lost EXEC reply is settled by the library. */
  readonly exactlyOnce: boolean;
}

/** What a buyer process tells the example: it is connected, how far it got, what it did. */
export type BuyerMessage = { readonly ready: true } | { readonly progress: BuyerTally } | { readonly tally: BuyerTally };

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
  /** Purchases whose EXEC reply was lost and that the library settled as committed (`repliesLost`). */
  repliesLost: number;
  /**
   * Purchases that ended in `TransactOutcomeUnknownError` (also counted as failed), and what
   * `tx.settle` then found, where the error carried a commit marker to settle by.
   */
  outcomeUnknown: { total: number; committed: number; 'not-committed': number; unsettled: number };
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
    repliesLost: 0,
    outcomeUnknown: { total: 0, committed: 0, 'not-committed': 0, unsettled: 0 },
  };
  const { stockKey, ordersKey, mode, exactlyOnce } = job;
  const shop = await openShop(job.client, job.url, { stockKey, ordersKey }, {
    retry: job.retry,
    maxConnections: Math.min(job.concurrency, 32),
    hooks: { onEscalate: () => tally.escalations++ },
    // A lost reply is settled within the call (or by settleLater, right after): a minute is plenty,
    // and the markers of a run are gone a minute after it.
    markerTtlMs: 60_000,
  });

  async function buy(buyer: number): Promise<void> {
    try {
      // The belt: the purchase's HEXISTS check makes a second run harmless. The braces
      // (--exactly-once): a lost EXEC reply is settled (committed or not) instead of guessed at.
      const result = await shop.buy(buyer, { idempotent: true, mode, exactlyOnce });
      tally.outcomes[result.value]++;
      tally.attempts.push(result.attempts);
      // Committed; only EXEC's replies were lost (fn's value is kept), and a purchase needs none.
      if (result.repliesLost) tally.repliesLost++;
    } catch (err) {
      tally.outcomes.failed++;
      console.error(`\nbuyer ${buyer}: ${isTransactError(err) ? `${err.code}: ` : ''}${(err as Error).message}`);
      if (isTransactOutcomeUnknownError(err)) await settleLater(err);
    }
    tick(tally);
  }

  /**
   * Redis could not be reached in time to settle a lost reply: try once more now. Without a commit
   * marker on the error (the idempotent retries that followed the unsettled reply failed too) there
   * is nothing to settle by; the order id, checked by the next purchase attempt, is the record.
   */
  async function settleLater(err: TransactOutcomeUnknownError): Promise<void> {
    tally.outcomeUnknown.total++;
    if (!err.commitMarker) {
      tally.outcomeUnknown.unsettled++;
      return;
    }
    try {
      tally.outcomeUnknown[await shop.tx.settle(err)]++;
    } catch (settleError) {
      tally.outcomeUnknown.unsettled++;
      console.error(`  and could not be settled: ${(settleError as Error).message}`);
    }
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
  await shop.close();
  return tally;
}
