import type { ShardedSubscriber } from '../connection/connection.js';
import { noop } from '../util/noop.js';

interface ChannelState {
  refs: number;
  ready: Promise<unknown>;
  readonly waiters: Set<Subscription>;
  linger: NodeJS.Timeout | undefined;
}

/** Keeps a hot channel subscribed a little after its last waiter left, saving SSUBSCRIBE trips. */
const LINGER_MS = 2_000;

/**
 * Wakes lock waiters when a holder releases: one subscriber connection per lock service,
 * channels subscribed while someone waits on them, shared by every waiter in the process.
 * A release names whose turn it is, so only that waiter wakes; an empty name wakes everyone.
 */
export class ReleaseNotifier {
  readonly #open: () => Promise<ShardedSubscriber>;
  #subscriber: Promise<ShardedSubscriber> | undefined;
  readonly #channels = new Map<string, ChannelState>();
  readonly #listener = (message: string, channel: string) => {
    for (const waiter of this.#channels.get(channel)?.waiters ?? []) {
      // '' wakes everyone; a bare token (scripts of an earlier build) wakes its waiter to look again.
      if (message === '' || message === waiter.token) waiter.notify(undefined);
      // `token:ticket`: a hand-over to that waiter's place in line.
      else if (message.startsWith(waiter.token) && message[waiter.token.length] === ':') {
        waiter.notify(Number(message.slice(waiter.token.length + 1)));
      }
    }
  };

  constructor(open: () => Promise<ShardedSubscriber>) {
    this.#open = open;
  }

  /**
   * Subscribes `token`'s waiter to `channels` (if not already) and resolves once the server
   * confirmed, so a release published after this resolves is seen, also between two waits.
   * Check the lock again after this: a release published before it was missed.
   */
  async subscribe(channels: readonly string[], token: string): Promise<Subscription> {
    const subscriber = await (this.#subscriber ??= this.#open());
    const states = channels.map((channel) => this.#retain(subscriber, channel));
    const subscription = new Subscription(token, () => {
      for (const [i, state] of states.entries()) {
        state.waiters.delete(subscription);
        this.#releaseRef(channels[i]!, state);
      }
    });
    for (const state of states) state.waiters.add(subscription);
    try {
      await Promise.all(states.map((state) => state.ready));
    } catch (err) {
      subscription.close();
      throw err;
    }
    return subscription;
  }

  /** Forgets every subscription. The subscriber connection belongs to whoever opened it. */
  close(): void {
    for (const state of this.#channels.values()) clearTimeout(state.linger);
    this.#channels.clear();
    this.#subscriber = undefined;
  }

  #retain(subscriber: ShardedSubscriber, channel: string): ChannelState {
    let state = this.#channels.get(channel);
    if (!state) {
      state = { refs: 0, ready: subscriber.sSubscribe(channel, this.#listener), waiters: new Set(), linger: undefined };
      this.#channels.set(channel, state);
      const created = state;
      state.ready.catch(() => {
        if (this.#channels.get(channel) === created) this.#channels.delete(channel);
      });
    }
    clearTimeout(state.linger);
    state.linger = undefined;
    state.refs++;
    return state;
  }

  #releaseRef(channel: string, state: ChannelState): void {
    if (--state.refs > 0) return;
    state.linger = setTimeout(() => {
      if (state.refs > 0 || this.#channels.get(channel) !== state) return;
      this.#channels.delete(channel);
      void this.#subscriber?.then((s) => s.sUnsubscribe(channel, this.#listener)).catch(noop);
    }, LINGER_MS);
    state.linger.unref();
  }
}

/**
 * One waiter's hold on a set of channels. A release that names it while it is not waiting (it is
 * busy re-checking the lock) is kept, and ends its next wait at once.
 */
export class Subscription {
  /** The lock token this waiter answers to. */
  readonly token: string;
  readonly #release: () => void;
  /** A release woke it while it was not waiting: `ticket`, when that release handed it the lock. */
  #notified: { ticket: number | undefined } | undefined;
  #wake: ((ticket: number | undefined) => void) | undefined;
  #closed = false;

  /** @internal */
  constructor(token: string, release: () => void) {
    this.token = token;
    this.#release = release;
  }

  /** @internal `ticket`: the release handed this waiter's place in line `ticket` the lock. */
  notify(ticket: number | undefined): void {
    if (this.#wake) this.#wake(ticket);
    else this.#notified = { ticket: ticket ?? this.#notified?.ticket };
  }

  /**
   * Resolves when a release names this waiter (or nobody), after `timeoutMs`, or when `signal`
   * aborts, whichever comes first: to the ticket a release named it with (the lock was handed to
   * that place in line), else `undefined`. Never rejects: the caller checks the lock.
   */
  wait(timeoutMs: number, signal: AbortSignal | undefined): Promise<number | undefined> {
    const notified = this.#notified;
    if (notified || signal?.aborted) {
      this.#notified = undefined;
      return Promise.resolve(notified?.ticket);
    }
    return new Promise((resolve) => {
      const done = (ticket: number | undefined) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', stopped);
        this.#wake = undefined;
        resolve(ticket);
      };
      const stopped = () => done(undefined);
      this.#wake = done;
      const timer = setTimeout(stopped, Math.max(0, timeoutMs));
      timer.unref();
      signal?.addEventListener('abort', stopped, { once: true });
    });
  }

  /** Lets go of the channels (they stay subscribed a moment in case another waiter comes). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#release();
  }
}
