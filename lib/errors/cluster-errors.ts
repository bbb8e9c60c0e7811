import { hasTransactCode, nameError, TransactError } from './base.js';

/**
 * On Redis Cluster, the keys of one transaction (or one lock) must live in one hash slot: WATCH,
 * MULTI and EXEC run on one node. Thrown before any command is sent. `slots` maps each key to its
 * slot; the fix is a common hash tag (`{order:42}:stock`, `{order:42}:orders`).
 */
export class CrossSlotError extends TransactError {
  readonly code = 'ERR_TRANSACT_CROSS_SLOT' as const;
  /** Each key (as given, before the client's key prefix) with its hash slot. */
  readonly slots: Readonly<Record<string, number>>;
  constructor(slots: Readonly<Record<string, number>>) {
    const listed = Object.entries(slots)
      .map(([key, slot]) => `${key} → slot ${slot}`)
      .join(', ');
    super(
      `keys must share one hash slot on Redis Cluster (${listed}); give them a common hash tag, ` +
        'e.g. {order:42}:stock and {order:42}:orders: only the part in braces is hashed',
    );
    this.slots = Object.freeze({ ...slots });
  }
}
nameError(CrossSlotError, 'CrossSlotError');

/** True when `err` is a {@link CrossSlotError}, also across duplicate installs. */
export const isCrossSlotError = (err: unknown): err is CrossSlotError => hasTransactCode(err, 'ERR_TRANSACT_CROSS_SLOT');
