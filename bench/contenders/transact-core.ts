import { randomUUID } from 'node:crypto';
import { DEFAULT_MAX_CONNECTIONS, isInvalidOptionsError, isTransactConflictError, type RetryPolicyInput, type TransactOptions } from '../library.js';
import type { Contender, ContenderName, Op, OpResult } from '../types.js';
import { NODE_REDIS, type TransactClient } from './transact-clients.js';

/** The transaction modes the harness knows; each becomes a contender once the library accepts it. */
export type TransactMode = 'optimistic' | 'lock' | 'auto';

/**
 * Generous on attempts (as many as the hand-written loop's cap, so give-ups mean the same thing),
 * the library's defaults for everything else: its backoff is part of what is measured.
 */
export const TRANSACT_RETRY: RetryPolicyInput = { maxAttempts: 1000 };

/**
 * The transactor's `maxConnections` for `concurrency` workers: one per worker up to the
 * library's default ({@link DEFAULT_MAX_CONNECTIONS}). Users keep the default; more would only
 * add conflicts on a hot key.
 */
export function transactConnections(concurrency: number): number {
  return Math.min(concurrency, DEFAULT_MAX_CONNECTIONS);
}

/** What a redis-transact contender passes on every `tx.transact` call. */
export interface TransactCallSettings {
  readonly mode: TransactMode;
  /** `exactlyOnce: true` on every call: a commit marker watched and set per attempt. @defaultValue false */
  readonly exactlyOnce?: boolean;
}

/** A redis-transact contender: what it passes on every call, and the client it runs on. */
export interface TransactContenderSettings extends TransactCallSettings {
  /** The client library its transactor is built on. @defaultValue NODE_REDIS */
  readonly client?: TransactClient;
}

/** The call options the harness may pass, each of which a library may not know yet. */
export type ProbedOption = 'mode' | 'exactlyOnce';

/** What one probe call came to: taken (`undefined`), an option refused, or another failure. */
export type ProbeOutcome = { readonly refused: ProbedOption } | { readonly failed: string } | undefined;

/** How long the probe's commit marker lives: the least the library takes. */
const PROBE_MARKER_TTL_MS = 1_000;

/**
 * What a probe call's error says: the option of `options` an InvalidOptionsError names (unknown,
 * or a value the library does not take, e.g. a mode it does not have), else the failure.
 */
export function probeFailure(err: unknown, options: TransactOptions): NonNullable<ProbeOutcome> {
  if (isInvalidOptionsError(err)) {
    // exactlyOnce first: a library without it may not know `mode` either; the contender is n/a either way.
    const refused = (['exactlyOnce', 'mode'] as const).find((option) => option in options && new RegExp(`\\b${option}\\b`).test(err.message));
    if (refused) return { refused };
  }
  return { failed: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
}

/** Runs one call with `options` that reads and queues nothing, on its own `client` and transactor. */
async function probeCall(client: TransactClient, url: string, options: TransactOptions): Promise<ProbeOutcome> {
  const tx = await client.open(url, { maxConnections: 1 });
  try {
    // A transaction that queues nothing sends no EXEC: the probe writes no data. An exactly-once
    // one still commits its marker, alone; that key carries no cell tag, so it expires soon.
    const probeOptions = options.exactlyOnce ? { ...options, markerTtlMs: PROBE_MARKER_TTL_MS } : options;
    const nothing: Op = { keys: [`{bench:probe:${randomUUID().slice(0, 8)}}`], reads: [], decide: () => [], luaArgs: [] };
    await tx.transact(nothing, probeOptions);
    return undefined;
  } catch (err) {
    return probeFailure(err, options);
  } finally {
    await tx.close();
  }
}

/**
 * The options a contender with `settings` passes on every call, found by trying them with
 * `tryCall`; or why it cannot run (shown as n/a). Optimistic mode, the default of libraries older than auto mode, goes without
 * `mode` on a library that does not know the option; nothing else is left out.
 */
export async function probeCallOptions(
  settings: TransactCallSettings,
  tryCall: (options: TransactOptions) => Promise<ProbeOutcome>,
): Promise<{ readonly options: TransactOptions | undefined } | { readonly unavailable: string }> {
  let options: TransactOptions = { mode: settings.mode, ...(settings.exactlyOnce ? { exactlyOnce: true } : {}) };
  for (;;) {
    const outcome = await tryCall(options);
    if (outcome === undefined) return { options: Object.keys(options).length > 0 ? options : undefined };
    if ('failed' in outcome) return { unavailable: `probe failed: ${outcome.failed}` };
    if (outcome.refused === 'mode' && settings.mode === 'optimistic') {
      options = { ...options };
      delete options.mode; // refused once, it is not in the options the next try could refuse
      continue;
    }
    return {
      unavailable:
        outcome.refused === 'mode'
          ? `this redis-transact has no mode '${settings.mode}' (options.mode is not a known option)`
          : 'this redis-transact has no exactly-once commits (options.exactlyOnce is not a known option)',
    };
  }
}

/**
 * A redis-transact contender on `settings.client` (node-redis unless given): `tx.transact(op.keys,
 * fn, options)`, where `fn` reads with `t.read` (all reads in one round trip) and queues the writes
 * on `t.write`, and `options` are `{ mode }` plus `exactlyOnce: true` when `settings` ask for it.
 */
export function transactContender(name: ContenderName, summary: string, settings: TransactContenderSettings): Contender {
  const client = settings.client ?? NODE_REDIS;
  // Decided by `probe`: optimistic runs without `mode` when the library does not know the option.
  let callOptions: TransactOptions | undefined;
  return {
    name,
    summary,
    async probe(url) {
      const found = await probeCallOptions(settings, (options) => probeCall(client, url, options));
      if ('unavailable' in found) return found.unavailable;
      callOptions = found.options;
      return undefined;
    },
    async setup(ctx) {
      const tx = await client.open(ctx.url, { maxConnections: transactConnections(ctx.concurrency), retry: TRANSACT_RETRY });
      return {
        async run(op: Op): Promise<OpResult> {
          try {
            const { attempts } = await tx.transact(op, callOptions);
            return { committed: true, attempts };
          } catch (err) {
            if (isTransactConflictError(err)) return { committed: false, attempts: err.attempts };
            throw err;
          }
        },
        teardown: () => tx.close(),
      };
    },
  };
}
