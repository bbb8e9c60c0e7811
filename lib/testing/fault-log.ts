/** What the kit did: one entry per fault that really happened, for a test to assert on. */

/** One injected fault. */
export type InjectedFault = {
  /** The call's number (1 for the first call through the faulty transactor). */
  readonly call: number;
  /** The attempt it struck (always 1 for `withLock`). */
  readonly attempt: number;
  /** The call's keys (resources, for `withLock`). */
  readonly keys: readonly string[];
} & (
  | { readonly kind: 'conflict'; /** The watched key another connection wrote (as the app names it). */ readonly key: string }
  | { readonly kind: 'lost-reply'; /** Whether the server ran the EXEC whose reply was lost. */ readonly committed: boolean }
  | { readonly kind: 'lock-lost' }
  | { readonly kind: 'delay'; readonly phase: 'read' | 'exec'; readonly ms: number }
  | { readonly kind: 'deadline'; readonly phase: 'read' | 'exec' }
);
