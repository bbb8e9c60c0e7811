/**
 * The part of redlock 4's API this benchmark uses (redlock 4 ships no types). Its clients are
 * callback-style `eval`/`evalsha` ones: ioredis (or node-redis v3), not node-redis v4+.
 */
declare module 'redlock' {
  import type { EventEmitter } from 'node:events';

  namespace Redlock {
    interface Options {
      driftFactor?: number;
      retryCount?: number;
      retryDelay?: number;
      retryJitter?: number;
    }
    interface Lock {
      readonly resource: string | string[];
      readonly value: string;
      readonly expiration: number;
      /** Lock attempts it took, the first included. */
      readonly attempts: number;
      unlock(): Promise<void>;
    }
    interface LockError extends Error {
      readonly name: 'LockError';
      readonly attempts: number;
    }
  }

  class Redlock extends EventEmitter {
    constructor(clients: unknown[], options?: Redlock.Options);
    lock(resource: string | string[], ttl: number): Promise<Redlock.Lock>;
    unlock(lock: Redlock.Lock): Promise<void>;
    static LockError: new (message?: string, attempts?: number) => Redlock.LockError;
  }

  export = Redlock;
}
