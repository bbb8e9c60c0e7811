/**
 * A connection a lane leased from a pool, and the seats still using it: one seat may await its
 * EXEC's reply on it while the next one reads. Made by the lane; its seats hand it back.
 */
import type { ConnectionPool } from '../connection/connection-pool.js';
import type { DedicatedConnection } from '../connection/connection.js';

export class HeldConnection {
  users = 0;
  /** No longer the lane's connection; it goes back (or is dropped) once its last user leaves. */
  retired = false;
  /** Must be dropped, not reused. */
  doomed = false;
  released = false;
  constructor(
    readonly connection: DedicatedConnection,
    readonly pool: ConnectionPool,
  ) {}
}
