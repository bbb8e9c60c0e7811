/**
 * Which primary the Sentinels of an ioredis (or iovalkey) `Redis` configured for Sentinel named
 * last, and how many times they named another: the "primary era" of the transactor's connections
 * (see `ioredis-sentinel.ts`). Learnt from `+switch-master`, which every Sentinel publishes when it
 * switches the master it monitors to a promoted replica.
 *
 * Why a subscription of our own: ioredis's `Redis` learns of a failover only when the old primary
 * drops its socket, or, with `failoverDetector: true`, by subscribing to `+switch-master` on every
 * Sentinel from every instance. The transactor has many dedicated connections and would open that
 * many subscriptions; this is one per transactor, on each Sentinel the app's instance names.
 */
import { noop } from '../util/noop.js';
import { settleWithin } from '../util/time-bounds.js';
import { endNow } from './ioredis-end.js';
import type { IoredisClient } from './ioredis-types.js';
import { parseSwitchMaster, SWITCH_MASTER } from './switch-master.js';
import { CLOSE_WAIT_MS } from './lock-connection-pair.js';

/** A Sentinel's address as ioredis takes it (`sentinels` option). */
interface SentinelAddress {
  readonly host?: string;
  readonly port?: number;
  readonly family?: number;
}

/** See the file's header. */
export class PrimaryWatch {
  /** How many times the Sentinels named a new primary since the watch started. */
  era = 0;
  readonly #template: IoredisClient;
  /** The primary named last (`ip:port`), so that each Sentinel's own announcement counts once. */
  #primary: string | undefined;
  #subscribers: IoredisClient[] | undefined;
  readonly #listeners = new Set<() => void>();
  #closed = false;

  constructor(template: IoredisClient) {
    this.#template = template;
  }

  /** Subscribes (once) on each Sentinel; the subscriptions reconnect by themselves until {@link close}. */
  start(): void {
    if (this.#subscribers || this.#closed) return;
    const options = this.#template.options;
    const name = String(options['name']);
    const sentinels = (options.sentinels as SentinelAddress[]).slice(0, Number(options['sentinelMaxConnections']) || Infinity);
    this.#subscribers = sentinels.map((sentinel) => {
      // What ioredis's own Sentinel connections use (SentinelConnector.connectToSentinel): the
      // Sentinels' credentials and TLS, not the data nodes'. A duplicate, for the app's own copy
      // of ioredis (the library does not import it), with every data-node option undone: a
      // connection to one server (no `sentinels`), no database, prefix or connection-wide setup.
      const subscriber = this.#template.duplicate({
        sentinels: null,
        Connector: undefined,
        db: 0,
        keyPrefix: '',
        readOnly: false,
        protocol: 2,
        commandTimeout: undefined,
        enableOfflineQueue: true,
        autoResubscribe: true,
        host: sentinel.host,
        port: sentinel.port ?? 26379,
        family: sentinel.family ?? options['family'],
        username: options['sentinelUsername'] ?? null,
        password: options['sentinelPassword'] ?? null,
        tls: options['sentinelTLS'],
        connectTimeout: options['connectTimeout'],
        enableReadyCheck: false,
        lazyConnect: true,
        // Reconnects (ioredis's default backoff) and subscribes again by itself.
        retryStrategy: (times: number) => Math.min(times * 50, 2_000),
      });
      subscriber.on('error', noop); // a Sentinel down is a Sentinel down: the others still speak
      subscriber.on('message', (channel: string, message: string) => {
        if (channel === SWITCH_MASTER) this.#switched(name, String(message));
      });
      subscriber.connect().catch(noop);
      (subscriber['subscribe'] as (channel: string) => Promise<unknown>)(SWITCH_MASTER).catch(noop);
      return subscriber;
    });
  }

  /** Calls `listener` on each new primary; returns how to stop. */
  onSwitch(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Ends the subscriptions; bounded, never rejects. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    await Promise.all(
      (this.#subscribers ?? []).map(async (subscriber) => {
        if (subscriber.status === 'ready') await settleWithin(subscriber.quit().catch(noop), CLOSE_WAIT_MS);
        endNow(subscriber);
      }),
    );
  }

  #switched(name: string, message: string): void {
    const announced = parseSwitchMaster(message);
    if (announced?.name !== name) return;
    const primary = announced.to;
    if (primary === this.#primary) return;
    this.#primary = primary;
    this.era++;
    for (const listener of this.#listeners) listener();
  }
}
