import type { TransactHooks } from '../../lib';

/** Collects the events a transactor reports through its hooks, by hook name. */
export function recorder() {
  const events: Array<[string, unknown]> = [];
  const record = (name: keyof TransactHooks) => (event: unknown) => void events.push([name, event]);
  const hooks: TransactHooks = {
    onAttempt: record('onAttempt'),
    onConflict: record('onConflict'),
    onEscalate: record('onEscalate'),
    onDeescalate: record('onDeescalate'),
    onCommit: record('onCommit'),
  };
  const of = <E>(name: keyof TransactHooks) => events.filter(([n]) => n === name).map(([, e]) => e as E);
  return { hooks, events, of };
}
