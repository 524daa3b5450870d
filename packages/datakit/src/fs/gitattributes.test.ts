/**
 * checkGitattributes against `git fsck --strict`: each blob is the `.gitattributes` (or, to
 * show the rule holds at any depth, `d/.gitattributes`) of a commit in a fresh bare
 * repository; the checker must agree with fsck's verdict and rule.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasGit } from '../store/git.fixture.js';
import { checkGitattributes } from './gitattributes.js';
import { isGitattributesName } from './overlay.js';

const root = mkdtempSync(join(tmpdir(), 'datakit-gitattributes-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
let repos = 0;

/** The rule `git fsck --strict` fails the commit with (undefined: it passes). */
function gitVerdict(entries: { name: string; blob?: Buffer; tree?: boolean }[], nested: boolean): string | undefined {
  const gitdir = join(root, `r${repos++}.git`);
  const git = (args: string[], input?: Buffer | string): string => execFileSync('git', ['--git-dir', gitdir, ...args], { env, input, encoding: 'utf8', maxBuffer: 256 << 20 }).trim();
  execFileSync('git', ['init', '-q', '--bare', gitdir], { env });
  const empty = git(['hash-object', '-w', '--stdin'], '');
  const rows = entries.map((e) => {
    if (e.tree === true) return `040000 tree ${git(['mktree'], `100644 blob ${empty}\tf\n`)}\t${e.name}`;
    return `100644 blob ${git(['hash-object', '-w', '--stdin'], e.blob)}\t${e.name}`;
  });
  let tree = git(['mktree'], `${rows.join('\n')}\n`);
  if (nested) tree = git(['mktree'], `040000 tree ${tree}\td\n`);
  git(['update-ref', 'refs/heads/master', git(['commit-tree', tree, '-m', 'm'])]);
  const r = spawnSync('git', ['--git-dir', gitdir, 'fsck', '--strict', '--no-dangling'], { env, encoding: 'utf8' });
  const rule = /^error in (?:blob|tree) [0-9a-f]+: (\w+):/m.exec(r.stderr)?.[1];
  expect(r.status !== 0, r.stderr).toBe(rule !== undefined);
  return rule;
}

const line = (n: number, c = 'a'): string => c.repeat(n);
const cases: { what: string; blob: string; git: string | undefined }[] = [
  { what: 'ordinary attributes', blob: '*.sh text eol=lf\n*.png binary\n', git: undefined },
  { what: 'empty', blob: '', git: undefined },
  { what: 'a 2047-byte line', blob: `${line(2047)}\n`, git: undefined },
  { what: 'a 2048-byte line', blob: `${line(2048)}\n`, git: 'gitattributesLineLength' },
  { what: 'a 2048-byte last line with no newline', blob: `x\n${line(2048)}`, git: 'gitattributesLineLength' },
  { what: '2047 bytes and a CR (the CR counts)', blob: `${line(2047)}\r\n`, git: 'gitattributesLineLength' },
  { what: 'a long line after a NUL byte (fsck stops at the NUL)', blob: `x\n\0${line(5000)}\n`, git: undefined },
  { what: 'a long line before a NUL byte', blob: `${line(3000)}\0\n`, git: 'gitattributesLineLength' },
  { what: 'many short lines', blob: `${'*.c diff\n'.repeat(5000)}`, git: undefined },
];

describe.skipIf(!hasGit)('checkGitattributes agrees with git fsck --strict (2.39)', () => {
  for (const c of cases) {
    for (const nested of [false, true]) {
      it(`${c.what}${nested ? ', in a subdirectory' : ''}`, () => {
        const blob = Buffer.from(c.blob, 'latin1');
        expect(gitVerdict([{ name: '.gitattributes', blob }], nested)).toBe(c.git);
        expect(checkGitattributes(blob)?.rule).toBe(c.git);
      });
    }
  }

  it('names git takes for .gitattributes, and a directory of that name fails gitattributesBlob', () => {
    const long = Buffer.from(`${line(2048)}\n`);
    for (const name of ['.gitattributes', '.GitAttributes', 'gitatt~1', '.gitattributes.', 'gi7d29~1']) {
      expect(isGitattributesName(name), name).toBe(true);
      expect(gitVerdict([{ name, blob: long }], false), name).toBe('gitattributesLineLength');
    }
    for (const name of ['gitattributes', '.gitattributesx', 'gitatt~5']) {
      expect(isGitattributesName(name), name).toBe(false);
      expect(gitVerdict([{ name, blob: long }], false), name).toBeUndefined();
    }
    expect(gitVerdict([{ name: '.gitattributes', tree: true }], true)).toBe('gitattributesBlob');
  });

  it('more than 100 MiB is gitattributesLarge', () => {
    const big = new Uint8Array(100 * 1024 * 1024 + 1).fill(0x0a);
    expect(checkGitattributes(big)?.rule).toBe('gitattributesLarge');
    expect(checkGitattributes(big.subarray(1))).toBeUndefined();
  });
});
