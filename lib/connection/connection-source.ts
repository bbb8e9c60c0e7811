import { InvalidOptionsError } from '../errors/usage-errors.js';
import { DedicatedConnection } from './dedicated-connection.js';
import type { NodeRedisClient, NodeRedisPool } from './node-redis-types.js';

/** Opens a new dedicated connection to the server the user's client or pool talks to. */
export type ConnectionFactory = () => Promise<DedicatedConnection>;

/**
 * Turns the client or pool handed to `createTransactor` into a connection factory. The user's
 * own connections are never used for WATCH: a client is shared by everything else in the app,
 * and a pool member reconnects in place and is returned to the pool without UNWATCH.
 */
export function connectionFactoryFor(source: unknown): ConnectionFactory {
  if (isPool(source)) {
    let template: Promise<NodeRedisClient> | undefined;
    return () => {
      // The pool strips its keyPrefix from members (it prefixes in its own parser): put it back.
      template ??= source.execute((member) => member.duplicate({ keyPrefix: source._keyPrefix }));
      return template.then((t) => DedicatedConnection.open(t));
    };
  }
  if (isClient(source)) return () => DedicatedConnection.open(source);
  throw new InvalidOptionsError([
    { path: 'client', message: 'must be a node-redis client (createClient) or client pool (createClientPool)' },
  ]);
}

function isClient(value: unknown): value is NodeRedisClient {
  const v = value as Partial<NodeRedisClient> | null;
  return typeof v === 'object' && v !== null && typeof v.duplicate === 'function' && typeof v.multi === 'function' &&
    typeof v.watch === 'function' && typeof v._executeMulti === 'function';
}

function isPool(value: unknown): value is NodeRedisPool {
  const v = value as Partial<NodeRedisPool> | null;
  return typeof v === 'object' && v !== null && typeof v.execute === 'function' && typeof v.totalClients === 'number';
}
