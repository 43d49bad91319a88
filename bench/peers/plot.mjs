#!/usr/bin/env node
// Plots one run of the peer harness (../shared/peers/bench.mjs, its --out JSON) as an SVG: latency
// percentiles per system (A: p50/p99/max, D: p50/p99, log scale) and throughput per system (B:
// delivered events/s at the page). Layer: bench tool. Hand-written SVG text, no plotting package,
// so it runs wherever Node does. Every figure is one <rect class="bar"> carrying data-scenario,
// data-system, data-metric and data-value; a figure a system did not produce (scenario error, not
// run) is a <text class="missing"> in its place, never a bar of height 0.
//   node bench/peers/plot.mjs [IN.json [OUT.svg]]   (default build/bench/peers-result.json → .svg)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

/** The panels: which scenario, which figures of its result, and how to scale them. */
const PANELS = [
  { scenario: 'A', title: (p) => `A · publisher → page latency at ${fmtInt(p?.A?.rate ?? 1000)} ev/s (ms, log scale)`,
    scale: 'log', metrics: [['p50', (r) => r.latencyMs?.p50], ['p99', (r) => r.latencyMs?.p99], ['max', (r) => r.latencyMs?.max]] },
  { scenario: 'B', title: () => 'B · events/s delivered to one page, publisher as fast as accepted (higher is better)',
    scale: 'linear', metrics: [['delivered ev/s', (r) => r.deliveredPerS]] },
  { scenario: 'D', title: (p) => `D · ${fmtInt(p?.D?.subs ?? 200)} subscribers × ${fmtInt(p?.D?.rate ?? 500)} ev/s latency (ms, log scale)`,
    scale: 'log', metrics: [['p50', (r) => r.latencyMs?.p50], ['p99', (r) => r.latencyMs?.p99]] },
];

const COLORS = ['#1f6feb', '#8250df', '#d1242f', '#1a7f37', '#bc4c00', '#6e7781'];
const HOLDFAST_COLOR = '#d1242f';

const WIDTH = 960;
const PANEL_HEIGHT = 250;
const PLOT_LEFT = 70;
const PLOT_RIGHT = WIDTH - 20;

function fmtInt(n) { return Math.round(n).toLocaleString('en-US'); }

/** A figure as printed over its bar: 3 significant digits, thousands separated. */
export function formatValue(v) {
  if (v >= 1000) return fmtInt(v);
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toPrecision(v >= 1 ? 3 : 2);
}

function esc(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A system's short name: the bundled adapter's name, or an adapter path's file name. */
export function shortName(key) {
  return path.basename(String(key)).replace(/\.m?js$/, '');
}

/** A number usable as a bar (finite, and > 0 on a log scale). */
function plottable(v, scale) {
  return typeof v === 'number' && Number.isFinite(v) && (scale !== 'log' || v > 0);
}

/** [lo, hi] of the axis and a value → y mapper over [top, bottom]. */
function axis(values, scale, top, bottom) {
  if (scale === 'log') {
    const lo = Math.floor(Math.log10(Math.min(...values, 1)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...values))));
    const y = (v) => bottom - ((Math.log10(v) - lo) / (hi - lo)) * (bottom - top);
    const ticks = [];
    for (let e = lo; e <= hi; ++e) ticks.push(10 ** e);
    return { y, ticks, base: bottom };
  }
  const max = Math.max(...values, 1);
  const step = 10 ** Math.floor(Math.log10(max));
  const niceStep = max / step > 5 ? step * 2 : max / step > 2 ? step : step / 2;
  const hi = Math.ceil(max / niceStep) * niceStep;
  const y = (v) => bottom - (v / hi) * (bottom - top);
  const ticks = [];
  for (let t = 0; t <= hi + niceStep / 2; t += niceStep) ticks.push(t);
  return { y, ticks, base: bottom };
}

function tickLabel(t) {
  if (t >= 1000) return t % 1000 === 0 ? `${t / 1000}k` : fmtInt(t);
  return t >= 1 ? String(t) : String(+t.toPrecision(1));
}

/** Why a system has no figure for a scenario (shown in place of its bars). */
function missingReason(result) {
  if (!result) return 'not run';
  if (result.error) return 'error';
  return 'no figure';
}

/** The header's description of the run: date, machine, browser, Node. */
export function runLabel(result) {
  const parts = [];
  if (result.startedAt) parts.push(`run of ${result.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC')}`);
  const h = result.host;
  if (h) parts.push([h.cpus && `${h.cpus} × ${h.cpuModel ?? 'CPU'}`, h.platform, h.node && `Node ${h.node}`].filter(Boolean).join(', '));
  if (result.browser) parts.push(result.browser);
  if (result.totalWallS) parts.push(`${result.totalWallS} s in all`);
  return parts.join(' · ');
}

/**
 * The SVG text for one harness result (the parsed JSON of bench.mjs --out).
 * @param {{startedAt?: string, host?: object, browser?: string, params?: object,
 *   systems: Record<string, {label?: string}>, scenarios: Record<string, Record<string, object>>}} result
 */
export function plotPeers(result) {
  if (!result || typeof result !== 'object' || !result.systems || !result.scenarios) {
    throw new TypeError('not a peer harness result: expected an object with "systems" and "scenarios"');
  }
  const systems = Object.keys(result.systems);
  if (!systems.length) throw new TypeError('the result names no systems');
  // Holdfast in red, the peers in the other colours, in the order the run listed them.
  const peerColors = COLORS.filter((c) => c !== HOLDFAST_COLOR);
  let nextPeer = 0;
  const color = new Map(systems.map((key) => [key, shortName(key) === 'holdfast' ? HOLDFAST_COLOR : peerColors[nextPeer++ % peerColors.length]]));
  const panels = PANELS.filter((p) => result.scenarios[p.scenario]);
  const headerHeight = 64 + 18 * systems.length;
  const height = headerHeight + PANEL_HEIGHT * Math.max(panels.length, 1) + 10;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="20" y="26" font-size="17" font-weight="bold">Holdfast beside its peers: latency percentiles and throughput, one run</text>`);
  out.push(`<text class="run" x="20" y="46" fill="#444">${esc(runLabel(result) || 'run date and machine not recorded in the JSON')}</text>`);
  systems.forEach((key, i) => {
    const y = 64 + 18 * i;
    out.push(`<rect class="legend" data-system="${esc(shortName(key))}" x="20" y="${y - 10}" width="12" height="12" fill="${color.get(key)}"/>`);
    out.push(`<text x="38" y="${y}">${esc(shortName(key))} — ${esc(result.systems[key]?.label ?? key)}${result.systems[key]?.untested ? ' (untested adapter)' : ''}</text>`);
  });
  if (!panels.length) out.push(`<text x="20" y="${headerHeight + 30}">The result holds none of scenarios A, B, D.</text>`);

  panels.forEach((panel, pi) => {
    const top = headerHeight + pi * PANEL_HEIGHT;
    const plotTop = top + 34;
    const plotBottom = top + PANEL_HEIGHT - 40;
    const byScenario = result.scenarios[panel.scenario];
    out.push(`<g class="panel" data-scenario="${panel.scenario}">`);
    out.push(`<text x="20" y="${top + 20}" font-size="14" font-weight="bold">${esc(panel.title(result.params))}</text>`);
    const figures = [];
    for (const [metric, get] of panel.metrics) {
      for (const key of systems) {
        const r = byScenario[key];
        let v;
        try { v = r && !r.error ? get(r) : undefined; } catch { v = undefined; }
        figures.push({ metric, key, value: plottable(v, panel.scale) ? v : null, reason: missingReason(r) });
      }
    }
    const values = figures.filter((f) => f.value !== null).map((f) => f.value);
    const ax = axis(values.length ? values : [1], panel.scale, plotTop, plotBottom);
    for (const t of ax.ticks) {
      const y = ax.y(t).toFixed(1);
      out.push(`<line x1="${PLOT_LEFT}" x2="${PLOT_RIGHT}" y1="${y}" y2="${y}" stroke="#e1e4e8"/>`);
      out.push(`<text x="${PLOT_LEFT - 6}" y="${(+y + 4).toFixed(1)}" text-anchor="end" fill="#555">${tickLabel(t)}</text>`);
    }
    out.push(`<line x1="${PLOT_LEFT}" x2="${PLOT_RIGHT}" y1="${plotBottom}" y2="${plotBottom}" stroke="#333"/>`);
    const groupWidth = (PLOT_RIGHT - PLOT_LEFT) / panel.metrics.length;
    const barWidth = Math.min(70, (groupWidth - 40) / systems.length);
    panel.metrics.forEach(([metric], mi) => {
      const groupLeft = PLOT_LEFT + mi * groupWidth + (groupWidth - barWidth * systems.length) / 2;
      out.push(`<text x="${(PLOT_LEFT + (mi + 0.5) * groupWidth).toFixed(1)}" y="${plotBottom + 30}" text-anchor="middle" font-weight="bold">${esc(metric)}</text>`);
      systems.forEach((key, si) => {
        const f = figures.find((g) => g.metric === metric && g.key === key);
        const x = groupLeft + si * barWidth;
        const cx = (x + barWidth / 2).toFixed(1);
        const attrs = `data-scenario="${panel.scenario}" data-system="${esc(shortName(key))}" data-metric="${esc(metric)}"`;
        out.push(`<text x="${cx}" y="${plotBottom + 14}" text-anchor="middle" font-size="10" fill="#555">${esc(shortName(key))}</text>`);
        if (f.value === null) {
          out.push(`<text class="missing" ${attrs} data-reason="${f.reason}" x="${cx}" y="${plotBottom - 6}" text-anchor="middle" font-size="10" fill="#d1242f">${f.reason}</text>`);
          return;
        }
        const y = Math.min(ax.y(f.value), plotBottom - 1);
        out.push(`<rect class="bar" ${attrs} data-value="${f.value}" x="${(x + 2).toFixed(1)}" y="${y.toFixed(1)}" width="${(barWidth - 4).toFixed(1)}" height="${(plotBottom - y).toFixed(1)}" fill="${color.get(key)}"><title>${esc(`${panel.scenario} ${metric} ${shortName(key)}: ${f.value}`)}</title></rect>`);
        out.push(`<text x="${cx}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="10">${formatValue(f.value)}</text>`);
      });
    });
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Reads IN (JSON), writes OUT (SVG); returns OUT. */
export function plotFile(inFile, outFile) {
  const result = JSON.parse(fs.readFileSync(inFile, 'utf8'));
  const svg = plotPeers(result);
  fs.mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
  fs.writeFileSync(outFile, svg);
  return outFile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [inArg, outArg] = process.argv.slice(2);
  if (inArg === '-h' || inArg === '--help') {
    console.log('usage: node bench/peers/plot.mjs [IN.json [OUT.svg]]  (default build/bench/peers-result.json, OUT = IN with .svg)');
    process.exit(0);
  }
  const inFile = inArg ?? path.join(root, 'build/bench/peers-result.json');
  const outFile = outArg ?? inFile.replace(/\.json$/, '') + '.svg';
  try {
    plotFile(inFile, outFile);
    console.error(`bench:plot: ${outFile}`);
  } catch (error) {
    console.error(`bench:plot: ${inFile}: ${error.message}`);
    process.exit(1);
  }
}
