/**
 * What every driver's {@link DedicatedConnection} keeps alike, whatever its client library: a
 * WATCH left behind (cleared before the next one), the commands that must land before the socket
 * is dropped, and the era the connection belongs to (a Sentinel deployment's primary). Each driver
 * adds what its client does differently: how WATCH and UNWATCH are sent, whether the socket is up,
 * how it is closed.
 */
import { noop } from '../util/noop.js';
import { settleWithin } from '../util/time-bounds.js';
import type { DedicatedConnection } from './connection.js';

/** How long a retired connection may wait for the replies of what it already sent. */
const RETIRE_WAIT_MS = 2_000;

export abstract class DedicatedConnectionBase implements Pick<DedicatedConnection, 'alive' | 'watch' | 'abandonWatch' | 'mustLand' | 'retire' | 'destroy'> {
  /** A WATCH of an attempt that ended without EXEC (or whose EXEC never went out) is still set. */
  #staleWatch = false;
  /**
   * Commands whose effect must land before their call's cleanup (an EXEC that releases, a lease
   * renewal), until their replies: dropping the connection waits for these, and only these.
   */
  readonly #landing = new Set<Promise<unknown>>();
  readonly #retiredWhen: (() => boolean) | undefined;

  /** @param retiredWhen - says when the connection is no longer to be used though its socket is up (a Sentinel named another primary). */
  protected constructor(retiredWhen: (() => boolean) | undefined) {
    this.#retiredWhen = retiredWhen;
  }

  /** Whether the socket is up and takes commands, whatever the era. */
  protected abstract get connected(): boolean;
  protected abstract sendWatch(keys: readonly string[]): Promise<unknown>;
  protected abstract sendUnwatch(): Promise<unknown>;
  abstract destroy(): void;

  get alive(): boolean {
    return this.connected && !this.#retiredWhen?.();
  }

  watch(keys: readonly string[]): Promise<unknown> {
    if (this.#staleWatch) {
      this.#staleWatch = false;
      // Pipelined ahead of the WATCH: no round trip of its own, and a failure shows on the WATCH.
      this.sendUnwatch().catch(noop);
    }
    return this.sendWatch(keys);
  }

  abandonWatch(): void {
    this.#staleWatch = true;
  }

  /** The attempt's WATCH is still set: nothing of its MULTI..EXEC went out. */
  protected watchLeftSet(): void {
    this.#staleWatch = true;
  }

  mustLand(reply: Promise<unknown>): void {
    this.#landing.add(reply);
    const landed = () => this.#landing.delete(reply);
    reply.then(landed, landed);
  }

  retire(): Promise<void> {
    if (this.#landing.size === 0 || !this.connected) {
      this.destroy();
      return Promise.resolve();
    }
    return settleWithin(Promise.allSettled(this.#landing), RETIRE_WAIT_MS).then(() => this.destroy());
  }
}
