import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { createClient, type RedisClientType } from 'redis';

/**
 * A loopback TCP proxy in front of a real redis-server. It counts round trips (a client→server
 * burst that follows a server reply, or opens the connection, is one flight) and can cut a
 * connection at an exact point in the protocol, for fault tests.
 */
/** What the proxy does with one client→server chunk (see {@link TcpProxy.onRequest}). */
export type ProxyAction = 'forward' | 'cut-after-reply' | 'mute-replies' | 'hold' | 'stall' | { readonly after: Promise<unknown> };

export class TcpProxy {
  /** Client→server flights seen so far, over all connections. */
  flights = 0;
  /**
   * Called with each client→server chunk. `'cut-after-reply'`: forward it, then drop the connection
   * as soon as the server answers, without passing the answer on. `'mute-replies'`: forward it, and
   * pass nothing more from the server to the client (the connection stays up until the server goes
   * away). `'hold'`: do not forward it yet ({@link releaseHeld} does), and drop the client's side at
   * once while keeping the server's: to the client the connection is lost, to the server the
   * connection (and its WATCH) lives on. `'stall'`: the same, but the client's side stays open
   * too: the client waits for a reply that does not come. `{ after }`: forward it (and whatever
   * that connection sends next, in order) once `after` settles: a request delayed, not lost.
   */
  onRequest: ((chunk: Buffer) => ProxyAction) | undefined;
  /** While true, new connections are accepted and dropped at once: the server looks unreachable. */
  refuse = false;
  /** Connections dropped at once because of {@link refuse}, so far. */
  refused = 0;
  /**
   * While true, every byte in either direction is dropped and every connection stays open: a
   * network partition without resets (the client waits for answers that never come).
   */
  silent = false;
  /** Server→client bytes swallowed by `'mute-replies'`, over all connections. */
  muted = 0;
  /** Requests delayed by an `{ after }` action so far. */
  delayed = 0;
  #held: { upstream: Socket; chunk: Buffer; replies: Buffer[] } | undefined;
  readonly #server: Server;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket }>();
  readonly #clients: RedisClientType[] = [];

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    const server = createServer();
    const proxy = new TcpProxy(server);
    server.on('connection', (client) => proxy.#pipe(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** A proxy in front of the redis-server at `url`. */
  static inFrontOf(url: string): Promise<TcpProxy> {
    const { hostname, port } = new URL(url);
    return TcpProxy.start({ host: hostname, port: Number(port) });
  }

  /** A connected node-redis client that talks through this proxy (closed by `stop()`). */
  async connectClient(): Promise<RedisClientType> {
    const client = createClient({ url: this.url }) as RedisClientType;
    client.on('error', () => {});
    this.#clients.push(client);
    await client.connect();
    return client;
  }

  get url(): string {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy not listening');
    return `redis://127.0.0.1:${address.port}`;
  }

  async stop(): Promise<void> {
    for (const client of this.#clients.splice(0)) client.destroy();
    for (const { client, upstream } of this.#pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.#held?.upstream.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /**
   * Applies `action` to the next transaction commit that passes (a chunk carrying EXEC), or with
   * `every` to each one; with `thenRefuse`, new connections are refused from then on (the server
   * looks unreachable to whatever tries to reconnect).
   */
  atExec(action: ProxyAction, options: { every?: boolean; thenRefuse?: boolean } = {}): void {
    let done = false;
    this.onRequest = (chunk) => {
      // node-redis sends command names in capitals, ioredis in lower case.
      if (done || !(chunk.includes('\r\nEXEC\r\n') || chunk.includes('\r\nexec\r\n'))) return 'forward';
      done = !options.every;
      if (options.thenRefuse) this.refuse = true;
      return action;
    };
  }

  /**
   * Sends the chunk held by `'hold'` to the server on its own (still open) connection, and resolves
   * with what the server answered once `complete(answer)` says it is all there.
   */
  async releaseHeld(complete: (answer: Buffer) => boolean): Promise<Buffer> {
    const held = this.#held;
    if (!held) throw new Error('nothing is held');
    this.#held = undefined;
    held.upstream.write(held.chunk);
    const until = Date.now() + 10_000;
    while (!complete(Buffer.concat(held.replies))) {
      if (Date.now() > until) throw new Error(`no complete answer to the held request: ${Buffer.concat(held.replies).toString()}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    held.upstream.destroy();
    return Buffer.concat(held.replies);
  }

  /** Whether a request is held by `'hold'`. */
  get holding(): boolean {
    return this.#held !== undefined;
  }

  #pipe(client: Socket, target: { host: string; port: number }): void {
    if (this.refuse) {
      this.refused++;
      client.destroy();
      return;
    }
    const upstream = createConnection(target);
    const pair = { client, upstream };
    this.#pairs.add(pair);
    let lastFromClient = false;
    let cutOnReply = false;
    let mute = false;
    let held: Buffer[] | undefined;
    /** Chunks waiting behind a delayed one, in order; `undefined` while nothing is delayed. */
    let delayed: Buffer[] | undefined;
    client.on('data', (chunk: Buffer) => {
      if (this.silent) return;
      if (!lastFromClient) this.flights++;
      lastFromClient = true;
      if (delayed) {
        delayed.push(chunk);
        return;
      }
      const action = this.onRequest?.(chunk);
      if (typeof action === 'object') {
        const waiting: Buffer[] = [chunk];
        delayed = waiting;
        this.delayed++;
        const flush = () => {
          delayed = undefined;
          for (const c of waiting) upstream.write(c);
        };
        action.after.then(flush, flush);
        return;
      }
      if (action === 'hold' || action === 'stall') {
        held = [];
        this.#held = { upstream, chunk, replies: held };
        this.#pairs.delete(pair);
        // The server's side outlives the client's.
        client.removeListener('close', close).removeListener('error', close);
        client.on('error', () => {});
        if (action === 'hold') client.destroy();
        return;
      }
      if (action === 'cut-after-reply') cutOnReply = true;
      if (action === 'mute-replies') mute = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (this.silent) return;
      lastFromClient = false;
      if (held) {
        held.push(chunk);
        return;
      }
      if (mute) {
        this.muted += chunk.length;
        return;
      }
      if (cutOnReply) {
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }
}
