/**
 * Subscriptions to `+switch-master` on the Sentinels of a node-redis Sentinel client's primary: how
 * a transactor on it learns of a failover as soon as the Sentinels announce it.
 *
 * Why our own: node-redis pattern-subscribes to `switch-master` (no `+`), which matches nothing the
 * Sentinels publish, so its `MASTER_CHANGE` comes only with a later event; meanwhile an attempt
 * could still commit on an idle connection to the old primary, which the failover then loses. Why
 * on every Sentinel: the failover's leader announces the new primary when it ends the failover, the
 * others only once they hear of it, up to a second later.
 *
 * node-redis keeps the Sentinels' list and credentials to itself: the watch starts from the Sentinel
 * the client talks to now, learns the primary's name (`SENTINEL MASTERS`) and the other Sentinels
 * (`SENTINEL SENTINELS`), and connects as each Sentinel's default user, with the primary's client's
 * TLS, RESP and socket options. A Sentinel that requires a login refuses it, and the era then follows
 * `MASTER_CHANGE` alone, as before.
 */
import { noop } from '../util/noop.js';
import { settleWithin } from '../util/time-bounds.js';
import { CLOSE_WAIT_MS } from './lock-connection-pair.js';
import type { NodeRedisClient } from './node-redis-types.js';
import { parseSwitchMaster, SWITCH_MASTER } from './switch-master.js';

/** What the watch needs of a node-redis client of a Sentinel. */
interface SentinelConnection {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  on(event: string, listener: (...args: any[]) => void): unknown;
  connect(): Promise<unknown>;
  sendCommand(args: readonly string[]): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): void;
}

interface Address {
  readonly host: string;
  readonly port: number;
}

/** See the file's header. `switched` gets the old and the new primary's `ip:port`. */
export class SwitchWatch {
  readonly #connections: SentinelConnection[] = [];
  #closed = false;

  constructor(template: NodeRedisClient, sentinel: Address, primary: string, switched: (from: string, to: string) => void) {
    const open = (address: Address): SentinelConnection => {
      const connection = template.duplicate({
        socket: { ...template.options?.socket, host: address.host, port: address.port },
        username: undefined,
        password: undefined,
        credentialsProvider: undefined,
        database: undefined,
        keyPrefix: undefined,
        clientSideCache: undefined,
        commandOptions: { ...template._commandOptions, timeout: 0 },
      }) as unknown as SentinelConnection;
      connection.on('error', noop); // a Sentinel down or refusing us: MASTER_CHANGE still comes
      this.#connections.push(connection);
      return connection;
    };
    void (async () => {
      const first = open(sentinel);
      await first.connect();
      const name = nameOf((await first.sendCommand(['SENTINEL', 'MASTERS'])) as unknown[], primary);
      if (name === undefined || this.#closed) return this.close();
      const others = ((await first.sendCommand(['SENTINEL', 'SENTINELS', name])) as unknown[]).map(fieldsOf);
      const listen = (message: string) => {
        const announced = parseSwitchMaster(String(message));
        if (announced?.name === name) switched(announced.from, announced.to);
      };
      await first.subscribe(SWITCH_MASTER, listen);
      for (const other of others) {
        if (this.#closed) break;
        const connection = open({ host: String(other['ip']), port: Number(other['port']) });
        void connection
          .connect()
          .then(() => connection.subscribe(SWITCH_MASTER, listen))
          .catch(noop);
      }
    })().catch(() => this.close());
  }

  /** Ends the subscriptions; bounded, never rejects. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      this.#connections.map(async (connection) => {
        if (connection.isReady) await settleWithin(connection.close(), CLOSE_WAIT_MS).catch(noop);
        if (connection.isOpen) connection.destroy();
      }),
    );
  }
}

/** The name of the master at `primary` (`ip:port`) in a `SENTINEL MASTERS` reply. */
function nameOf(masters: unknown[], primary: string): string | undefined {
  const master = masters.map(fieldsOf).find((m) => `${String(m['ip'])}:${String(m['port'])}` === primary);
  return master && String(master['name']);
}

/** A Sentinel reply's field list (RESP2: flat pairs; RESP3: a map) as an object. */
function fieldsOf(entry: unknown): Record<string, unknown> {
  if (entry instanceof Map) return Object.fromEntries(entry);
  if (Array.isArray(entry)) {
    const fields: Record<string, unknown> = {};
    for (let i = 0; i + 1 < entry.length; i += 2) fields[String(entry[i])] = entry[i + 1];
    return fields;
  }
  return (entry ?? {}) as Record<string, unknown>;
}
