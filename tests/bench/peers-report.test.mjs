// The peer benchmark's report tools on a fixed harness result (fixtures/peers-result.json: one
// real run, trimmed, with socketio's scenario B replaced by an error): the SVG plot holds one bar
// per system and metric with that figure, a "missing" mark where a system has none, and the run's
// date and machine; the CI smoke check passes that result and fails on a loss, an error or a
// missing figure. Layer: tests (node --test, no build needed).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { smokeProblems } from '../../bench/peers/check-smoke.mjs';
import { plotPeers } from '../../bench/peers/plot.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const fixture = path.join(here, 'fixtures/peers-result.json');
const load = () => JSON.parse(fs.readFileSync(fixture, 'utf8'));

/** Every element of one class in the SVG, as {attribute: value}. */
function elements(svg, tag, cls) {
  const found = [];
  for (const m of svg.matchAll(new RegExp(`<${tag} class="${cls}"([^>]*)>`, 'g'))) {
    found.push(Object.fromEntries([...m[1].matchAll(/([\w-]+)="([^"]*)"/g)].map(([, k, v]) => [k, v])));
  }
  return found;
}

const SYSTEMS = ['socketio', 'durable-streams', 'holdfast'];
const KEY = { socketio: 'socketio', 'durable-streams': 'durable-streams', holdfast: '/repo/bench/peers/holdfast.mjs' };
const EXPECTED = [
  ['A', 'p50', (r) => r.latencyMs.p50], ['A', 'p99', (r) => r.latencyMs.p99], ['A', 'max', (r) => r.latencyMs.max],
  ['B', 'delivered ev/s', (r) => r.deliveredPerS],
  ['D', 'p50', (r) => r.latencyMs.p50], ['D', 'p99', (r) => r.latencyMs.p99],
];

describe('plot.mjs', () => {
  const result = load();
  const svg = plotPeers(result);
  const bars = elements(svg, 'rect', 'bar');
  const missing = elements(svg, 'text', 'missing');

  test('one bar per system and metric, carrying that system\'s figure', () => {
    for (const [scenario, metric, get] of EXPECTED) {
      for (const system of SYSTEMS) {
        const r = result.scenarios[scenario][KEY[system]];
        const match = bars.filter((b) => b['data-scenario'] === scenario && b['data-metric'] === metric && b['data-system'] === system);
        if (r.error) {
          assert.equal(match.length, 0, `${scenario} ${metric} ${system} failed: no bar`);
          continue;
        }
        assert.equal(match.length, 1, `${scenario} ${metric} ${system}: one bar`);
        assert.equal(Number(match[0]['data-value']), get(r), `${scenario} ${metric} ${system}: its value`);
        assert.ok(Number(match[0].height) > 0, `${scenario} ${metric} ${system}: a visible bar`);
      }
    }
    // 3 systems × (3 + 2) latency figures + 2 throughput figures (socketio's B failed).
    assert.equal(bars.length, 3 * 5 + 2);
  });

  test('a system whose scenario failed is marked as such, not drawn as zero', () => {
    assert.deepEqual(missing.map((m) => [m['data-scenario'], m['data-system'], m['data-reason']]), [['B', 'socketio', 'error']]);
  });

  test('a larger figure gets a taller bar (log scale for latency, linear for throughput)', () => {
    const bar = (sc, metric, system) => bars.find((b) => b['data-scenario'] === sc && b['data-metric'] === metric && b['data-system'] === system);
    // A p99: durable-streams 15.91 > socketio 7.7 > holdfast 4.73 in the fixture.
    assert.ok(+bar('A', 'p99', 'durable-streams').height > +bar('A', 'p99', 'socketio').height);
    assert.ok(+bar('A', 'p99', 'socketio').height > +bar('A', 'p99', 'holdfast').height);
    const ds = bar('B', 'delivered ev/s', 'durable-streams');
    const hf = bar('B', 'delivered ev/s', 'holdfast');
    const ratio = +ds.height / +hf.height;
    assert.ok(Math.abs(ratio - ds['data-value'] / hf['data-value']) < 0.05 * ratio, `linear: heights in the ratio of the values (${ratio})`);
  });

  test('labelled with the run\'s date, machine and browser, and each system\'s label', () => {
    assert.match(svg, /run of 2026-11-23 19:35:11 UTC/);
    assert.match(svg, /2 × AMD EPYC/);
    assert.match(svg, /Chrome\/156/);
    for (const { label } of Object.values(result.systems)) assert.ok(svg.includes(label.replace(/&/g, '&amp;')), label);
  });

  test('well-formed: every tag closed, text escaped', () => {
    const weird = structuredClone(result);
    weird.systems.socketio.label = 'Socket.IO <4.8> & "CSR"';
    const text = plotPeers(weird);
    assert.ok(text.includes('Socket.IO &lt;4.8&gt; &amp; &quot;CSR&quot;'));
    const opened = (text.match(/<(svg|g|text|title)\b/g) ?? []).length;
    const closed = (text.match(/<\/(svg|g|text|title)>/g) ?? []).length;
    assert.equal(opened, closed);
  });

  test('a result without the run\'s date or machine still plots, and says they are missing', () => {
    const bare = { systems: result.systems, scenarios: { B: result.scenarios.B } };
    const text = plotPeers(bare);
    assert.match(text, /not recorded/);
    assert.equal(elements(text, 'rect', 'bar').length, 2);
  });

  test('input that is not a harness result is refused with a TypeError', () => {
    assert.throws(() => plotPeers({}), TypeError);
    assert.throws(() => plotPeers({ systems: {}, scenarios: {} }), TypeError);
    assert.throws(() => plotPeers(null), TypeError);
  });

  test('the command line writes the SVG and fails clearly on a missing file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plot-'));
    const out = path.join(dir, 'peers.svg');
    execFileSync(process.execPath, [path.join(root, 'bench/peers/plot.mjs'), fixture, out], { stdio: 'pipe' });
    assert.equal(fs.readFileSync(out, 'utf8'), plotPeers(result));
    const bad = spawnSync(process.execPath, [path.join(root, 'bench/peers/plot.mjs'), path.join(dir, 'absent.json'), out], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /absent\.json/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('check-smoke.mjs', () => {
  test('the fixture run passes', () => assert.deepEqual(smokeProblems(load()), []));

  test('an event lost in C2 fails', () => {
    const r = load();
    r.scenarios.C2[KEY.holdfast].lost = 3;
    assert.deepEqual(smokeProblems(r), ['C2: Holdfast lost 3 of 10100 events']);
  });

  test('a Holdfast error, a missing figure or a missing scenario fails', () => {
    const r = load();
    r.scenarios.A[KEY.holdfast] = { error: 'page did not load' };
    r.scenarios.B[KEY.holdfast].deliveredPerS = null;
    delete r.scenarios.C;
    assert.deepEqual(smokeProblems(r), ['scenario C did not run', 'A: Holdfast failed: page did not load', 'B: Holdfast has no deliveredPerS']);
  });

  test('a run without Holdfast fails', () => {
    const r = load();
    delete r.systems[KEY.holdfast];
    assert.deepEqual(smokeProblems(r), ['no Holdfast system in the result']);
  });

  test('a peer\'s loss is not Holdfast\'s problem', () => {
    const r = load();
    r.scenarios.C2.socketio.lost = 10000;
    assert.deepEqual(smokeProblems(r), []);
  });
});
