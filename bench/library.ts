/**
 * The library the benchmark measures: what the package ships (`dist/cjs`, compiled by tsc, built
 * by `npm run bench` first) when `REDIS_TRANSACT_BENCH_LIBRARY=dist`, else the TypeScript source
 * (the smoke runs of the spec suite, which has no build). The source runs through tsx, whose
 * esbuild compiles with `keepNames`: every function the library makes at run time (a closure per
 * call) gets an `Object.defineProperty` of its name, which the shipped code does not have. Measured
 * side by side, the transactor on ioredis ran at 0.89–0.92× the hand-written ioredis loop from the
 * source and 0.96–0.97× from the build (one call at a time, spread keys): a benchmark of the source
 * under-reports the library against the hand-written contenders, whose few lines pay little of it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type * as Library from '../lib/index.js';

export type * from '../lib/index.js';

/** Which copy of the library this process measures. */
export const LIBRARY_BUILD: 'dist' | 'source' = process.env.REDIS_TRANSACT_BENCH_LIBRARY === 'dist' ? 'dist' : 'source';

// `require`, not an import: which copy loads is decided at run time, and under jest its own
// `require` is the one that compiles the source.
/* eslint-disable @typescript-eslint/no-require-imports */
function load(): typeof Library {
  if (LIBRARY_BUILD === 'source') return require('../lib/index.js') as typeof Library;
  const built = join(__dirname, '..', 'dist', 'cjs', 'index.js');
  if (!existsSync(built)) throw new Error(`REDIS_TRANSACT_BENCH_LIBRARY=dist, but ${built} does not exist: run npm run build (npm run bench does)`);
  return require(built) as typeof Library;
}
/* eslint-enable @typescript-eslint/no-require-imports */

const library = load();

export const { createTransactor, isTransactConflictError, isInvalidOptionsError, DEFAULT_MAX_CONNECTIONS } = library;
