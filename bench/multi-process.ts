/**
 * The multi-process run: one cell split over several child processes (forked through tsx), each
 * with its own connections and its own share of the workers, started at the same instant. Nothing
 * in one process can coordinate with another, so only the Redis-side design counts.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mergeStats, type RawStats } from './measure.js';
import type { ChildJob, ChildMessage, GoMessage } from './multi-process-protocol.js';

/** How long children get to connect and set up before the run fails. */
const READY_TIMEOUT_MS = 60_000;

/** Lead time between 'go' and the shared start instant, so every child starts its warm-up together. */
const START_LEAD_MS = 250;

/** One child process and its messages. */
class Child {
  readonly process: ChildProcess;
  readonly #messages: ChildMessage[] = [];
  readonly #waiters: Array<() => void> = [];
  #exit: string | undefined;

  constructor(job: ChildJob) {
    const tsx = pathToFileURL(require.resolve('tsx')).href; // absolute: --import resolves bare names from the cwd
    this.process = fork(join(__dirname, 'multi-process-worker.ts'), [JSON.stringify(job)], {
      execArgv: ['--import', tsx],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.process.on('message', (m: ChildMessage) => this.#push(m));
    this.process.on('exit', (code, signal) => {
      this.#exit = `child ${this.process.pid} exited (${signal ?? `code ${code}`})`;
      this.#wake();
    });
    this.process.on('error', (err) => {
      this.#exit = `child failed: ${err.message}`;
      this.#wake();
    });
  }

  #push(message: ChildMessage): void {
    this.#messages.push(message);
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** The next message, failing on a 'failed' message, an early exit, or `timeoutMs`. */
  async next<T extends ChildMessage['type']>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const message = this.#messages.shift();
      if (message?.type === 'failed') throw new Error(`child ${this.process.pid}: ${message.error}`);
      if (message?.type === type) return message as Extract<ChildMessage, { type: T }>;
      if (message) continue;
      if (this.#exit) throw new Error(this.#exit);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`child ${this.process.pid}: no '${type}' within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  go(message: GoMessage): void {
    this.process.send(message);
  }

  /** Waits for the child to exit, killing it (this child only) if it lingers. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Runs `job` in `processes` children at once (each with `job.concurrency` workers) and returns
 * their merged records. The parent must have initialised the cell's keys.
 */
export async function runMultiProcess(job: ChildJob, processes: number): Promise<RawStats> {
  const children = Array.from({ length: processes }, () => new Child(job));
  let failed = true;
  try {
    await Promise.all(children.map((c) => c.next('ready', READY_TIMEOUT_MS)));
    const startAt = Date.now() + START_LEAD_MS;
    for (const c of children) c.go({ type: 'go', startAt });
    const budget = START_LEAD_MS + job.warmupMs + job.durationMs + job.drainMs + READY_TIMEOUT_MS;
    const reports = await Promise.all(children.map((c) => c.next('done', budget)));
    failed = false;
    return { ...mergeStats(reports.map((r) => r.stats)), committedByProcess: reports.map((r) => r.stats.committed) };
  } finally {
    // On success the children exit by themselves once they have reported; on failure they are told to.
    if (failed) for (const c of children) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGTERM');
    await Promise.all(children.map((c) => c.stop()));
  }
}
