// Prints the workspace test summary from the reports the steps of tools/test leave:
// vitest JSON reports (one per project, plus tools/), check-packs' report and Nx's log.
// The last line is "N passed, N failed", so a run that executed nothing is visible.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const sources = [];
for (const base of ['packages', 'apps']) {
  for (const name of readdirSync(join(root, base))) sources.push([name, join(root, base, name, 'reports/vitest.json')]);
}
sources.push(['workspace', join(root, 'tools/reports/vitest.json')]);
sources.push(['check-packs', join(root, 'reports/check-packs.json')]);

let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
for (const [name, file] of sources) {
  if (!existsSync(file)) {
    rows.push([name, 'no report (did not run)']);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const p = r.numPassedTests ?? 0;
  const f = (r.numFailedTests ?? 0) + (r.success === false && !r.numFailedTests ? 1 : 0);
  const s = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  passed += p;
  failed += f;
  skipped += s;
  rows.push([name, `${p} passed, ${f} failed${s ? `, ${s} skipped` : ''}`]);
}

// Lint and typecheck have no test counts: each failed Nx task counts as one failure.
const nxLog = join(root, 'reports/nx.log');
const failedTasks = [];
if (existsSync(nxLog)) {
  const log = readFileSync(nxLog, 'utf8');
  const block = log.split(/Failed tasks:/)[1];
  if (block) for (const m of block.matchAll(/^\s*-\s+(\S+:\S+)/gm)) failedTasks.push(m[1]);
} else {
  failedTasks.push('nx run-many (no log)');
}
for (const t of failedTasks) {
  if (t.endsWith(':test')) continue; // already counted through its report
  rows.push([t, 'FAILED']);
  failed += 1;
}

const width = Math.max(...rows.map(([n]) => n.length));
for (const [n, text] of rows) console.log(`  ${n.padEnd(width)}  ${text}`);
if (skipped) console.log(`  (${skipped} skipped: each skip printed its reason above)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
