/**
 * `redis-transact/testing`: prove in your own test suite that your `fn` is safe to run again and
 * that your code handles an unknown outcome, by injecting real faults into a transactor's calls.
 * Works with any test runner; imports nothing from one.
 */
export { injectFaults } from './inject-faults.js';
export type { FaultyTransactor } from './inject-faults.js';
export type { AttemptFault, FaultCall, FaultPhase, FaultPlan, FaultPlanFn } from './fault-plan.js';
export type { InjectedFault } from './fault-log.js';
