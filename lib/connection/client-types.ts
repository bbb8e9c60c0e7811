/**
 * The client types a transactor is built on, and the types `fn` sees for each (`t.read`,
 * `t.write`): the public face of the client library, next to the driver that serves it.
 */
// Types only (erased): node-redis is an optional peer dependency. The build marks these imports in
// the declarations `@ts-ignore` (scripts/optional-peer-types.mjs), for apps without node-redis.
import type { RedisClientMultiCommandTyped } from '@redis/client/dist/lib/client/multi-command.js';
import type { RedisClientType as CoreClientType } from '@redis/client';
import type { RedisFunctions, RedisModules, RedisScripts, RedisSentinelType, RespVersions } from 'redis';
import type { ServerClientSource } from './connection-source.js';
import type { IoredisClientSource, IoredisClusterSource, IoredisNodeOf, IoredisWriteBuilderOf } from './ioredis-types.js';

export type { IoredisClientSource, IoredisClusterSource, ServerClientSource };

/**
 * A node-redis cluster client (`createCluster`), matched by the methods redis-transact uses:
 * node-redis's `RedisClusterType<any, …>` does not accept a cluster client that has modules.
 */
export interface ClusterClientSource {
  getNodeClientForKey(key: string, isReadonly?: boolean): Promise<unknown>;
  nodeClient(node: never): Promise<unknown>;
  readonly masters: readonly unknown[];
}

/** A node-redis Sentinel client (`createSentinel`), matched by the methods redis-transact uses. */
export interface SentinelClientSource {
  getMasterNode(): unknown;
  getSentinelNode(): unknown;
  acquire(): Promise<unknown>;
}

/**
 * What `createTransactor` accepts: a node-redis client, client pool, cluster client, or Sentinel
 * client, or an ioredis (or iovalkey) `Redis` instance (in {@link ServerClientSource}) or `Cluster`.
 */
export type TransactorSource = ServerClientSource | ClusterClientSource | SentinelClientSource | IoredisClusterSource;

/**
 * The client type `fn` reads with (`t.read`): for ioredis, the instance's own type (on a `Cluster`,
 * its nodes' `Redis` type: `t.read` is a connection to the slot's master); for node-redis,
 * the client's own, a pool member's, (on a cluster) a node client's, or (on Sentinel) the
 * Sentinel's master client's. node-redis builds a Sentinel's node clients from
 * `nodeClientOptions`, which has no modules, functions or scripts: those of `createSentinel` are
 * not on it, and not in its type.
 */
export type ReadClientOf<C> = 0 extends 1 & C
  ? any // an untyped source (the default of Transactor)
  : C extends IoredisClusterSource
    ? IoredisNodeOf<C>
  : C extends IoredisClientSource
    ? C
  : C extends { execute(fn: (client: infer Client) => any): any }
    ? Client
    : C extends { getNodeClientForKey(key: any, isReadonly?: any): Promise<infer Client> }
      ? Client
      : C extends RedisSentinelType<any, any, any, infer RESP, any>
        ? CoreClientType<Nothing, Nothing, Nothing, RESP, Nothing>
        : C;

/**
 * The MULTI builder type `fn` queues writes on (`t.write`): for ioredis, its typed pipeline
 * (`ChainableCommander`); for node-redis, node-redis's typed MULTI
 * for the client's modules, functions, scripts and RESP version, so a misspelt command or a wrong
 * argument is a compile error. (Inferred from the client's options: `multi()` itself is generic,
 * and inferring from it would give `any`.)
 */
export type WriteBuilderOf<C> = 0 extends 1 & C
  ? any // an untyped source (the default of Transactor): untyped writes, like node-redis's own
  : C extends IoredisClusterSource
    ? IoredisWriteBuilderOf<IoredisNodeOf<C>>
  : C extends IoredisClientSource
    ? IoredisWriteBuilderOf<C>
  : ReadClientOf<C> extends { readonly options: { modules?: infer M; functions?: infer F; scripts?: infer S; RESP?: infer RESP } }
    ? RedisClientMultiCommandTyped<
        [],
        AsModules<M>,
        F extends RedisFunctions ? F : Nothing,
        S extends RedisScripts ? S : Nothing,
        RESP extends RespVersions ? RESP : 3,
        Nothing // no type mapping: node-redis does not apply it to EXEC's replies
      >
    : never;

/**
 * The client's modules, shaped to satisfy `RedisModules` without its index signature (which would
 * make any method name compile): node-redis's default modules do not meet the constraint as
 * declared.
 */
type AsModules<M> = { [K in keyof M]: M[K] & RedisModules[string] };

/** node-redis's empty default (`{}`) for modules, functions, scripts and type mapping. */
type Nothing = Record<never, never>;
