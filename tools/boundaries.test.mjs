// Proves the lint rules that keep ARCHITECTURE.md's one-way dependencies are active:
// every import against the allowed direction is an error, every allowed one is not.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { projects } from './projects.mjs';

const root = new URL('..', import.meta.url).pathname;
const eslint = new ESLint({ cwd: root });

async function lint(project, code, file = 'src/__boundary_probe.ts') {
  const [result] = await eslint.lintText(code, { filePath: `${root}${projects[project].dir}/${file}` });
  return result.messages;
}
const boundaryErrors = (messages) => messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries');

describe('module boundaries (ARCHITECTURE.md)', () => {
  const names = Object.keys(projects);
  for (const from of names) {
    for (const to of names) {
      if (from === to) continue;
      const allowed = projects[from].deps.includes(to);
      it(`${from} -> ${to} is ${allowed ? 'allowed' : 'rejected'}`, async () => {
        const messages = await lint(from, `import * as x from '${projects[to].pkg}';\nexport const y = x;\n`);
        expect(boundaryErrors(messages).length, JSON.stringify(messages)).toBe(allowed ? 0 : 1);
      });
    }
  }

  it('a relative import into another project is rejected', async () => {
    const messages = await lint('hyperkit', `import * as x from '../../vpnkit/src/index.js';\nexport const y = x;\n`);
    expect(boundaryErrors(messages).length, JSON.stringify(messages)).toBeGreaterThan(0);
  });
});

describe('koffi stays behind hyperkit/src/ffi (CONVENTIONS.md #3)', () => {
  it('is rejected elsewhere', async () => {
    const messages = await lint('hyperkit', `import koffi from 'koffi';\nexport const k = koffi;\n`, 'src/kvm/__probe.ts');
    expect(messages.some((m) => m.ruleId === 'no-restricted-imports')).toBe(true);
  });
  it('is allowed in src/ffi', async () => {
    const messages = await lint('hyperkit', `import koffi from 'koffi';\nexport const k = koffi;\n`, 'src/ffi/__probe.ts');
    expect(messages.filter((m) => m.severity === 2)).toEqual([]);
  });
});

describe('protocol layers do no I/O (CONVENTIONS.md #2)', () => {
  it('rejects Date.now and sockets in vpnkit/src/tcp', async () => {
    const messages = await lint('vpnkit', `import net from 'node:net';\nexport const t = Date.now() + String(net);\n`, 'src/tcp/__probe.ts');
    expect(messages.map((m) => m.ruleId).sort()).toEqual(['no-restricted-imports', 'no-restricted-syntax']);
  });
});
