/**
 * The commit markers of exactly-once calls: their keys, what an attempt sets, and what it takes
 * to settle one later. Made per call by the topology; used by the attempt and the settlement.
 */
import { randomBytes } from 'node:crypto';
import { tagForSlot } from '../cluster/hash-slot.js';
import type { MarkerWrite } from '../connection/connection.js';
import type { CommitMarkerRef } from '../errors/transaction-errors.js';

export type { CommitMarkerRef };

/** Namespace of every commit marker key, e.g. `rtonce:{3lw}:Qm9vdGgx.2`. */
export const MARKER_NAMESPACE = 'rtonce';

/**
 * Call ids: random per process, then counted, so ids never repeat across processes (72 random
 * bits) or calls, without a random draw per call.
 */
const PROCESS_NONCE = randomBytes(9).toString('base64url');
let nextCall = 0;

/** How long a commit marker lives unless the call says otherwise. */
export const DEFAULT_MARKER_TTL_MS = 600_000;

/** The value a settlement claims a marker with: never an attempt id (those contain a dot). */
export const CLAIM_VALUE = 'claimed';

/**
 * The commit markers of one exactly-once call: one key per attempt, in the hash slot of the call's
 * keys, that the attempt watches and sets to its id inside its MULTI (when it queued anything). A
 * fresh key per attempt lets a settlement claim it with `SET NX`: an earlier attempt's marker, or
 * a claim on it, never stands in the way of a later attempt's.
 */
export class CommitMarker {
  readonly ttlMs: number;
  readonly #base: string;
  readonly #callId: string;

  /**
   * @param slot - on a cluster, the slot of the call's keys (the markers join it); on one server,
   *   `undefined` (any key will do)
   */
  constructor(slot: number | undefined, ttlMs: number) {
    this.ttlMs = ttlMs;
    this.#callId = `${PROCESS_NONCE}${(nextCall++).toString(36)}`;
    this.#base = slot === undefined ? `${MARKER_NAMESPACE}:${this.#callId}` : `${MARKER_NAMESPACE}:{${tagForSlot(slot)}}:${this.#callId}`;
  }

  /** The marker key of attempt number `attempt`. */
  keyOf(attempt: number): string {
    return `${this.#base}.${attempt}`;
  }

  /**
   * What attempt number `attempt` sends in its MULTI: `SET marker <attempt id> PX ttl`. It commits
   * with the attempt's writes or not at all.
   */
  writeOf(attempt: number): MarkerWrite {
    return { key: this.keyOf(attempt), value: `${this.#callId}.${attempt}`, ttlMs: this.ttlMs };
  }

  /**
   * What a settlement of that write needs. Stamp it just before EXEC is sent: a marker set by that
   * EXEC cannot have expired by `settleBy` (a tenth of the TTL is left for the two clocks' drift).
   */
  refOf(write: MarkerWrite): CommitMarkerRef {
    return { key: write.key, attemptId: write.value, settleBy: Date.now() + Math.floor(write.ttlMs * 0.9) };
  }
}
