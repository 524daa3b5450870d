// `nx graph --file` must show exactly the dependencies ARCHITECTURE.md allows.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { projects } from './projects.mjs';

const root = new URL('..', import.meta.url).pathname;

it('the Nx project graph has exactly the allowed dependencies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kitbox-graph-'));
  try {
    const file = join(dir, 'graph.json');
    execFileSync('npx', ['nx', 'graph', `--file=${file}`], {
      cwd: root,
      stdio: 'pipe',
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
    });
    const { graph } = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(graph.nodes).sort()).toEqual(Object.keys(projects).sort());
    const actual = {};
    for (const [name, deps] of Object.entries(graph.dependencies)) {
      actual[name] = deps.map((d) => d.target).filter((t) => t in projects).sort();
    }
    const expected = Object.fromEntries(Object.entries(projects).map(([n, p]) => [n, [...p.deps].sort()]));
    expect(actual).toEqual(expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
