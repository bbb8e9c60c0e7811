/**
 * A child process of the inventory example (`--processes N`): connects, says it is ready, buys for
 * the share of the buyers it is handed (JSON in argv[2]) once the parent says go, reports its
 * progress (at most every 100 ms) and sends its tally to the parent over IPC.
 */
import { type BuyerJob, type BuyerMessage, type BuyerTally, runBuyers } from './buyers.js';

const send = (message: BuyerMessage, then: () => void = () => {}) => process.send!(message, then);

const go = () =>
  new Promise<void>((resolve) => {
    process.once('message', () => resolve());
    send({ ready: true });
  });

let lastReport = 0;
const report = (tally: BuyerTally) => {
  const now = performance.now();
  if (now - lastReport < 100) return;
  lastReport = now;
  send({ progress: tally });
};

runBuyers(JSON.parse(process.argv[2]!) as BuyerJob, report, go).then(
  (tally) => send({ tally }, () => process.exit(0)),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
