/**
 * Tells the user, once per process, when a transactor is built on a client of another copy of
 * node-redis than the one redis-transact resolves (an app that depends on a local clone of the
 * library resolves its own `redis` beside the clone's). It works at run time (errors are matched
 * by name), but TypeScript sees two unrelated client types, and the two copies may differ.
 *
 * node-redis is an optional peer dependency (an ioredis user has none): it is looked up here, when
 * a node-redis client was handed over, never when the library loads.
 */

/** The `name` of the process warning. */
export const NODE_REDIS_COPY_WARNING_NAME = 'RedisTransactWarning';
/** Its `code`. */
export const NODE_REDIS_COPY_WARNING_CODE = 'ERR_TRANSACT_NODE_REDIS_COPY';

type Kind = 'client' | 'pool' | 'cluster' | 'sentinel';

/** The copy of node-redis that `require('redis')` finds from here: where it is, and its classes. */
interface OwnCopy {
  readonly path: string;
  readonly classes: Readonly<Record<Kind, abstract new (...args: any[]) => unknown>>;
}

let warned = false;

/** Warns (once) when `source`, recognised as a node-redis `kind`, is not of the copy the library resolves. */
export function warnIfAnotherCopy(source: object, kind: Kind): void {
  if (warned) return;
  const own = ownCopy();
  if (own && source instanceof own.classes[kind]) return;
  warned = true;
  const where = own ? `(${own.path})` : '(none resolves from redis-transact)';
  const warning = Object.assign(
    new Error(
      `redis-transact was given a node-redis ${kind} from another copy of node-redis than its own ` +
        `${where}. It works, but TypeScript sees two unrelated client types, and the two copies ` +
        'may differ: install one copy of `redis` (use `npm pack` and install the tarball rather than a `file:` dependency ' +
        'on a clone; `npm ls redis` shows the copies)',
    ),
    { name: NODE_REDIS_COPY_WARNING_NAME, code: NODE_REDIS_COPY_WARNING_CODE },
  );
  process.emitWarning(warning);
}

/**
 * node-redis as resolved from the library, or undefined when it resolves nowhere from here. The app
 * has loaded it already to make its client, so this costs a cache lookup. Inside `try`, so that a
 * bundler treats it as optional rather than failing a build for an app without node-redis.
 */
function ownCopy(): OwnCopy | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional peer dependency: looked up on use, never at load
    const redis = require('redis') as typeof import('redis');
    return {
      path: require.resolve('redis'),
      classes: { client: redis.RedisClient, pool: redis.RedisClientPool, cluster: redis.RedisCluster, sentinel: redis.RedisSentinel },
    };
  } catch {
    return undefined;
  }
}
