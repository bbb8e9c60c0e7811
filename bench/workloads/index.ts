import type { Workload, WorkloadName } from '../types.js';
import { bank } from './bank.js';
import { hotKey } from './hot-key.js';
import { spread } from './spread.js';

/** Every workload by name. */
export const WORKLOADS: Readonly<Record<WorkloadName, Workload>> = { 'hot-key': hotKey, spread, bank };
