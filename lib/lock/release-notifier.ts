/** The sharded pub/sub slice of a node-redis client (standalone or cluster). */
export interface ShardedSubscriber {
  sSubscribe(channels: string | string[], listener: (message: string, channel: string) => void): Promise<unknown>;
  sUnsubscribe(channels?: string | string[], listener?: (message: string, channel: string) => void): Promise<unknown>;
  close?(): Promise<unknown>;
  destroy?(): unknown;
  readonly isReady?: boolean;
}

interface Waiter {
  readonly token: string;
  readonly wake: () => void;
}

interface ChannelState {
  refs: number;
  ready: Promise<unknown>;
  readonly waiters: Set<Waiter>;
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
      if (message === '' || message === waiter.token) waiter.wake();
    }
  };

  constructor(open: () => Promise<ShardedSubscriber>) {
    this.#open = open;
  }

  /**
   * Subscribes to `channels` (if not already) and resolves once the server confirmed, so a
   * release published after this resolves is seen. Check the lock again after this: a release
   * published before it was missed.
   */
  async subscribe(channels: readonly string[]): Promise<Subscription> {
    const subscriber = await (this.#subscriber ??= this.#open());
    await Promise.all(channels.map((channel) => this.#retain(subscriber, channel)));
    return new Subscription(this.#channels, channels, (channel) => this.#releaseRef(channel));
  }

  /** Unsubscribes everything and closes the subscriber connection. */
  async close(): Promise<void> {
    for (const state of this.#channels.values()) clearTimeout(state.linger);
    this.#channels.clear();
    const subscriber = await this.#subscriber?.catch(() => undefined);
    this.#subscriber = undefined;
    if (subscriber?.isReady === false) subscriber.destroy?.();
    else await subscriber?.close?.().catch(() => subscriber.destroy?.());
  }

  #retain(subscriber: ShardedSubscriber, channel: string): Promise<unknown> {
    let state = this.#channels.get(channel);
    if (!state) {
      state = { refs: 0, ready: subscriber.sSubscribe(channel, this.#listener), waiters: new Set(), linger: undefined };
      this.#channels.set(channel, state);
      state.ready.catch(() => this.#channels.delete(channel));
    }
    clearTimeout(state.linger);
    state.linger = undefined;
    state.refs++;
    return state.ready;
  }

  #releaseRef(channel: string): void {
    const state = this.#channels.get(channel);
    if (!state || --state.refs > 0) return;
    state.linger = setTimeout(() => {
      if (state.refs > 0 || this.#channels.get(channel) !== state) return;
      this.#channels.delete(channel);
      void this.#subscriber?.then((s) => s.sUnsubscribe(channel, this.#listener)).catch(() => {});
    }, LINGER_MS);
    state.linger.unref();
  }
}

/** One waiter's hold on a set of channels. */
export class Subscription {
  readonly #channels: Map<string, ChannelState>;
  readonly #names: readonly string[];
  readonly #release: (channel: string) => void;
  #closed = false;

  /** @internal */
  constructor(channels: Map<string, ChannelState>, names: readonly string[], release: (channel: string) => void) {
    this.#channels = channels;
    this.#names = names;
    this.#release = release;
  }

  /**
   * Resolves when a release on one of the channels names `token` (or nobody), after `timeoutMs`,
   * or when `signal` aborts, whichever comes first. Never rejects: the caller checks the lock.
   */
  wait(token: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const states = this.#names.map((name) => this.#channels.get(name)).filter((s) => s !== undefined);
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        for (const state of states) state.waiters.delete(waiter);
        resolve();
      };
      const waiter: Waiter = { token, wake: done };
      for (const state of states) state.waiters.add(waiter);
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      timer.unref();
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Lets go of the channels (they stay subscribed a moment in case another waiter comes). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const name of this.#names) this.#release(name);
  }
}
