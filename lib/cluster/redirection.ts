import { isErrorReply } from '../connection/errors.js';

/** A cluster error reply that means "not here, not now": nothing ran, try again. */
export interface Redirection {
  readonly kind: 'MOVED' | 'ASK' | 'TRYAGAIN' | 'CLUSTERDOWN';
  /** For MOVED and ASK: the slot and the node (`host:port`) that serves it. */
  readonly slot?: number;
  readonly address?: string;
}

/** Reads a redirection out of an error reply, or `undefined` for any other error. */
export function redirectionOf(err: unknown): Redirection | undefined {
  if (!isErrorReply(err)) return undefined;
  const [kind, slot, address] = err.message.split(' ');
  switch (kind) {
    case 'MOVED':
    case 'ASK':
      return { kind, slot: Number(slot), address: address! };
    case 'TRYAGAIN':
    case 'CLUSTERDOWN':
      return { kind };
    default:
      return undefined;
  }
}
