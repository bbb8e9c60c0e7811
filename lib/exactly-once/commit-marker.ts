import { randomBytes } from 'node:crypto';
import { keyHashSlot, tagForSlot } from '../cluster/hash-slot.js';
import type { MarkerWrite } from '../connection/dedicated-connection.js';
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
 * keys, that the attempt watches and sets to its id inside its MULTI (when it queued anything). A fresh key per attempt lets
 * a settlement claim it with `SET NX`: an earlier attempt's marker, or a claim on it, never stands
 * in the way of a later attempt's.
 * @internal
 */
export class CommitMarker {
  readonly ttlMs: number;
  readonly #base: string;
  readonly #callId: string;

  /**
   * @param keys - the call's keys (validated, in one slot on a cluster)
   * @param keyPrefix - the client's key prefix: the slot is that of the prefixed key
   * @param clustered - whether the marker must share the keys' slot (on one server, any key will do)
   */
  constructor(keys: readonly string[], ttlMs: number, keyPrefix: string, clustered: boolean) {
    this.ttlMs = ttlMs;
    this.#callId = `${PROCESS_NONCE}${(nextCall++).toString(36)}`;
    this.#base = clustered
      ? `${MARKER_NAMESPACE}:{${tagForSlot(keyHashSlot(keyPrefix + keys[0]!))}}:${this.#callId}`
      : `${MARKER_NAMESPACE}:${this.#callId}`;
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
   * What a settlement of that write needs, stamped when EXEC is sent: a marker set by that EXEC
   * cannot have expired by `settleBy` (a tenth of the TTL is left for the two clocks' drift).
   */
  refOf(write: MarkerWrite): CommitMarkerRef {
    return { key: write.key, attemptId: write.value, settleBy: Date.now() + Math.floor(write.ttlMs * 0.9) };
  }
}

