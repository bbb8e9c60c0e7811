import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { createClient, type RedisClientType } from 'redis';

/**
 * A loopback TCP proxy in front of a real redis-server. It counts round trips (a client→server
 * burst that follows a server reply, or opens the connection, is one flight) and can cut a
 * connection at an exact point in the protocol, for fault tests.
 */
export class TcpProxy {
  /** Client→server flights seen so far, over all connections. */
  flights = 0;
  /** Called with each client→server chunk; return 'cut-after-reply' to forward it, then drop the
   * connection as soon as the server answers, without passing the answer on. */
  onRequest: ((chunk: Buffer) => 'forward' | 'cut-after-reply') | undefined;
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
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #pipe(client: Socket, target: { host: string; port: number }): void {
    const upstream = createConnection(target);
    const pair = { client, upstream };
    this.#pairs.add(pair);
    let lastFromClient = false;
    let cutOnReply = false;
    client.on('data', (chunk: Buffer) => {
      if (!lastFromClient) this.flights++;
      lastFromClient = true;
      if (this.onRequest?.(chunk) === 'cut-after-reply') cutOnReply = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      lastFromClient = false;
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
