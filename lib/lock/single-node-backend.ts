import { performance } from 'node:perf_hooks';
import { type AcquireResult, driftMs, type LockBackend, type ReleaseListener } from './lock-backend.js';
import { resourceKeys } from './lock-keys.js';
import type { LockConnections } from './lock-connections.js';
import type { ReleaseNotifier } from './release-notifier.js';
import { runScript } from './run-script.js';
import { ACQUIRE, EXTEND, RELEASE, SINGLE_NODE_SCRIPTS, TAKE } from './scripts.js';

/** How long a waiter's place in the queue lasts without a refresh. Waiters refresh at a third of it. */
export const QUEUE_ENTRY_TTL_MS = 2_000;

/**
 * Resource names to the KEYS and channels the scripts take, with the client's key prefix applied
 * (node-redis does not prefix raw commands or channels).
 * @internal
 */
export class LockKeyspace {
  readonly #prefix: string;
  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  keys(resources: readonly string[]): string[] {
    const p = this.#prefix;
    return resources.flatMap((r) => {
      const k = resourceKeys(r, p);
      return [p + k.lock, p + k.meta, p + k.queue, p + k.expiry];
    });
  }

  /** Lock keys as node-redis commands take them (it adds the prefix itself). */
  unprefixedLockKeys(resources: readonly string[]): string[] {
    return resources.map((r) => resourceKeys(r, this.#prefix).lock);
  }

  /** The KEYS of {@link TAKE}: one lock key per resource, prefixed (scripts are raw commands). */
  takeKeys(resources: readonly string[]): string[] {
    return this.unprefixedLockKeys(resources).map((k) => this.#prefix + k);
  }

  /** Everything a lock-mode call sends, derived once for its resources. */
  forCall(resources: readonly string[]): CallLockKeys {
    const p = this.#prefix;
    const names = resources.map((r) => resourceKeys(r, p));
    return {
      keys: this.keys(resources),
      lockKeys: names.map((k) => k.lock),
      queueKeys: names.map((k) => k.queue),
      takeKeys: names.map((k) => p + k.lock),
      channels: this.channels(resources),
    };
  }

  channels(resources: readonly string[]): string[] {
    return resources.map((r) => this.#prefix + resourceKeys(r, this.#prefix).channel);
  }
}

/** The lock keys of one call's resources, in resource order. @internal */
export interface CallLockKeys {
  /** KEYS of ACQUIRE, RELEASE and EXTEND: four per resource, prefixed. */
  readonly keys: string[];
  /** Lock keys as node-redis commands take them (unprefixed): to WATCH and read. */
  readonly lockKeys: string[];
  /**
   * Wait-queue keys as node-redis commands take them (unprefixed): a lock-mode transaction can
   * EXISTS them after WATCH to learn whether anyone waits remotely (a queue key exists only
   * while someone is queued).
   */
  readonly queueKeys: string[];
  /** KEYS of TAKE: the lock keys, prefixed. */
  readonly takeKeys: string[];
  /** Release channels, prefixed (node-redis does not prefix channels). */
  readonly channels: string[];
}

/** Turns an ACQUIRE reply into a result, timing the lease from when the request was sent. */
export function acquireResult(reply: unknown, sentAt: number, ttlMs: number): AcquireResult {
  const [taken, value] = reply as [number, number];
  if (taken === 1) return { acquired: true, fencingToken: Number(value), validUntil: sentAt + ttlMs - driftMs(ttlMs) };
  return { acquired: false, waitHintMs: Number(value) };
}

/** Turns a TAKE reply into a result, timing the lease from when the request was sent. */
export function takeResult(reply: unknown, sentAt: number, ttlMs: number): AcquireResult {
  if (Number(reply) === 1) return { acquired: true, fencingToken: 0, validUntil: sentAt + ttlMs - driftMs(ttlMs) };
  return { acquired: false, waitHintMs: 0 };
}

/**
 * Locks on one Redis server (or on the one cluster node that owns their slot). Waiters queue in
 * order and a release hands the lock to the first one whose resources are all free (see RELEASE).
 * @internal
 */
export class SingleNodeBackend implements LockBackend {
  readonly fair = true;
  readonly keyspace: LockKeyspace;
  readonly #connections: LockConnections;
  readonly #notifier: ReleaseNotifier;
  #scriptsLoaded: Promise<void> | undefined;

  constructor(connections: LockConnections, notifier: ReleaseNotifier, keyPrefix: string) {
    this.#connections = connections;
    this.#notifier = notifier;
    this.keyspace = new LockKeyspace(keyPrefix);
  }

  /**
   * Loads the scripts into the server's cache once, so lock mode can send them by SHA, also
   * inside MULTI (where a missing script is not loaded on the fly: see `queueScript`).
   */
  loadScripts(): Promise<void> {
    this.#scriptsLoaded ??= this.#connections
      .loadScripts(SINGLE_NODE_SCRIPTS.map((lua) => lua.source))
      .then(
        () => {},
        () => {
          this.#scriptsLoaded = undefined; // not fatal: EVALSHA falls back to EVAL
        },
      );
    return this.#scriptsLoaded;
  }

  /**
   * Loads the scripts again, also when they were loaded before: after a server lost its script
   * cache (a restart, SCRIPT FLUSH), which a NOSCRIPT reply inside EXEC reveals.
   */
  reloadScripts(): Promise<void> {
    this.#scriptsLoaded = undefined;
    return this.loadScripts();
  }

  async tryAcquire(resources: readonly string[], token: string, ttlMs: number): Promise<AcquireResult> {
    const client = await this.#connections.commands();
    const sentAt = performance.now();
    const reply = await runScript(client, ACQUIRE, this.keyspace.keys(resources), [token, String(ttlMs), String(QUEUE_ENTRY_TTL_MS), '1']);
    return acquireResult(reply, sentAt, ttlMs);
  }

  /**
   * One try at taking every resource at once, with no queue and no fencing token ({@link TAKE}):
   * for an uncontended lock-mode call, whose commit WATCH fences. Resolves to
   * `{ acquired: true, fencingToken: 0, validUntil }` or `{ acquired: false, waitHintMs: 0 }`
   * (busy: wait through {@link SingleNodeBackend.tryAcquire}, which queues).
   */
  async tryTake(resources: readonly string[], token: string, ttlMs: number): Promise<AcquireResult> {
    const client = await this.#connections.commands();
    const sentAt = performance.now();
    const taken = await runScript(client, TAKE, this.keyspace.takeKeys(resources), [token, String(ttlMs)]);
    return takeResult(taken, sentAt, ttlMs);
  }

  async extend(resources: readonly string[], token: string, ttlMs: number): Promise<number | null> {
    const client = await this.#connections.commands();
    const sentAt = performance.now();
    const renewed = await runScript(client, EXTEND, this.keyspace.keys(resources), [token, String(ttlMs)]);
    return Number(renewed) === 1 ? sentAt + ttlMs - driftMs(ttlMs) : null;
  }

  async release(resources: readonly string[], token: string): Promise<boolean> {
    const client = await this.#connections.commands();
    const released = await runScript(client, RELEASE, this.keyspace.keys(resources), [token, '1', ...this.keyspace.channels(resources)]);
    return Number(released) === resources.length;
  }

  async leave(resources: readonly string[], token: string): Promise<void> {
    await this.release(resources, token); // RELEASE also takes a waiter out of the queues
  }

  listen(resources: readonly string[], token: string): Promise<ReleaseListener> {
    return this.#notifier.subscribe(this.keyspace.channels(resources), token);
  }

  close(): Promise<void> {
    this.#notifier.close();
    return Promise.resolve();
  }
}
