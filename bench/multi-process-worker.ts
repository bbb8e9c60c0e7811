/**
 * A child of the multi-process run: sets up its contender, says ready, runs its share of the
 * workers when told to go, and reports what it recorded. Started by multi-process.ts; not a CLI.
 */
import { driveCell } from './cell.js';
import { CONTENDERS } from './contenders/index.js';
import type { ChildJob, ChildMessage, GoMessage } from './multi-process-protocol.js';
import { WORKLOADS } from './workloads/index.js';

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('multi-process-worker must be started with an IPC channel (fork)'));
    process.send(message, undefined, {}, (err: Error | null) => (err ? reject(err) : resolve()));
  });
}

function nextGo(): Promise<GoMessage> {
  return new Promise((resolve) => {
    process.once('message', (message: GoMessage) => resolve(message));
  });
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as ChildJob;
  const contender = CONTENDERS[job.contender];
  const workload = WORKLOADS[job.workload];
  // The probe also decides how the contender calls the library (e.g. whether it passes `mode`).
  const unavailable = await contender.probe?.(job.url);
  if (unavailable !== undefined) throw new Error(`${job.contender} is not available: ${unavailable}`);
  const session = await contender.setup({ url: job.url, workload, concurrency: job.concurrency });
  const go = nextGo();
  await send({ type: 'ready' });
  const { startAt } = await go;
  const stats = await driveCell(session, workload.cell(job.tag), job.concurrency, { startAt, ...job });
  await session.teardown();
  await send({ type: 'done', stats });
}

main().then(
  () => process.exit(0),
  async (err: unknown) => {
    await send({ type: 'failed', error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }).catch(() => {});
    process.exit(1);
  },
);
