/**
 * A child process of the inventory example (`--processes N`): connects, says it is ready, buys for
 * the share of the buyers it is handed (JSON in argv[2]) once the parent says go, and sends its
 * tally to the parent over IPC.
 */
import { type BuyerJob, runBuyers } from './buyers.js';

const go = () =>
  new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    process.send!({ ready: true });
  });

runBuyers(JSON.parse(process.argv[2]!) as BuyerJob, undefined, go).then(
  (tally) => process.send!({ tally }, () => process.exit(0)),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
