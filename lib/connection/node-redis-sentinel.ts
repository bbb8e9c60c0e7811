/**
 * A node-redis Sentinel client (`createSentinel`) as the source of a transactor's connections:
 * dedicated connections to the primary the Sentinels name now, and lock connections that follow
 * failovers by themselves.
 *
 * Why our own connections and not node-redis's master leases (`sentinel.acquire()`/`use()`): the
 * leases are few (`masterPoolSize`, 1 by default) and shared with the app, and a lease reconnects
 * and re-runs its work on a new socket, where an EXEC whose reply was lost must instead be reported
 * (or settled) as an unknown outcome. A dedicated connection is a duplicate of the Sentinel's own
 * master client (its credentials, TLS, RESP), pointed at the primary the Sentinel client names now,
 * that never reconnects, like the ones a transactor opens on a single server.
 */
import { TransactUsageError } from '../errors/usage-errors.js';
import { noop } from '../util/noop.js';
import { settleWithin } from '../util/time-bounds.js';
import type { LockConnections, ScriptClient, ShardedSubscriber } from './connection.js';
import type { ServerSource } from './connection-source.js';
import { prefixText } from './key-prefix.js';
import { CLOSE_WAIT_MS } from './lock-connection-pair.js';
import { LazyConnection } from './lazy-connection.js';
import { NodeRedisConnection } from './node-redis-connection.js';
import { warnIfAnotherCopy } from './node-redis-copy.js';
import type { NodeRedisClient } from './node-redis-types.js';
import { SwitchWatch } from './node-redis-switch-watch.js';

/** The slice of node-redis's Sentinel client (`RedisSentinel`) used here. */
interface NodeRedisSentinel extends ShardedSubscriber {
  readonly isOpen: boolean;
  readonly _keyPrefix?: unknown;
  getMasterNode(): { host: string; port: number } | undefined;
  getSentinelNode(): unknown;
  /** Runs `fn` with the Sentinel's client to the primary (on its shared master lease). */
  _execute<T>(isReadonly: boolean | undefined, fn: (client: NodeRedisClient) => Promise<T>): Promise<T>;
  sendCommand(isReadonly: boolean | undefined, args: readonly string[]): Promise<unknown>;
  duplicate(overrides?: Record<string, unknown>): NodeRedisSentinel;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): Promise<unknown>;
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** Recognises a node-redis Sentinel client. */
export function isSentinel(value: unknown): boolean {
  const v = value as Partial<NodeRedisSentinel> | null;
  return typeof v === 'object' && v !== null && typeof v.getMasterNode === 'function' &&
    typeof v.getSentinelNode === 'function' && typeof v._execute === 'function';
}

/**
 * Which primary each Sentinel client named last, and how many times it named another: one
 * listener per Sentinel client (however many transactors share it), never removed (it is as small
 * as the client's own).
 */
const primaries = new WeakMap<NodeRedisSentinel, PrimaryState>();

interface PrimaryState {
  era: number;
  primary: string | undefined;
  /**
   * The primary the Sentinels announced (`+switch-master`) that the Sentinel client has not
   * reported yet: where new connections go until it does; `from`, the primary it replaced.
   */
  announced: { host: string; port: number; from: string } | undefined;
}

/**
 * How many times `sentinel` reported a new primary. A connection opened in an earlier era is not
 * used for another attempt: the old primary may be unreachable (a silent partition), or still
 * accept writes that a failover then loses. (A demoted primary also drops its clients by itself.)
 */
function primaryEra(sentinel: NodeRedisSentinel): PrimaryState {
  let known = primaries.get(sentinel);
  if (!known) {
    const state: PrimaryState = { era: 0, primary: addressOf(sentinel.getMasterNode()), announced: undefined };
    sentinel.on('topology-change', (event: { type?: string; node?: { host: string; port: number } } | undefined) => {
      if (event?.type !== 'MASTER_CHANGE') return;
      // node-redis reports MASTER_CHANGE on every rediscovery when a nodeAddressMap is set (it
      // compares mapped with unmapped addresses): only another address is a new primary.
      const primary = addressOf(event.node);
      if (state.announced) {
        // Sentinels switch one after the other: a rediscovery may still hear of the primary the
        // announcement replaced. Once the client names another, it knows (its address, mapped if
        // need be).
        if (primary === state.announced.from) return;
        state.announced = undefined;
      }
      named(state, primary);
    });
    primaries.set(sentinel, (known = state));
  }
  return known;
}

/** The Sentinels (or the Sentinel client) named `primary`: a new era unless it is the one named last. */
function named(state: PrimaryState, primary: string | undefined): void {
  if (primary !== undefined && primary === state.primary) return;
  state.primary = primary;
  state.era++;
}

function nodeOf(address: string): { host: string; port: number } {
  const separator = address.lastIndexOf(':');
  return { host: address.slice(0, separator), port: Number(address.slice(separator + 1)) };
}

function addressOf(node: { host: string; port: number } | undefined): string | undefined {
  return node && `${node.host}:${node.port}`;
}

/** Wraps a Sentinel client (one {@link isSentinel} recognised). */
export function sentinelSourceFor(source: unknown): ServerSource {
  const sentinel = source as NodeRedisSentinel;
  warnIfAnotherCopy(sentinel, 'sentinel');
  // node-redis applies a Sentinel's key prefix above its node clients, which carry none.
  const keyPrefix = prefixText(sentinel._keyPrefix);
  const known = primaryEra(sentinel);
  let template: Promise<NodeRedisClient> | undefined;
  let switches: SwitchWatch | undefined;
  let closed = false;
  return {
    keyPrefix,
    async openDedicated() {
      if (!sentinel.isOpen) {
        throw new TransactUsageError('the Sentinel client is not connected: call connect() on it before using the transactor');
      }
      // The Sentinel's master client carries the node options (credentials, TLS, RESP): the
      // template of every dedicated connection, whichever node is the primary. A failed lookup is
      // forgotten, so the next attempt asks again.
      if (!template) {
        const lookup = sentinel._execute(false, (client) => Promise.resolve(client));
        lookup.catch(() => {
          if (template === lookup) template = undefined;
        });
        template = lookup;
      }
      const openedIn = known.era;
      const client = await template;
      const watched = sentinel.getSentinelNode() as { host: string; port: number } | undefined;
      if (!switches && !closed && watched && known.primary !== undefined) {
        switches = new SwitchWatch(client, watched, known.primary, (from, primary) => {
          if (primary === known.primary) return;
          known.announced = { ...nodeOf(primary), from };
          named(known, primary);
        });
      }
      const primary = known.announced ?? sentinel.getMasterNode();
      // Between a failover and the Sentinel client's rediscovery there is no ready primary client.
      if (!primary) throw new Error('redis-transact: the Sentinel client knows no reachable primary right now');
      return NodeRedisConnection.open(client, {
        socket: { host: primary.host, port: primary.port },
        keyPrefix,
        retiredWhen: () => known.era !== openedIn,
      });
    },
    lockConnections: () => new SentinelLockConnections(sentinel),
    close: async () => {
      closed = true;
      await switches?.close();
    },
  };
}

/**
 * The lock service's connections on a Sentinel deployment: a Sentinel client of its own
 * (`duplicate()`, so the user's is never blocked or closed by us), whose master client and pub/sub
 * follow the primary through failovers.
 */
class SentinelLockConnections implements LockConnections {
  readonly #shared: LazyConnection<NodeRedisSentinel>;

  constructor(sentinel: NodeRedisSentinel) {
    this.#shared = new LazyConnection<NodeRedisSentinel>({
      create: () => {
        // No client-side cache (a read served from it is not guarded by WATCH) and no replica
        // connections (locks only ever use the primary).
        const shared = sentinel.duplicate({ clientSideCache: undefined, replicaPoolSize: 0 });
        shared.on('error', noop); // failures surface through the commands
        return Promise.resolve(shared);
      },
      connect: (shared) => shared.connect(),
      // Bounded: destroy() waits for a rediscovery under way, and Sentinels that are down must not
      // hold close().
      end: (shared) => settleWithin(shared.destroy(), CLOSE_WAIT_MS).then(noop, noop),
    });
  }

  async commands(): Promise<ScriptClient> {
    const shared = await this.#shared.get();
    return {
      sendCommand: (args) => shared.sendCommand(false, args),
      // On one master client, as one unit: two sendCommand calls may go out on two sockets (with
      // masterPoolSize > 1), and node-redis re-sends a command on the new primary after a
      // failover; a WAIT re-sent alone would count replicas of a socket that wrote nothing. Re-sent
      // together, the WAIT covers the write it follows.
      // node-redis re-runs the pair only when the first command (the write) fails for a failover.
      sendTogether: (commands) =>
        shared._execute(false, async (client) => {
          const settled = await Promise.allSettled(commands.map((args) => client.sendCommand(args)));
          if (settled[0]?.status === 'rejected') throw settled[0].reason;
          return settled;
        }).catch((reason: unknown) => commands.map((): PromiseSettledResult<unknown> => ({ status: 'rejected', reason }))),
    };
  }

  subscriber(): Promise<ShardedSubscriber> {
    return this.#shared.get();
  }

  async loadScripts(sources: readonly string[]): Promise<void> {
    const shared = await this.#shared.get();
    await Promise.all(sources.map((source) => shared.sendCommand(false, ['SCRIPT', 'LOAD', source])));
  }

  close(): Promise<void> {
    return this.#shared.close();
  }
}
