/**
 * A shared connection opened on first use, by the lock services of both topologies (their script
 * and pub/sub connections).
 */
import { TransactorClosedError } from '../errors/usage-errors.js';

/** How a {@link LazyConnection} makes, connects and ends its connection. */
export interface LazyConnectionParts<C> {
  /** Makes the connection object, not yet connected (so close() can end it while it connects). */
  create(): Promise<C>;
  /** Connects it; the connection is handed out once this resolves. */
  connect(connection: C): Promise<unknown>;
  /** Ends it, connected or still connecting; never rejects. */
  end(connection: C): Promise<void>;
}

/**
 * Opens one connection on first use and hands the same one out after that. An open that fails is
 * forgotten, so the next use tries again. Once closed, every connection it made is ended (also one
 * still connecting: a server that is down must not hold close()) and uses reject with
 * `TransactorClosedError`.
 */
export class LazyConnection<C> {
  readonly #parts: LazyConnectionParts<C>;
  readonly #made: C[] = [];
  #opening: Promise<C> | undefined;
  #closed = false;

  constructor(parts: LazyConnectionParts<C>) {
    this.#parts = parts;
  }

  /** The connection, opened now if it is not yet. */
  get(): Promise<C> {
    if (this.#closed) return Promise.reject(new TransactorClosedError());
    if (!this.#opening) {
      const opening = this.#open();
      opening.catch(() => {
        if (this.#opening === opening) this.#opening = undefined;
      });
      this.#opening = opening;
    }
    return this.#opening;
  }

  /** Ends every connection it made; later uses reject. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#opening = undefined;
    await Promise.all(this.#made.splice(0).map((c) => this.#parts.end(c)));
  }

  async #open(): Promise<C> {
    const connection = await this.#parts.create();
    if (this.#closed) {
      await this.#parts.end(connection);
      throw new TransactorClosedError();
    }
    this.#made.push(connection);
    await this.#parts.connect(connection);
    return connection;
  }
}
