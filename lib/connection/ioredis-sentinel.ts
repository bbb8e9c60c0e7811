/**
 * An ioredis (or iovalkey) `Redis` configured for Sentinel (`sentinels`, `name`) as the source of a
 * transactor's connections: dedicated connections to the primary the Sentinels name when each
 * opens, and lock connections that follow failovers. The same guarantees as node-redis's Sentinel
 * client (`node-redis-sentinel.ts`):
 *
 * - A dedicated connection asks the Sentinels for the primary once, when it opens (ioredis's own
 *   Sentinel connector, checking the node's role), and never reconnects, queues or re-sends, like
 *   one to a single server (`ioredis-connection.ts`).
 * - A connection opened before the Sentinels named a new primary (`+switch-master`, see
 *   `ioredis-primary-watch.ts`) is not used for another attempt, nor sends an EXEC: the old primary
 *   may be unreachable (a silent partition), or still accept writes that the failover then loses.
 *   (A demoted primary also drops its clients by itself, when the Sentinels reconfigure it.)
 * - Lock connections reconnect, asking the Sentinels again, on each new primary.
 */
import type { ServerSource } from './connection-source.js';
import { IoredisConnection } from './ioredis-connection.js';
import { ioredisLockConnections } from './ioredis-lock-connections.js';
import { PrimaryWatch } from './ioredis-primary-watch.js';
import type { IoredisClient, IoredisCommandClass } from './ioredis-types.js';
import { prefixText } from './key-prefix.js';

/**
 * What every connection made on a Sentinel deployment overrides, on top of its kind's options:
 * the primary, checked by its role when it connects (ioredis's ready check, which an app may have
 * turned off); no `+switch-master` subscriptions per connection (one {@link PrimaryWatch} serves
 * them all).
 */
const SENTINEL_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({
  role: 'master',
  enableReadyCheck: true,
  failoverDetector: false,
});

/**
 * A dedicated connection also gives up at once when no Sentinel answers (the attempt fails and is
 * retried under the call's policy), instead of ioredis asking them again forever.
 */
const DEDICATED_SENTINEL_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({
  ...SENTINEL_OPTIONS,
  sentinelRetryStrategy: null,
});

/** Wraps an ioredis instance configured for Sentinel (checked by `ioredis-source.ts`). */
export function ioredisSentinelSourceFor(client: IoredisClient, Command: IoredisCommandClass): ServerSource {
  const watch = new PrimaryWatch(client);
  return {
    keyPrefix: prefixText(client.options.keyPrefix),
    openDedicated() {
      watch.start();
      const openedIn = watch.era;
      return IoredisConnection.open(client, Command, { overrides: DEDICATED_SENTINEL_OPTIONS, retiredWhen: () => watch.era !== openedIn });
    },
    lockConnections: (options = {}) =>
      ioredisLockConnections(client, Command, options, {
        overrides: SENTINEL_OPTIONS,
        // Called as each lock connection is made: on first use, not when the transactor is.
        onSwitch: (listener) => {
          watch.start();
          return watch.onSwitch(listener);
        },
      }),
    close: () => watch.close(),
  };
}
