/** The benchmark's flags: parsed with node:util, validated with zod, with errors that name the flag. */
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { CONTENDER_NAMES, type ContenderName, WORKLOAD_NAMES, type WorkloadName } from './types.js';

/** Workers in each child process of the multi-process run (4 × 32 = 128, the largest in-process level). */
export const WORKERS_PER_PROCESS = 32;

/** Validated settings of one run. */
export interface BenchFlags {
  /** Measured window of each cell, ms. */
  durationMs: number;
  /** Warm-up before each window, ms (ops run, nothing recorded). */
  warmupMs: number;
  /** In-process concurrency levels, ascending. */
  concurrency: number[];
  workloads: WorkloadName[];
  contenders: ContenderName[];
  /** Child processes of the multi-process hot-key run; 0 skips it. */
  processes: number;
  /**
   * Warm-up of each multi-process cell, ms, instead of `warmupMs`: every child runs the contender's
   * workload this long before the window, so that the window measures warm code, not the JIT.
   */
  processWarmupMs: number;
  /** Rounds of the multi-process run: every contender once per round, interleaved. */
  rounds: number;
  /** Where latest.json and latest.svg go. */
  outDir: string;
  smoke: boolean;
}

/** What `--help` prints. */
export const USAGE = `usage: npm run bench -- [flags]

  --duration <ms>        measured window per cell (default 2000)
  --warmup <ms>          warm-up per cell, not recorded (default 500)
  --concurrency <list>   in-process workers, e.g. 1,8,32,128 (default)
  --workloads <list>     of ${WORKLOAD_NAMES.join(', ')} (default: all)
  --contenders <list>    of ${CONTENDER_NAMES.join(', ')} (default: all)
  --processes <n>        child processes for the multi-process hot-key run, ${WORKERS_PER_PROCESS} workers each; 0 skips it (default 4)
  --process-warmup <ms>  warm-up of each multi-process cell, in every child, instead of --warmup (default 4000)
  --rounds <n>           rounds of the multi-process run, each contender once per round; tables show the median round (default 3)
  --out <dir>            where latest.json, latest.md and latest.svg go (default bench/results; with --smoke a temp dir)
  --smoke                tiny run for tests: 200 ms cells, 100 ms warm-up, concurrency 1,8, no processes
                         (with --processes: 200 ms process warm-up, 1 round)
  --help                 this text`;

/**
 * A fresh child runs its first seconds of ops unoptimised: without a warm-up of its own, a
 * multi-process window measured mostly the JIT (about half the ops/s of warm children). About 4 s
 * of ops is when the children's throughput stops rising (see docs/benchmark.md).
 */
const PROCESS_WARMUP_MS = 4000;

const DEFAULTS = { duration: 2000, warmup: 500, concurrency: '1,8,32,128', processes: 4, processWarmup: PROCESS_WARMUP_MS, rounds: 3 };
const SMOKE = { duration: 200, warmup: 100, concurrency: '1,8', processes: 0, processWarmup: 200, rounds: 1 };

/** A comma-separated list of members of `names`, without duplicates, in the order given. */
function listOf<T extends string>(names: readonly T[]) {
  return z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(
      z
        .array(z.enum(names as [T, ...T[]], { error: (issue) => `unknown name ${JSON.stringify(issue.input)}: expected one of ${names.join(', ')}` }))
        .min(1, { error: 'must name at least one' }),
    )
    .transform((list) => [...new Set(list)]);
}

const bounded = (n: z.ZodNumber, min: number, max: number) =>
  n.int({ error: 'must be an integer' }).min(min, { error: `must be at least ${min}` }).max(max, { error: `must be at most ${max}` });
const integer = (min: number, max: number) => bounded(z.coerce.number({ error: 'must be a number' }), min, max);

/** One concurrency level of a comma-separated list. */
const level = z
  .string()
  .regex(/^\d+$/, { error: (issue) => `must be whole numbers separated by commas, got ${JSON.stringify(issue.input)}` })
  .transform(Number)
  .pipe(bounded(z.number(), 1, 4096));

const flagsSchema = z.strictObject({
  duration: integer(50, 600_000),
  warmup: integer(0, 600_000),
  concurrency: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(level).min(1, { error: 'must list at least one level' }))
    .transform((levels) => [...new Set(levels)].sort((a, b) => a - b)),
  workloads: listOf(WORKLOAD_NAMES),
  contenders: listOf(CONTENDER_NAMES),
  processes: integer(0, 16),
  // At least 1 ms: a cold child is what this warm-up exists to avoid (--processes 0 skips the run).
  'process-warmup': integer(1, 600_000),
  rounds: integer(1, 100),
  out: z.string().min(1, { error: 'must be a directory' }),
  smoke: z.boolean(),
});

/** Parsed flags, or the problems to print (one per line, each naming its flag), or a request for help. */
export type ParsedFlags = { ok: true; flags: BenchFlags } | { ok: false; errors: string[] } | { ok: 'help' };

/** Parses `argv` (without node and the script). `defaultOutDir` is used when `--out` is absent. */
export function parseFlags(argv: readonly string[], defaultOutDir: string): ParsedFlags {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        duration: { type: 'string' },
        warmup: { type: 'string' },
        concurrency: { type: 'string' },
        workloads: { type: 'string' },
        contenders: { type: 'string' },
        processes: { type: 'string' },
        'process-warmup': { type: 'string' },
        rounds: { type: 'string' },
        out: { type: 'string' },
        smoke: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    return { ok: false, errors: [(err as Error).message] };
  }
  if (values.help) return { ok: 'help' };
  const smoke = values.smoke === true;
  // Explicit flags win over --smoke's presets, which win over the defaults.
  const base = smoke ? SMOKE : DEFAULTS;
  const parsed = flagsSchema.safeParse({
    duration: values.duration ?? String(base.duration),
    warmup: values.warmup ?? String(base.warmup),
    concurrency: values.concurrency ?? base.concurrency,
    workloads: values.workloads ?? WORKLOAD_NAMES.join(','),
    contenders: values.contenders ?? CONTENDER_NAMES.join(','),
    processes: values.processes ?? String(base.processes),
    'process-warmup': values['process-warmup'] ?? String(base.processWarmup),
    rounds: values.rounds ?? String(base.rounds),
    // A smoke run never overwrites the committed results: without --out it writes to a temp dir.
    out: values.out ?? (smoke ? join(tmpdir(), 'redis-transact-bench-smoke') : defaultOutDir),
    smoke,
  });
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`) };
  }
  const f = parsed.data;
  return {
    ok: true,
    flags: {
      durationMs: f.duration,
      warmupMs: f.warmup,
      concurrency: f.concurrency,
      workloads: f.workloads,
      contenders: f.contenders,
      processes: f.processes,
      processWarmupMs: f['process-warmup'],
      rounds: f.rounds,
      outDir: resolve(f.out),
      smoke,
    },
  };
}
