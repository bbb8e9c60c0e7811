/** The run as markdown: one table per workload with absolute numbers and ratios, invariant lines, and the cost of exactly-once commits. */
import { WATCH_LOOP_MAX_ATTEMPTS } from '../contenders/watch-loop-core.js';
import { CONTENDER_NAMES, type ContenderName, type WorkloadName } from '../types.js';
import { type CellStats, quarterTrend } from '../measure.js';
import { formatMs, formatOps, formatRatio, formatShares } from './format.js';
import type { BenchReport, CellRecord, ContenderInfo, PairedRecord } from './results.js';
import { median, ratiosTable, roundRatio } from './rounds.js';

/** The contender the ×loop column divides by: the best hand-written loop. */
export const LOOP_BASELINE = 'watch-loop-pipelined';
/** The contender the ×lua column divides by: the one-round-trip ceiling. */
export const LUA_CEILING = 'lua';

const COLUMNS = ['contender', 'c', 'ops/s', '×loop', '×lua', 'attempts mean/max', 'p50 ms', 'p99 ms', 'p99.9 ms', 'slowest ms', 'give-ups'];
/** Columns of multi-process tables only. */
const MULTI_COLUMNS = ['round', 'shares %', 'last ¼ ÷ first ¼'];

function header(multi: boolean): string[] {
  const columns = multi ? [...COLUMNS, ...MULTI_COLUMNS] : COLUMNS;
  return [`| ${columns.join(' | ')} |`, `| --- | ${columns.slice(1).map(() => '--:').join(' | ')} |`];
}

/** The slowest call, marked when it was still in flight as the window closed (timed to its end in the drain). */
export function formatSlowest(s: Pick<CellStats, 'slowestMs' | 'inflight' | 'inflightMaxMs'>): string {
  if (!(s.slowestMs > 0)) return '–';
  return `${formatMs(s.slowestMs)}${s.inflight > 0 && s.inflightMaxMs >= s.slowestMs ? ' (in flight)' : ''}`;
}

function row(cell: CellRecord, peers: readonly CellRecord[], multi: boolean): string {
  const c = cell.processes > 1 ? `${cell.concurrency} (${cell.processes} proc)` : String(cell.concurrency);
  const extra = multi
    ? [String(cell.round ?? ''), cell.stats?.shares ? formatShares(cell.stats.shares) : '', cell.stats?.committedByQuarter ? formatRatio(quarterTrend(cell.stats), 1) : '']
    : [];
  if (!cell.available || !cell.stats) return tableRow([cell.contender, c, 'n/a', ...COLUMNS.slice(3).map(() => ''), ...extra]);
  const s = cell.stats;
  const base = (name: string) => peers.find((p) => p.contender === name && p.concurrency === cell.concurrency)?.stats?.opsPerSec;
  const flag = cell.ok ? '' : ' ⚠';
  const attempts = Number.isFinite(s.attemptsMean) ? `${s.attemptsMean.toFixed(2)}/${s.attemptsMax}` : `–/${s.attemptsMax}`;
  const columns = [
    cell.contender,
    c,
    `${formatOps(s.opsPerSec)}${flag}`,
    formatRatio(s.opsPerSec, base(LOOP_BASELINE)),
    formatRatio(s.opsPerSec, base(LUA_CEILING)),
    attempts,
    formatMs(s.p50Ms),
    formatMs(s.p99Ms),
    formatMs(s.p999Ms),
    formatSlowest(s),
    String(s.giveUps),
    ...extra,
  ];
  return tableRow(columns);
}

/** `| a | b | |`: one markdown table row, an empty cell as a single space. */
function tableRow(columns: readonly string[]): string {
  return `|${columns.map((x) => (x ? ` ${x} ` : ' ')).join('|')}|`;
}

/** `transact-lock c=128`, plus the round in the multi-process run. */
function where(c: CellRecord): string {
  return `${c.contender} c=${c.concurrency}${c.round === undefined ? '' : ` round ${c.round}`}`;
}

/** `invariant <label>: ok` or `invariant <label>: FAIL (...)`, plus one line per cell with errors. */
function verdict(label: string, cells: readonly CellRecord[]): string[] {
  const ran = cells.filter((c) => c.invariant);
  const broken = ran.filter((c) => !c.invariant!.ok);
  const lines = [
    broken.length === 0
      ? `invariant ${label}: ok (${ran.length} cells${ran[0] ? `; e.g. ${ran[ran.length - 1]!.invariant!.detail}` : ''})`
      : `invariant ${label}: FAIL (${broken.map((c) => `${where(c)}: ${c.invariant!.detail}`).join('; ')})`,
  ];
  for (const c of cells) {
    if (c.stats && c.stats.errors > 0) lines.push(`errors ${label}: ${where(c)}: ${c.stats.errors} (${c.stats.firstError})`);
  }
  return lines;
}

/** What a contender's name ends with when it is another contender with `exactlyOnce: true`. */
export const ONCE_SUFFIX = '-once';

/** Every `[X, X-once]` pair of contenders, in report order. */
export const EXACTLY_ONCE_PAIRS: ReadonlyArray<readonly [plain: ContenderName, once: ContenderName]> = CONTENDER_NAMES.flatMap((once) => {
  const plain = CONTENDER_NAMES.find((name) => `${name}${ONCE_SUFFIX}` === once);
  return plain ? [[plain, once] as const] : [];
});

/**
 * Auto mode against the modes it must keep up with in one process: optimistic (where nothing is
 * contended) and lock (on a hot key, where lock mode's hand-over shines). Paired, because the
 * question (does auto mode cost anything over the better of the two?) is a ratio near 1.00×, which
 * the machine's noise between two separate cells swamps.
 */
export const AUTO_PAIRS: ReadonlyArray<readonly [plain: ContenderName, variant: ContenderName]> = [
  ['transact-optimistic', 'transact-auto'],
  ['transact-lock', 'transact-auto'],
];

/**
 * ioredis against node-redis: each mode's contender on ioredis against the
 * same on node-redis, and optimistic mode on ioredis against the hand-written ioredis loop. Paired,
 * because the question is a ratio near 1.00×, which the noise between two separate cells swamps.
 */
export const IOREDIS_PAIRS: ReadonlyArray<readonly [plain: ContenderName, variant: ContenderName]> = [
  ['transact-optimistic', 'transact-optimistic-ioredis'],
  ['transact-lock', 'transact-lock-ioredis'],
  ['transact-auto', 'transact-auto-ioredis'],
  ['watch-loop-ioredis', 'transact-optimistic-ioredis'],
];

/** Every pair of contenders measured side by side in paired cells. */
export const PAIRS = [...EXACTLY_ONCE_PAIRS, ...AUTO_PAIRS, ...IOREDIS_PAIRS];

/** The pairs whose two contenders were both selected and can both run here: those that get paired cells. */
export function runnablePairs(contenders: readonly ContenderInfo[]): Array<readonly [plain: ContenderName, variant: ContenderName]> {
  const available = new Set(contenders.filter((c) => c.available).map((c) => c.name));
  return PAIRS.filter(([plain, once]) => available.has(plain) && available.has(once));
}

/**
 * The "auto mode against optimistic and lock" table, from the paired cells: ops/s and p99 of
 * `transact-auto` ÷ those of `transact-optimistic` and of `transact-lock`, each measured in its own
 * paired cell, per workload and c. No lines when no such cell ran.
 */
export function autoVersusOthers(report: Pick<BenchReport, 'paired'>): string[] {
  const paired = (report.paired ?? []).filter((p) => AUTO_PAIRS.some(([plain, variant]) => p.plain === plain && p.once === variant));
  if (paired.length === 0) return [];
  const slices = [...new Set(paired.map((p) => p.sliceMs))].join('/');
  const rows = [...new Map(paired.map((p) => [`${p.workload}/${p.concurrency}`, p])).values()];
  const ratio = (plain: ContenderName, row: PairedRecord, of: 'opsPerSec' | 'p99Ms'): string => {
    const p = paired.find((c) => c.plain === plain && c.workload === row.workload && c.concurrency === row.concurrency);
    if (!p || !(p.plainStats[of] > 0)) return '–';
    return `${formatRatio(p.onceStats[of], p.plainStats[of])}${p.ok ? '' : ' ⚠'}`;
  };
  return [
    `transact-auto ÷ transact-optimistic and ÷ transact-lock, each measured side by side in one paired cell per workload and c ` +
      `(the same workers on the same keys, alternating in ${slices} ms time slices, never both at once): the cost of auto ` +
      'mode where one process runs (ops/s ≥ 1.00×: none; ⚠: a cell failed); on one hot key, its lock read where the lane is ' +
      'busy. Across processes on one hot key see the multi-process ratios.',
    '',
    '| workload | c | ops/s ÷ optimistic | ops/s ÷ lock | p99 ÷ optimistic | p99 ÷ lock |',
    '| --- | --: | --: | --: | --: | --: |',
    ...rows.map((row) => {
      const cells = (['opsPerSec', 'p99Ms'] as const).flatMap((of) => [ratio('transact-optimistic', row, of), ratio('transact-lock', row, of)]);
      return `| ${row.workload} | ${row.concurrency} | ${cells.join(' | ')} |`;
    }),
  ];
}

/** The target for ioredis: each mode at least this fraction of its node-redis ops/s, at every c. */
export const IOREDIS_TARGET = 0.95;

/**
 * The "ioredis against node-redis" table, from the paired cells of {@link IOREDIS_PAIRS}: for each
 * workload and c, ops/s of the ioredis side ÷ ops/s of the other, both measured in the same cell.
 * One column per pair that has a paired cell; no lines when none has. The multi-process run has no
 * paired cells: its row is the median of the ratios within each round (marked as such).
 */
export function ioredisVersusNodeRedis(report: Pick<BenchReport, 'paired' | 'multiProcess' | 'multiProcessRounds'>): string[] {
  const paired = (report.paired ?? []).filter((p) => IOREDIS_PAIRS.some(([plain, variant]) => p.plain === plain && p.once === variant));
  const pairs = IOREDIS_PAIRS.filter(([plain, variant]) => paired.some((p) => p.plain === plain && p.once === variant));
  if (pairs.length === 0) return [];
  const cells = new Map<string, PairedRecord[]>();
  for (const p of paired) cells.set(`${p.workload}/${p.concurrency}`, [...(cells.get(`${p.workload}/${p.concurrency}`) ?? []), p]);
  const rows = [...cells.values()].map((records) => {
    const ratios = pairs.map(([plain, variant]) => {
      const p = records.find((r) => r.plain === plain && r.once === variant);
      if (!p || !(p.plainStats.opsPerSec > 0)) return '–';
      return `${formatRatio(p.onceStats.opsPerSec, p.plainStats.opsPerSec)}${p.ok ? '' : ' ⚠'}`;
    });
    return `| ${records[0]!.workload} | ${records[0]!.concurrency} | ${ratios.join(' | ')} |`;
  });
  let footnote: string[] = [];
  const rounds = report.multiProcessRounds ?? (report.multiProcess.length > 0 ? [report.multiProcess] : []);
  const multi = pairs.map(([plain, variant]) => {
    const ratios = rounds.map((round) => roundRatio(round, { numerator: variant, denominator: plain, metric: 'ops/s' })).filter(Number.isFinite);
    return ratios.length > 0 ? formatRatio(median(ratios), 1) : undefined;
  });
  if (multi.some((r) => r !== undefined)) {
    const { workload, concurrency, processes } = report.multiProcess[0]!;
    rows.push(`| ${workload} | ${concurrency} (${processes} proc)† | ${multi.map((r) => r ?? '–').join(' | ')} |`);
    footnote = ['', `†: not paired: the median over the multi-process run's ${rounds.length} round(s) of the ratio of the two contenders' separate cells in one round (noisy).`];
  }
  const slices = [...new Set(paired.map((p) => p.sliceMs))].join('/');
  return [
    'ops/s on ioredis ÷ ops/s of the same on node-redis (and of transact-optimistic-ioredis ÷ the hand-written ioredis loop), ' +
      `measured side by side in one paired cell per workload and c: the same workers on the same keys, alternating between the two in ${slices} ms ` +
      'time slices, so both share the machine\'s noise; the invariant is checked against both sides\' commits (⚠: a cell failed). ' +
      `The target: ≥ ${IOREDIS_TARGET.toFixed(2)}× against node-redis at every c, and ≥ 1.00× against the ioredis loop at c=1.`,
    '',
    `| workload | c | ${pairs.map(([plain, variant]) => `${variant} ÷ ${plain}`).join(' | ')} |`,
    `| --- | --: | ${pairs.map(() => '--:').join(' | ')} |`,
    ...rows,
    ...footnote,
  ];
}

type Pair = readonly [plain: ContenderName, once: ContenderName];

/**
 * The "exactly-once cost" table, from the paired cells: for each workload and concurrency, ops/s
 * of `X-once` ÷ ops/s of `X`, both measured in the same cell, alternating in time slices. One
 * column per pair that has a paired cell; no lines at all when none has. The multi-process run has
 * no paired cells: when both sides of a pair ran there, its row divides the two separate cells
 * (marked as such).
 */
export function exactlyOnceCost(report: Pick<BenchReport, 'paired' | 'multiProcess'>): string[] {
  const paired = report.paired ?? [];
  const groups = new Map<string, PairedRecord[]>();
  for (const p of paired) {
    const key = `${p.workload}/${p.concurrency}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const pairs = EXACTLY_ONCE_PAIRS.filter(([plain, once]) => paired.some((p) => p.plain === plain && p.once === once));
  if (pairs.length === 0) return [];
  const pairedRatio = (records: readonly PairedRecord[], [plain, once]: Pair): string => {
    const p = records.find((r) => r.plain === plain && r.once === once);
    if (!p || !(p.plainStats.opsPerSec > 0)) return '–';
    return `${formatRatio(p.onceStats.opsPerSec, p.plainStats.opsPerSec)}${p.ok ? '' : ' ⚠'}`;
  };
  const rows: string[] = [];
  for (const records of groups.values()) {
    const { workload, concurrency } = records[0]!;
    rows.push(`| ${workload} | ${concurrency} | ${pairs.map((pair) => pairedRatio(records, pair)).join(' | ')} |`);
  }
  const separateRatio = (cells: readonly CellRecord[], [plain, once]: Pair): string | undefined => {
    const base = cells.find((c) => c.contender === plain);
    const variant = cells.find((c) => c.contender === once);
    if (!base?.stats || !variant?.stats || !(base.stats.opsPerSec > 0)) return undefined;
    return `${formatRatio(variant.stats.opsPerSec, base.stats.opsPerSec)}${base.ok && variant.ok ? '' : ' ⚠'}`;
  };
  const multi = pairs.map((pair) => separateRatio(report.multiProcess, pair));
  let footnote: string[] = [];
  if (multi.some((r) => r !== undefined)) {
    const { workload, concurrency, processes } = report.multiProcess[0]!;
    rows.push(`| ${workload} | ${concurrency} (${processes} proc)† | ${multi.map((r) => r ?? '–').join(' | ')} |`);
    footnote = ['', '†: not paired: the two contenders\' separate cells of the multi-process run (each one\'s median round; noisy).'];
  }
  const slices = [...new Set(paired.map((p) => p.sliceMs))].join('/');
  return [
    `ops/s with \`exactlyOnce: true\` ÷ ops/s of the same mode without it, measured side by side in one paired cell per ` +
      `workload and c: the same workers on the same keys, alternating between the two in ${slices} ms time slices (warm-up ` +
      'included), each side\'s ops/s over its own slices, so both share the machine\'s noise; the invariant is checked against ' +
      'both sides\' commits (one more watched key and one more queued command per attempt; 1.00× = free, ⚠: a cell failed). ' +
      'The main tables\' -once rows are separate cells, one after the other: their ratios swing with the machine.',
    '',
    `| workload | c | ${pairs.map(([plain, once]) => `${once} ÷ ${plain}`).join(' | ')} |`,
    `| --- | --: | ${pairs.map(() => '--:').join(' | ')} |`,
    ...rows,
    ...footnote,
  ];
}

/** `invariant paired: ok`, or the paired cells that failed. */
function pairedVerdict(paired: readonly PairedRecord[]): string[] {
  const broken = paired.filter((p) => !p.invariant.ok);
  const lines = [
    broken.length === 0
      ? `invariant paired: ok (${paired.length} cells${paired.length > 0 ? `; e.g. ${paired[paired.length - 1]!.invariant.detail}` : ''})`
      : `invariant paired: FAIL (${broken.map((p) => `${p.workload} ${p.once} vs ${p.plain} c=${p.concurrency}: ${p.invariant.detail}`).join('; ')})`,
  ];
  for (const p of paired) {
    const errors = p.plainStats.errors + p.onceStats.errors;
    if (errors > 0) lines.push(`errors paired: ${p.workload} ${p.once} vs ${p.plain} c=${p.concurrency}: ${errors} (${p.plainStats.firstError ?? p.onceStats.firstError})`);
  }
  return lines;
}

function table(cells: readonly CellRecord[], multi = false): string[] {
  return [...header(multi), ...cells.map((c) => row(c, cells, multi))];
}

/** One line per contender, one column per round: ops/s and p99 of each of its multi-process cells. */
export function roundsTable(rounds: ReadonlyArray<readonly CellRecord[]>): string[] {
  const names = (rounds[0] ?? []).map((c) => c.contender);
  const lines = [`| contender | ${rounds.map((_, i) => `round ${i + 1} ops/s (p99 ms)`).join(' | ')} |`, `| --- | ${rounds.map(() => '--:').join(' | ')} |`];
  for (const name of names) {
    const cells = rounds.map((round) => round.find((c) => c.contender === name));
    const text = (c: CellRecord | undefined) => (c?.stats ? `${formatOps(c.stats.opsPerSec)}${c.ok ? '' : ' ⚠'} (${formatMs(c.stats.p99Ms)})` : 'n/a');
    lines.push(`| ${name} | ${cells.map(text).join(' | ')} |`);
  }
  return lines;
}

/** The ratios section of the multi-process run, also printed at the end of a run; empty when it has no ratio to show. */
export function ratiosSection(rounds: ReadonlyArray<readonly CellRecord[]>): string[] {
  const table = ratiosTable(rounds);
  if (table.length === 0) return [];
  return [
    `## multi-process ratios`,
    '',
    'Each ratio divides two cells of the same round (the contenders of a round run one after the other, interleaved with ' +
      'the other rounds), so it shares that round\'s machine state; the last column is the median of the rounds\' ratios ' +
      'and their range. Compare these, not ops/s across runs.',
    '',
    ...table,
  ];
}

/** Renders the whole report. */
export function renderMarkdown(report: BenchReport): string {
  const m = report.machine;
  const s = report.settings;
  const out: string[] = [
    '# redis-transact benchmark',
    '',
    `${report.date} · ${m.cpus} × ${m.cpuModel} · node ${m.node} · redis ${m.redis} (${m.redisServer}) · load ${m.loadAverageAtStart.toFixed(2)} at start`,
    `${s.library === 'dist' ? 'the library as built (dist/cjs)' : 'the library’s source through tsx (not the build: see docs/benchmark.md)'} · ${s.durationMs} ms per cell after ${s.warmupMs} ms warm-up · fresh keys per cell · cells run one after another${(report.paired ?? []).length > 0 ? ' (plus one paired cell per pair, workload and c: see the exactly-once cost and ioredis against node-redis)' : ''} · total ${(report.elapsedMs / 1000).toFixed(0)} s`,
    '',
    `ops/s: committed ops per second · ×loop: ops/s ÷ ${LOOP_BASELINE}'s at the same c · ×lua: ÷ ${LUA_CEILING}'s (the ceiling) · ` +
      'attempts: all attempts ÷ commits / most for one op (lock contenders: lock acquisitions) · ' +
      'p50/p99/p99.9: ms from first attempt to commit · slowest: the longest call, committed or not, including calls still in ' +
      'flight when the window closed (timed to their end; marked "in flight") · ' +
      `give-ups: ops abandoned (loops after ${WATCH_LOOP_MAX_ATTEMPTS} attempts, ` +
      'redlock after its retries, transact at maxAttempts) · ⚠: cell failed (see below)',
  ];
  for (const w of report.workloads) {
    const cells = report.cells.filter((c) => c.workload === w.name);
    out.push('', `## ${w.name}: ${w.summary}`, '', ...table(cells), '', ...verdict(w.name, cells));
  }
  if (report.multiProcess.length > 0) {
    const first = report.multiProcess[0]!;
    const label: `${WorkloadName} ×${number} processes` = `${first.workload} ×${first.processes} processes`;
    // Older reports have no rounds: their one round is the table itself.
    const rounds = report.multiProcessRounds ?? [report.multiProcess];
    out.push(
      '',
      `## ${first.workload} over ${first.processes} processes × ${s.workersPerProcess} workers (${first.concurrency} in all)`,
      '',
      `Each contender's median round of ${rounds.length} (by ops/s; the round column says which) · every child warmed up ` +
        `for ${s.processWarmupMs ?? s.warmupMs} ms on the cell's keys before the window · shares: each process's part of the commits · ` +
        'last ¼ ÷ first ¼: ops/s in the last quarter of the window ÷ the first (well above 1.00×: still warming up)',
      '',
      ...table(report.multiProcess, true),
      '',
      ...roundsTable(rounds),
      '',
      ...verdict(label, rounds.flat()),
    );
    const ratios = ratiosSection(rounds);
    if (ratios.length > 0) out.push('', ...ratios);
  }
  const cost = exactlyOnceCost(report);
  if (cost.length > 0) out.push('', '## exactly-once cost', '', ...cost);
  const auto = autoVersusOthers(report);
  if (auto.length > 0) out.push('', '## auto mode against optimistic and lock', '', ...auto);
  const ioredis = ioredisVersusNodeRedis(report);
  if (ioredis.length > 0) out.push('', '## ioredis against node-redis', '', ...ioredis);
  if (cost.length > 0 || auto.length > 0 || ioredis.length > 0) out.push('', ...pairedVerdict(report.paired ?? []));
  out.push('', '## contenders', '');
  for (const c of report.contenders) {
    out.push(`- **${c.name}**: ${c.available ? c.summary : `n/a: ${c.unavailable}`}`);
  }
  out.push('', report.ok ? 'result: ok' : 'result: FAIL');
  return out.join('\n');
}
