/**
 * The run as a hand-written SVG: one line chart per workload (x: concurrency as evenly spaced
 * categories, y: committed ops/s on a log scale so a 100× spread stays readable), one line per
 * contender with a shared legend, and a bar chart for the multi-process run. No dependency.
 */
import type { ContenderName } from '../types.js';
import { formatAxis, formatOps } from './format.js';
import type { BenchReport, CellRecord } from './results.js';

/** A contender's colour and dash (Okabe-Ito palette: distinguishable with colour blindness). */
const STYLE: Readonly<Record<ContenderName, { color: string; dash?: string }>> = {
  'watch-loop': { color: '#56B4E9', dash: '6 4' },
  'watch-loop-pipelined': { color: '#0072B2' },
  lua: { color: '#000000', dash: '2 3' },
  'npm-lock': { color: '#D55E00' },
  'transact-optimistic': { color: '#009E73' },
  // An exactly-once variant: its mode's colour, dotted.
  'transact-optimistic-once': { color: '#009E73', dash: '1 3' },
  'transact-lock': { color: '#CC79A7' },
  'transact-lock-once': { color: '#CC79A7', dash: '1 3' },
  'transact-auto': { color: '#E69F00' },
  // On ioredis: the node-redis twin's colour, long dashes.
  'watch-loop-ioredis': { color: '#0072B2', dash: '8 3' },
  'transact-optimistic-ioredis': { color: '#009E73', dash: '8 3' },
  'transact-lock-ioredis': { color: '#CC79A7', dash: '8 3' },
  'transact-auto-ioredis': { color: '#E69F00', dash: '8 3' },
};

const WIDTH = 1000;
const PANEL_W = 480;
const PANEL_H = 320;
const GAP = 20;
const PLOT = { left: 64, right: 16, top: 34, bottom: 46 };
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function dashAttr(name: ContenderName): string {
  const dash = STYLE[name].dash;
  return dash ? ` stroke-dasharray="${dash}"` : '';
}

/** Log-scale bounds (whole decades) and tick values (1, 2, 5 per decade when there are few decades). */
function logScale(values: readonly number[]): { min: number; max: number; ticks: number[] } {
  const positive = values.filter((v) => v > 0);
  let lo = Math.floor(Math.log10(Math.min(...positive, 1e12)));
  let hi = Math.ceil(Math.log10(Math.max(...positive, 1)));
  if (!Number.isFinite(lo) || positive.length === 0) [lo, hi] = [0, 1];
  if (hi <= lo) hi = lo + 1;
  const steps = hi - lo <= 3 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let d = lo; d <= hi; d++) for (const s of steps) if (s * 10 ** d <= 10 ** hi) ticks.push(s * 10 ** d);
  return { min: 10 ** lo, max: 10 ** hi, ticks };
}

function lineChart(x0: number, y0: number, title: string, cells: readonly CellRecord[], levels: readonly number[], contenders: readonly ContenderName[]): string {
  const w = PANEL_W - PLOT.left - PLOT.right;
  const h = PANEL_H - PLOT.top - PLOT.bottom;
  const values = cells.flatMap((c) => (c.stats ? [c.stats.opsPerSec] : []));
  const { min, max, ticks } = logScale(values);
  const pad = 24; // keeps the first and last markers off the frame
  const px = (i: number) => x0 + PLOT.left + pad + (levels.length === 1 ? (w - 2 * pad) / 2 : (i * (w - 2 * pad)) / (levels.length - 1));
  const py = (v: number) => y0 + PLOT.top + h - ((Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * h;
  const parts: string[] = [
    `<rect x="${x0}" y="${y0}" width="${PANEL_W}" height="${PANEL_H}" fill="#fff" stroke="#ddd"/>`,
    `<text x="${x0 + PANEL_W / 2}" y="${y0 + 20}" text-anchor="middle" font-size="14" font-weight="600">${esc(title)}</text>`,
  ];
  for (const t of ticks) {
    const y = py(t).toFixed(1);
    const major = Number.isInteger(Math.log10(t));
    parts.push(
      `<line x1="${x0 + PLOT.left}" x2="${x0 + PLOT.left + w}" y1="${y}" y2="${y}" stroke="${major ? '#ccc' : '#eee'}"/>`,
      `<text x="${x0 + PLOT.left - 6}" y="${y}" dy="4" text-anchor="end" font-size="11" fill="#555">${formatAxis(t)}</text>`,
    );
  }
  levels.forEach((level, i) => {
    parts.push(`<text x="${px(i).toFixed(1)}" y="${y0 + PLOT.top + h + 16}" text-anchor="middle" font-size="11" fill="#555">${level}</text>`);
  });
  parts.push(
    `<text x="${x0 + PLOT.left + w / 2}" y="${y0 + PANEL_H - 10}" text-anchor="middle" font-size="11" fill="#333">concurrency (workers)</text>`,
    `<text transform="translate(${x0 + 14} ${y0 + PLOT.top + h / 2}) rotate(-90)" text-anchor="middle" font-size="11" fill="#333">committed ops/s (log)</text>`,
  );
  for (const name of contenders) {
    const points = levels.flatMap((level, i) => {
      const stats = cells.find((c) => c.contender === name && c.concurrency === level)?.stats;
      return stats ? [{ x: px(i), y: py(stats.opsPerSec), v: stats.opsPerSec, level }] : [];
    });
    if (points.length === 0) continue;
    const { color } = STYLE[name];
    const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dashAttr(name)}/>`);
    for (const p of points) {
      // A value below the axis (0 ops/s has no place on a log scale) sits on the axis, hollow.
      const fill = p.v < min ? '#fff' : color;
      parts.push(
        `<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="3" fill="${fill}" stroke="${color}"><title>${esc(`${name}, c=${p.level}: ${formatOps(p.v)} ops/s`)}</title></circle>`,
      );
    }
  }
  return parts.join('\n');
}

function barChart(x0: number, y0: number, title: string, cells: readonly CellRecord[]): string {
  const w = PANEL_W - 170 - 70;
  const left = x0 + 170;
  // Log scale like the line charts: the ceiling is often 100× the rest, which linear bars would hide.
  const { min, max, ticks } = logScale(cells.flatMap((c) => (c.stats ? [c.stats.opsPerSec] : [])));
  const bx = (v: number) => ((Math.log10(Math.max(v, min)) - Math.log10(min)) / (Math.log10(max) - Math.log10(min))) * w;
  const barH = Math.min(26, (PANEL_H - 90) / Math.max(cells.length, 1) - 6);
  const axisY = y0 + 40 + cells.length * (barH + 6);
  const parts: string[] = [
    `<rect x="${x0}" y="${y0}" width="${PANEL_W}" height="${PANEL_H}" fill="#fff" stroke="#ddd"/>`,
    `<text x="${x0 + PANEL_W / 2}" y="${y0 + 20}" text-anchor="middle" font-size="14" font-weight="600">${esc(title)}</text>`,
  ];
  for (const t of ticks.filter((t) => Number.isInteger(Math.log10(t)))) {
    const x = (left + bx(t)).toFixed(1);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${y0 + 36}" y2="${axisY}" stroke="#ddd"/>`,
      `<text x="${x}" y="${axisY + 14}" text-anchor="middle" font-size="11" fill="#555">${formatAxis(t)}</text>`,
    );
  }
  cells.forEach((c, i) => {
    const y = y0 + 40 + i * (barH + 6);
    parts.push(`<text x="${left - 8}" y="${y + barH / 2 + 4}" text-anchor="end" font-size="11" fill="#333">${esc(c.contender)}</text>`);
    if (!c.stats) {
      parts.push(`<text x="${left}" y="${y + barH / 2 + 4}" font-size="11" fill="#999">n/a</text>`);
      return;
    }
    const bw = Math.max(1, bx(c.stats.opsPerSec));
    parts.push(
      `<rect x="${left}" y="${y}" width="${bw.toFixed(1)}" height="${barH.toFixed(1)}" fill="${STYLE[c.contender].color}"/>`,
      `<text x="${(left + bw + 6).toFixed(1)}" y="${y + barH / 2 + 4}" font-size="11" fill="#333">${formatOps(c.stats.opsPerSec)}</text>`,
    );
  });
  parts.push(`<text x="${x0 + PANEL_W / 2}" y="${y0 + PANEL_H - 10}" text-anchor="middle" font-size="11" fill="#333">committed ops/s (log)</text>`);
  return parts.join('\n');
}

function legend(y: number, contenders: BenchReport['contenders']): string {
  const parts: string[] = [];
  const perRow = 4;
  contenders.forEach((c, i) => {
    const x = 20 + (i % perRow) * 240;
    const yy = y + Math.floor(i / perRow) * 20;
    const { color } = STYLE[c.name];
    parts.push(
      `<line x1="${x}" x2="${x + 28}" y1="${yy}" y2="${yy}" stroke="${c.available ? color : '#bbb'}" stroke-width="2.5"${dashAttr(c.name)}/>`,
      `<text x="${x + 34}" y="${yy + 4}" font-size="12" fill="${c.available ? '#222' : '#999'}">${esc(c.name)}${c.available ? '' : ' (n/a)'}</text>`,
    );
  });
  return parts.join('\n');
}

/** Renders the report's charts as a standalone SVG document. */
export function renderSvg(report: BenchReport): string {
  const names = report.contenders.map((c) => c.name);
  const panels: Array<(x: number, y: number) => string> = report.workloads.map(
    (wl) => (x, y) => lineChart(x, y, wl.name, report.cells.filter((c) => c.workload === wl.name), report.settings.concurrency, names),
  );
  if (report.multiProcess.length > 0) {
    const first = report.multiProcess[0]!;
    const rounds = report.settings.rounds ?? 1;
    const title = `${first.workload}: ${first.processes} processes × ${report.settings.workersPerProcess} workers${rounds > 1 ? `, median of ${rounds} rounds` : ''}`;
    panels.push((x, y) => barChart(x, y, title, report.multiProcess));
  }
  const legendRows = Math.ceil(report.contenders.length / 4);
  const top = 56 + legendRows * 20;
  const rows = Math.ceil(panels.length / 2);
  const height = top + rows * (PANEL_H + GAP) + 10;
  const m = report.machine;
  const subtitle = `${report.date.slice(0, 10)} · ${m.cpus} CPUs · node ${m.node} · redis ${m.redis} · ${report.settings.durationMs} ms per cell`;
  const body = panels.map((panel, i) => panel(20 + (i % 2) * (PANEL_W + GAP), top + Math.floor(i / 2) * (PANEL_H + GAP)));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" ${FONT}>`,
    `<rect width="${WIDTH}" height="${height}" fill="#fafafa"/>`,
    `<text x="20" y="24" font-size="16" font-weight="700">redis-transact benchmark: committed ops/s by concurrency</text>`,
    `<text x="20" y="42" font-size="11" fill="#555">${esc(subtitle)}</text>`,
    legend(62, report.contenders),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
