/**
 * Tells the user, once per process, when a transactor is built on a client of another copy of
 * node-redis than the one redis-transact loads (an app that depends on a local clone of the
 * library resolves its own `redis` beside the clone's). It works at run time (errors are matched
 * by name too), but TypeScript sees two unrelated client types, and the two copies may differ.
 */
import { RedisClient, RedisClientPool, RedisCluster, RedisSentinel } from 'redis';

/** The `name` of the process warning. */
export const NODE_REDIS_COPY_WARNING_NAME = 'RedisTransactWarning';
/** Its `code`. */
export const NODE_REDIS_COPY_WARNING_CODE = 'ERR_TRANSACT_NODE_REDIS_COPY';

let warned = false;

/** Warns (once) when `source`, recognised as a node-redis `kind`, is not of the copy the library loads. */
export function warnIfAnotherCopy(source: object, kind: 'client' | 'pool' | 'cluster' | 'sentinel'): void {
  if (warned) return;
  const ownClass = { client: RedisClient, pool: RedisClientPool, cluster: RedisCluster, sentinel: RedisSentinel }[kind];
  if (source instanceof ownClass) return;
  warned = true;
  const warning = Object.assign(
    new Error(
      `redis-transact was given a node-redis ${kind} from another copy of node-redis than its own ` +
        `(${require.resolve('redis')}). It works, but TypeScript sees two unrelated client types, and the two copies ` +
        'may differ: install one copy of `redis` (use `npm pack` and install the tarball rather than a `file:` dependency ' +
        'on a clone; `npm ls redis` shows the copies)',
    ),
    { name: NODE_REDIS_COPY_WARNING_NAME, code: NODE_REDIS_COPY_WARNING_CODE },
  );
  process.emitWarning(warning);
}
