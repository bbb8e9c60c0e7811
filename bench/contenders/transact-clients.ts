/**
 * The client a redis-transact contender runs on: how it connects, and its op's `fn` in that
 * client's command API (node-redis `incrBy`, ioredis `incrby`). Everything else about the
 * contenders is in `transact-core.ts`, the same on every client.
 */
import {
  createTransactor,
  type TransactOptions,
  type Transactor,
  type TransactorSource,
  type TransactorOptions,
  type TransactResult,
  type WriteBuilderOf,
} from '../library.js';
import { connectClient, connectIoredis } from '../redis-client.js';
import type { Op } from '../types.js';

/** A transactor on a client of its own, running ops. */
export interface OpTransactor {
  /**
   * `tx.transact(op.keys, fn, options)`, where `fn` reads `op.reads` with `t.read` (all in one
   * round trip) and queues `op.decide`'s writes (INCRBY) on `t.write`.
   */
  transact(op: Op, options: TransactOptions | undefined): Promise<TransactResult<void>>;
  /** Closes the transactor, then its client. */
  close(): Promise<void>;
}

/** A client library the contenders can run on. */
export interface TransactClient {
  /** As the contenders' summaries name it. */
  readonly name: 'node-redis' | 'ioredis';
  /** Connects a client of this library to `url` and opens a transactor with `options` on it. */
  open(url: string, options: TransactorOptions): Promise<OpTransactor>;
}

/**
 * The contenders' op on `tx`: `fn` reads `op.reads` and queues `op.decide`'s writes with `incrBy`
 * (the client's spelling of INCRBY on `t.write`); closing ends `tx`, then the client (`closeClient`).
 */
function opTransactor<C extends TransactorSource>(
  tx: Transactor<C>,
  incrBy: (write: WriteBuilderOf<C>, key: string, by: number) => unknown,
  closeClient: () => Promise<unknown>,
): OpTransactor {
  return {
    transact: (op, callOptions) =>
      tx.transact(
        op.keys,
        async (t) => {
          const values = await Promise.all(op.reads.map((k) => (t.read as { get(key: string): Promise<string | null> }).get(k)));
          for (const w of op.decide(values)) incrBy(t.write, w.key, w.by);
        },
        callOptions,
      ),
    async close() {
      await tx.close();
      await closeClient();
    },
  };
}

/** A node-redis client (`createClient`, RESP3). */
export const NODE_REDIS: TransactClient = {
  name: 'node-redis',
  async open(url, options) {
    const client = await connectClient(url);
    return opTransactor(createTransactor(client, options), (write, key, by) => write.incrBy(key, by), () => client.close());
  },
};

/** An ioredis `Redis` instance at ioredis's defaults (the transactor makes its own dedicated duplicates). */
export const IOREDIS: TransactClient = {
  name: 'ioredis',
  async open(url, options) {
    const client = await connectIoredis(url);
    return opTransactor(createTransactor(client, options), (write, key, by) => write.incrby(key, by), () => client.quit());
  },
};
