/**
 * The ordinary (reconnecting) ioredis connections a transactor's locks use on one server: one
 * that runs the lock scripts and one subscribed to release notifications (SSUBSCRIBE; ioredis
 * emits `smessage` and subscribes again after a reconnect). Made by `ioredis-source.ts`; the
 * cluster driver (`ioredis-cluster.ts`) subscribes through one {@link IoredisShared} per master.
 */
import { noop } from '../util/noop.js';
import { settleWithin } from '../util/time-bounds.js';
import type { LockConnections, ScriptClient, ShardedSubscriber } from './connection.js';
import { rawCommand } from './ioredis-command.js';
import { endNow } from './ioredis-end.js';
import type { IoredisClient, IoredisCommandClass } from './ioredis-types.js';
import { gatherWrites } from './ioredis-writes.js';
import { CLOSE_WAIT_MS, type LockConnectionOptions, LockConnectionPair } from './lock-connection-pair.js';

/**
 * What a lock connection overrides in the app's options. It reconnects (with ioredis's default
 * backoff, whatever the app's client does), but never re-sends a script written before a
 * disconnect: its caller has already been told the reply was lost, as with node-redis. No key
 * prefix: lock keys and channels are named as the server names them. RESP2, the protocol the lock
 * scripts' replies are read in (node-redis's default; the app never sees these replies).
 */
export const LOCK_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({
  lazyConnect: true,
  keyPrefix: '',
  protocol: 2,
  retryStrategy: (times: number) => Math.min(times * 50, 2_000),
  reconnectOnError: null,
  autoResendUnfulfilledCommands: false,
  enableAutoPipelining: false,
  stringNumbers: false,
  commandTimeout: undefined,
});

export type Listener = (message: string, channel: string) => void;

/**
 * Connects `client` and resolves once it is ready, through as many reconnects as that takes (as
 * node-redis's `connect()` does); rejects once it has ended (closed by the transactor). ioredis's own
 * `connect()` rejects at the first failed try while the client goes on reconnecting.
 */
export function ready(client: IoredisClient): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('end', () => reject(new Error('the lock connection was closed before it was ready')));
    client.connect().catch(noop);
  });
}

/** One shared connection: raw commands (a {@link ScriptClient}), or sharded subscriptions. */
export class IoredisShared implements ScriptClient, ShardedSubscriber {
  readonly #listeners = new Map<string, { readonly listeners: Set<Listener>; readonly subscribed: Promise<unknown> }>();
  /** Fails each command written on the current socket and not answered yet. */
  readonly #unanswered = new Set<(err: Error) => void>();

  constructor(
    readonly client: IoredisClient,
    readonly Command: IoredisCommandClass,
  ) {
    client.on('error', noop); // failures surface through the commands
    client.on('smessage', (channel: string, message: string) => {
      for (const listener of this.#listeners.get(channel)?.listeners ?? []) listener(message, channel);
    });
    // Without re-sending, ioredis drops what was unanswered when the socket closed and never
    // settles it (event_handler.js, readyHandler: prevCommandQueue = null): a lock try would wait
    // out its whole acquireTimeoutMs. Its reply is lost, as node-redis reports it; the caller tries again.
    client.on('close', () => {
      const lost = new Error('the lock connection closed before the reply (it is not re-sent)');
      for (const fail of this.#unanswered) fail(lost);
      this.#unanswered.clear();
    });
  }

  sendCommand(args: readonly string[]): Promise<unknown> {
    // The scripts of the calls that take or release a lock in this turn of the event loop: one write.
    gatherWrites(this.client, 'loop-turn');
    const reply = this.client.sendCommand(rawCommand(this.Command, args));
    // Queued while offline: ioredis sends it once connected, and answers it then.
    if (this.client.status !== 'ready') return reply;
    return new Promise((resolve, reject) => {
      this.#unanswered.add(reject);
      reply.then(resolve, reject).finally(() => this.#unanswered.delete(reject));
    });
  }

  sSubscribe(channels: string | string[], listener: Listener): Promise<unknown> {
    return Promise.all(
      [channels].flat().map((channel) => {
        const entry = this.#listeners.get(channel);
        if (entry) {
          entry.listeners.add(listener);
          return entry.subscribed;
        }
        const subscribed = this.client.ssubscribe(channel);
        this.#listeners.set(channel, { listeners: new Set([listener]), subscribed });
        return subscribed;
      }),
    );
  }

  sUnsubscribe(channels?: string | string[], listener?: Listener): Promise<unknown> {
    const names = channels === undefined ? [...this.#listeners.keys()] : [channels].flat();
    // A channel goes once its last listener does.
    const gone = names.filter((channel) => {
      const entry = this.#listeners.get(channel);
      if (!entry) return false;
      if (listener) entry.listeners.delete(listener);
      if (listener && entry.listeners.size > 0) return false;
      this.#listeners.delete(channel);
      return true;
    });
    return Promise.all(gone.map((channel) => this.client.sunsubscribe(channel)));
  }
}

/** Ends a shared connection: gracefully (after the replies of what it sent), but never longer than CLOSE_WAIT_MS. */
export async function endShared(client: IoredisClient): Promise<void> {
  if (client.status === 'ready') await settleWithin(client.quit().catch(noop), CLOSE_WAIT_MS);
  endNow(client);
}

/** How lock connections follow the primary of a Sentinel deployment (see `ioredis-sentinel.ts`). */
export interface FollowPrimary {
  /** What the connections override in the app's options on a Sentinel deployment. */
  readonly overrides: Readonly<Record<string, unknown>>;
  /** Calls `listener` each time the Sentinels name a new primary; returns how to stop. */
  onSwitch(listener: () => void): () => void;
}

/**
 * The lock service's connections to one server for an ioredis instance: duplicates that reconnect
 * (with {@link LOCK_OPTIONS}), closed gracefully (after the replies of what they sent) but never
 * longer than CLOSE_WAIT_MS. On a Sentinel deployment (`follow`), each reconnects when the
 * Sentinels name a new primary: ioredis asks them again then, instead of staying on a primary that
 * may be unreachable, or still take locks that the failover loses.
 */
export function ioredisLockConnections(
  template: IoredisClient,
  Command: IoredisCommandClass,
  options: LockConnectionOptions,
  follow?: FollowPrimary,
): LockConnections {
  const unfollow = new Map<IoredisClient, () => void>();
  return new LockConnectionPair<IoredisShared>(
    {
      create: (failFast) => {
        const client = template.duplicate({ ...LOCK_OPTIONS, ...follow?.overrides, ...(failFast ? { enableOfflineQueue: false } : {}) });
        if (follow) {
          unfollow.set(
            client,
            // Not while it waits to reconnect: it asks the Sentinels then anyway.
            follow.onSwitch(() => {
              if (client.status === 'ready' || client.status === 'connect') client.disconnect(true);
            }),
          );
        }
        return Promise.resolve(new IoredisShared(client, Command));
      },
      connect: ({ client }) => ready(client),
      end: ({ client }) => {
        unfollow.get(client)?.();
        unfollow.delete(client);
        return endShared(client);
      },
    },
    options,
  );
}
