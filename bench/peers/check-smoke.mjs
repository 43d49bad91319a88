#!/usr/bin/env node
// Checks the JSON of a small `npm run bench:peers` run (scripts/test.sh runs one with tiny counts
// to prove the benchmark command still works): Holdfast produced its figures in every scenario
// that ran, with nothing lost in C and C2. Layer: bench tool. No timing is judged here — a slow
// figure passes; a missing one, an error or a lost event fails.
//   node bench/peers/check-smoke.mjs RESULT.json   exit 0 = ok, 1 = problems (listed), 2 = unreadable
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { shortName } from './plot.mjs';

/** What each scenario's result must hold to count as "Holdfast produced a figure". */
const REQUIRED = {
  A: (r) => [['latencyMs.p50', r.latencyMs?.p50], ['latencyMs.p99', r.latencyMs?.p99]],
  B: (r) => [['deliveredPerS', r.deliveredPerS]],
  C: (r) => [['catchupMs', r.catchupMs], ['lost', r.lost]],
  C2: (r) => [['catchupMs', r.catchupMs], ['lost', r.lost]],
  D: (r) => [['latencyMs.p99', r.latencyMs?.p99], ['deliveredRatio', r.deliveredRatio]],
};

/**
 * Problems with Holdfast's part of a harness result (an empty list: it passed).
 * @param {object} result the parsed JSON of bench.mjs --out
 * @param {string[]} [expectScenarios] scenarios that must be present (default: C and C2)
 */
export function smokeProblems(result, expectScenarios = ['C', 'C2']) {
  const problems = [];
  const key = Object.keys(result?.systems ?? {}).find((k) => shortName(k) === 'holdfast');
  if (!key) return ['no Holdfast system in the result'];
  for (const sc of expectScenarios) if (!result.scenarios?.[sc]) problems.push(`scenario ${sc} did not run`);
  for (const [sc, bySystem] of Object.entries(result.scenarios ?? {})) {
    const r = bySystem?.[key];
    if (!r) { problems.push(`${sc}: no Holdfast result`); continue; }
    if (r.error) { problems.push(`${sc}: Holdfast failed: ${r.error}`); continue; }
    for (const [name, value] of (REQUIRED[sc] ?? (() => []))(r)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) problems.push(`${sc}: Holdfast has no ${name}`);
    }
    if ((sc === 'C' || sc === 'C2') && r.lost !== 0) problems.push(`${sc}: Holdfast lost ${r.lost} of ${r.expected} events`);
    if ((sc === 'C' || sc === 'C2') && r.dups) problems.push(`${sc}: Holdfast delivered ${r.dups} duplicates`);
  }
  return problems;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  let result;
  try {
    result = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    console.error(`bench smoke: cannot read ${file}: ${error.message}`);
    process.exit(2);
  }
  const problems = smokeProblems(result);
  for (const p of problems) console.error(`bench smoke: ${p}`);
  if (!problems.length) {
    const key = Object.keys(result.systems).find((k) => shortName(k) === 'holdfast');
    const c = result.scenarios.C[key];
    const c2 = result.scenarios.C2[key];
    console.log(`bench smoke: ok — Holdfast in ${Object.keys(result.scenarios).join(',')}; C lost ${c.lost}/${c.expected}, C2 lost ${c2.lost}/${c2.expected}`);
  }
  process.exit(problems.length ? 1 : 0);
}
