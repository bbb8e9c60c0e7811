import { performance } from 'node:perf_hooks';
import { LockUnavailableError } from '../errors/lock-errors.js';
import { type AcquireResult, driftMs, type LockBackend, type ReleaseListener } from './lock-backend.js';
import type { ReleaseNotifier, Subscription } from './release-notifier.js';
import { sleep } from '../retry/sleep.js';
import { withTimeout } from '../util/time-bounds.js';
import type { ScriptClient } from '../connection/connection.js';
import { runScript } from './run-script.js';
import { ACQUIRE, EXTEND, RAISE_FENCE, RELEASE } from './scripts.js';
import { type LockKeyspace, QUEUE_ENTRY_TTL_MS } from './lock-keys.js';
import { noop } from '../util/noop.js';

/** One independent Redis server of a quorum. */
export interface QuorumNode {
  /** Its command connection (never queues commands while disconnected: fail fast instead). */
  readonly client: () => Promise<ScriptClient>;
  readonly notifier: ReleaseNotifier;
  readonly keyspace: LockKeyspace;
}

/** Quorum tuning, validated by `createRedlock`. @internal */
export interface QuorumSettings {
  readonly nodeTimeoutMs: number;
  readonly retryDelayMs: number;
}

type NodeReply = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * The Redlock algorithm over N independent servers: a lock is held when a majority granted it
 * within its validity time; it is released on every node (also those that seemed to fail: their
 * reply may just be late); a renewal counts only with a majority. Each node gets `nodeTimeoutMs`
 * to answer, so a dead or stalled node costs a bounded wait. Not first come, first served (per-node
 * queues could order waiters differently on each node and deadlock); waiters retry on a release
 * notification from any node, or after a random delay.
 * @internal
 */
export class QuorumBackend implements LockBackend {
  readonly #nodes: readonly QuorumNode[];
  readonly #settings: QuorumSettings;
  readonly quorum: number;

  constructor(nodes: readonly QuorumNode[], settings: QuorumSettings) {
    this.#nodes = nodes;
    this.#settings = settings;
    this.quorum = Math.floor(nodes.length / 2) + 1;
  }

  async tryAcquire(resources: readonly string[], token: string, ttlMs: number): Promise<AcquireResult> {
    const sentAt = performance.now();
    const replies = await this.#onEach((client, node) =>
      runScript(client, ACQUIRE, node.keyspace.keys(resources, token), [token, String(ttlMs), String(QUEUE_ENTRY_TTL_MS), '0']),
    );
    const granted = replies.flatMap((r, i) => (r.ok && (r.value as number[])[0] === 1 ? [{ node: i, fence: Number((r.value as number[])[1]) }] : []));
    const answered = replies.filter((r) => r.ok).length;
    if (granted.length >= this.quorum) {
      // The largest fencing token among the majority becomes the floor on those nodes: any later
      // majority overlaps this one, so its token will be larger still; if the node they share
      // lost its data since, ACQUIRE's time floor still puts it higher (see createRedlock).
      const fencingToken = Math.max(...granted.map((g) => g.fence));
      const raised = await this.#onEach(
        (client, node) => runScript(client, RAISE_FENCE, node.keyspace.keys(resources, token), [String(fencingToken)]),
        granted.map((g) => g.node),
      );
      const validUntil = sentAt + ttlMs - driftMs(ttlMs);
      if (raised.filter((r) => r.ok).length >= this.quorum && validUntil > performance.now()) {
        return { acquired: true, fencingToken, validUntil };
      }
    }
    await this.release(resources, token).catch(() => false);
    if (answered < this.quorum) {
      const cause = replies.find((r) => !r.ok) as { error: unknown } | undefined;
      throw new LockUnavailableError(
        resources,
        'quorum',
        `only ${answered} of ${this.#nodes.length} Redis nodes answered (${this.quorum} needed)`,
        cause?.error,
      );
    }
    return { acquired: false, waitHintMs: this.#randomDelay() };
  }

  async extend(resources: readonly string[], token: string, ttlMs: number): Promise<number | null> {
    const sentAt = performance.now();
    const replies = await this.#onEach((client, node) => runScript(client, EXTEND, node.keyspace.keys(resources, token), [token, String(ttlMs)]));
    const renewed = replies.filter((r) => r.ok && Number(r.value) === 1).length;
    const refused = replies.filter((r) => r.ok && Number(r.value) === 0).length;
    if (renewed >= this.quorum) return sentAt + ttlMs - driftMs(ttlMs);
    if (this.#nodes.length - refused < this.quorum) return null; // a majority says it is not ours
    throw new LockUnavailableError(resources, 'quorum', `renewal reached ${renewed} of ${this.#nodes.length} Redis nodes (${this.quorum} needed)`);
  }

  async release(resources: readonly string[], token: string): Promise<boolean> {
    const replies = await this.#onEach((client, node) =>
      runScript(client, RELEASE, node.keyspace.keys(resources, token), [token, '0', ...node.keyspace.channels(resources)]),
    );
    return replies.filter((r) => r.ok && Number(r.value) === resources.length).length >= this.quorum;
  }


  async listen(resources: readonly string[], token: string): Promise<ReleaseListener> {
    let closed = false;
    const subscriptions = (
      await Promise.all(
        this.#nodes.map((n) => {
          const subscribing = n.notifier.subscribe(n.keyspace.channels(resources), token);
          // One that answers after the timeout is not used: let it go as soon as it arrives.
          subscribing.then((s) => closed && s.close(), noop);
          return withTimeout(subscribing, this.#settings.nodeTimeoutMs).then(
            (s) => s,
            () => undefined,
          );
        }),
      )
    ).filter((s): s is Subscription => s !== undefined);
    return {
      wait: async (timeoutMs, signal) => {
        // No node could subscribe in time: fall back to the bounded random delay alone.
        if (subscriptions.length === 0) return sleep(timeoutMs, signal).then(() => undefined, () => undefined);
        const controller = new AbortController();
        const stop = signal ? AbortSignal.any([signal, controller.signal]) : controller.signal;
        await Promise.race(subscriptions.map((s) => s.wait(timeoutMs, stop)));
        controller.abort();
        // Everyone woke on the same release: spread the retries so they do not collide again.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 3).unref());
        return undefined; // one node's hand-over is no quorum: the next try says
      },
      close: () => {
        closed = true;
        subscriptions.forEach((s) => s.close());
      },
    };
  }

  close(): Promise<void> {
    for (const node of this.#nodes) node.notifier.close();
    return Promise.resolve();
  }

  #randomDelay(): number {
    return this.#settings.retryDelayMs / 2 + Math.random() * this.#settings.retryDelayMs;
  }

  /** Runs `op` on the given nodes (all by default) in parallel, each bounded by the node timeout. */
  #onEach(op: (client: ScriptClient, node: QuorumNode) => Promise<unknown>, indexes?: readonly number[]): Promise<NodeReply[]> {
    const targets = indexes ?? this.#nodes.map((_, i) => i);
    return Promise.all(
      targets.map((i) =>
        withTimeout(
          this.#nodes[i]!.client().then((client) => op(client, this.#nodes[i]!)),
          this.#settings.nodeTimeoutMs,
        ).then(
          (value): NodeReply => ({ ok: true, value }),
          (error: unknown): NodeReply => ({ ok: false, error }),
        ),
      ),
    );
  }
}

