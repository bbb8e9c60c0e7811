import { performance } from 'node:perf_hooks';
import { type AcquireResult, driftMs, type LockBackend, type ReleaseListener } from './lock-backend.js';
import { type LockKeyspace, QUEUE_ENTRY_TTL_MS } from './lock-keys.js';
import type { LockConnections } from '../connection/connection.js';
import type { ReleaseNotifier } from './release-notifier.js';
import { runScript } from './run-script.js';
import { type LockReplication, notReplicated, runScriptReplicated } from './replicated-script.js';
import type { LuaScript } from './scripts.js';
import { ACQUIRE, EXTEND, RELEASE, SINGLE_NODE_SCRIPTS, TAKE } from './scripts.js';
import { noop } from '../util/noop.js';

/** Turns an ACQUIRE reply into a result, timing the lease from when the request was sent. */
export function acquireResult(reply: unknown, sentAt: number, ttlMs: number): AcquireResult {
  const [taken, value, ticket] = reply as [number, number, number | undefined];
  if (taken === 1) return { acquired: true, fencingToken: Number(value), validUntil: sentAt + ttlMs - driftMs(ttlMs) };
  return { acquired: false, waitHintMs: Number(value), ...(ticket === undefined ? {} : { ticket: Number(ticket) }) };
}

/** Turns a TAKE reply into a result, timing the lease from when the request was sent. */
export function takeResult(reply: unknown, sentAt: number, ttlMs: number): AcquireResult {
  if (Number(reply) === 1) return { acquired: true, fencingToken: 0, validUntil: sentAt + ttlMs - driftMs(ttlMs) };
  return { acquired: false, waitHintMs: 0 };
}

/**
 * Locks on one Redis server (or on the one cluster node that owns their slot). Waiters queue in
 * order and a release hands the lock to the first one whose resources are all free (see RELEASE).
 */
export class SingleNodeBackend implements LockBackend {
  readonly keyspace: LockKeyspace;
  readonly #connections: LockConnections;
  readonly #notifier: ReleaseNotifier;
  #scriptsLoaded: Promise<void> | undefined;

  constructor(connections: LockConnections, notifier: ReleaseNotifier, keyspace: LockKeyspace) {
    this.#connections = connections;
    this.#notifier = notifier;
    this.keyspace = keyspace;
  }

  /**
   * Loads the scripts into the server's cache once, so lock mode can send them by SHA, also
   * inside MULTI (where a missing script is not loaded on the fly: see `scriptCommand`).
   */
  loadScripts(): Promise<void> {
    this.#scriptsLoaded ??= this.#connections
      .loadScripts(SINGLE_NODE_SCRIPTS.map((lua) => lua.source))
      .then(
        noop,
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

  async tryAcquire(resources: readonly string[], token: string, ttlMs: number, replication?: LockReplication): Promise<AcquireResult> {
    const sentAt = performance.now();
    const args = [token, String(ttlMs), String(QUEUE_ENTRY_TTL_MS), '1'];
    const reply = await this.#run(ACQUIRE, resources, this.keyspace.keys(resources, token), args, replication, 'the lock');
    return acquireResult(reply, sentAt, ttlMs);
  }

  /**
   * One try at taking every resource at once, with no queue and no fencing token ({@link TAKE}):
   * for an uncontended lock-mode call, whose commit WATCH fences. Resolves to
   * `{ acquired: true, fencingToken: 0, validUntil }` or `{ acquired: false, waitHintMs: 0 }`
   * (busy: wait through {@link SingleNodeBackend.tryAcquire}, which queues).
   */
  async tryTake(resources: readonly string[], token: string, ttlMs: number, replication?: LockReplication): Promise<AcquireResult> {
    const sentAt = performance.now();
    const taken = await this.#run(TAKE, resources, this.keyspace.takeKeys(resources), [token, String(ttlMs)], replication, 'the lock');
    return takeResult(taken, sentAt, ttlMs);
  }

  async extend(resources: readonly string[], token: string, ttlMs: number, replication?: LockReplication): Promise<number | null> {
    const sentAt = performance.now();
    const renewed = await this.#run(EXTEND, resources, this.keyspace.keys(resources, token), [token, String(ttlMs)], replication, 'the renewal');
    return Number(renewed) === 1 ? sentAt + ttlMs - driftMs(ttlMs) : null;
  }

  async release(resources: readonly string[], token: string): Promise<boolean> {
    const client = await this.#connections.commands();
    const released = await runScript(client, RELEASE, this.keyspace.keys(resources, token), [token, '1', ...this.keyspace.channels(resources)]);
    return Number(released) === resources.length;
  }


  /**
   * Runs a script that takes or renews a lock; with `replication`, followed by WAIT on the same
   * connection. A lock taken (or renewed) that too few replicas acknowledged does not count: a
   * take is given back by token, and both reject with `LockUnavailableError` `'replication'`.
   */
  async #run(
    lua: LuaScript,
    resources: readonly string[],
    keys: readonly string[],
    args: readonly string[],
    replication: LockReplication | undefined,
    what: 'the lock' | 'the renewal',
  ): Promise<unknown> {
    const client = await this.#connections.commands();
    if (!replication) return runScript(client, lua, keys, args);
    const replicated = await runScriptReplicated(client, lua, keys, args, replication);
    const { reply } = replicated;
    const wrote = Array.isArray(reply) ? Number(reply[0]) === 1 : Number(reply) === 1;
    if (!wrote || replicated.replicatedTo >= replication.replicas) return reply;
    if (what === 'the lock') await this.release(resources, args[0]!).catch(noop);
    throw notReplicated(resources, what, replicated, replication);
  }

  listen(resources: readonly string[], token: string): Promise<ReleaseListener> {
    return this.#notifier.subscribe(this.keyspace.channels(resources), token);
  }

  close(): Promise<void> {
    this.#notifier.close();
    return Promise.resolve();
  }
}
