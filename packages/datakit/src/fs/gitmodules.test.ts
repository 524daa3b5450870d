/**
 * checkGitmodules against the real thing: each blob goes into a fresh bare repository as
 * `.gitmodules` of a commit (hash-object -w, mktree, commit-tree), and `git fsck --strict`
 * says whether it passes and which rule fails it. The checker must agree.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkGitmodules } from './gitmodules.js';
import { isGitmodulesName } from './overlay.js';

const root = mkdtempSync(join(tmpdir(), 'datakit-gitmodules-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com', GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };
let repos = 0;

/** The fsck rule `git fsck --strict` fails the blob (named `name` in the tree) with, or undefined when it passes. */
function gitVerdict(blob: Uint8Array, gitOpts: string[] = [], name = '.gitmodules'): { rule: string | undefined; stderr: string } {
  const gitdir = join(root, `r${repos++}.git`);
  const git = (args: string[], input?: Uint8Array | string): string => execFileSync('git', ['--git-dir', gitdir, ...args], { env, input, encoding: 'utf8' }).trim();
  execFileSync('git', ['init', '-q', '--bare', gitdir], { env });
  const oid = git(['hash-object', '-w', '--stdin'], blob);
  const tree = git(['mktree'], `100644 blob ${oid}\t${name}\n`);
  git(['update-ref', 'refs/heads/master', git(['commit-tree', tree, '-m', 'm'])]);
  const r = spawnSync('git', ['--git-dir', gitdir, ...gitOpts, 'fsck', '--strict', '--no-dangling'], { env, encoding: 'utf8' });
  const rule = /^error in blob [0-9a-f]+: (\w+):/m.exec(r.stderr)?.[1];
  // fsck's exit status and its messages must tell the same story.
  expect(r.status !== 0, r.stderr).toBe(rule !== undefined);
  return { rule, stderr: r.stderr };
}

const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

interface Case {
  what: string;
  /** The blob, one char per byte (so "\xff" is the byte 0xff). */
  blob: string;
  /** What x86-64 git says, checked below (undefined: it passes). */
  git: string | undefined;
  /** Where datakit is stricter than this git: what another git refuses. */
  stricter?: string;
}

const cases: Case[] = [
  { what: 'a valid file', blob: '[submodule "lib"]\n\tpath = lib\n\turl = https://example.com/lib.git\n\tbranch = main\n', git: undefined },
  { what: 'an empty file', blob: '', git: undefined },
  { what: 'only comments and blank lines', blob: '# c\n; c\n\n   \n', git: undefined },
  { what: 'old-style [submodule.name]', blob: '[submodule.lib]\n\tpath = lib\n\turl = ../lib.git\n', git: undefined },
  { what: 'a name "../x"', blob: '[submodule "../x"]\n\tpath = x\n', git: 'gitmodulesName' },
  { what: 'a name "a/../b"', blob: '[submodule "a/../b"]\n\tpath = b\n', git: 'gitmodulesName' },
  { what: 'a name "a\\..\\b" (backslashes, escaped in the subsection)', blob: '[submodule "a\\\\..\\\\b"]\n\tpath = b\n', git: 'gitmodulesName' },
  { what: 'a name "..." is no ".." component', blob: '[submodule "..."]\n\tpath = b\n', git: undefined },
  { what: 'a name ".." escaped as "\\.\\."', blob: '[submodule "\\.\\."]\n\tpath = b\n', git: 'gitmodulesName' },
  { what: 'an empty name', blob: '[submodule ""]\n\tpath = b\n', git: 'gitmodulesName' },
  { what: 'a bad name with no entries is not looked at', blob: '[submodule "../x"]\n', git: undefined },
  { what: 'old-style [submodule...] is the name ".."', blob: '[submodule...]\n\tpath = b\n', git: 'gitmodulesName' },
  { what: 'no subsection: not a submodule', blob: '[submodule]\n\turl = --evil\n', git: undefined },
  { what: 'url starting with "-"', blob: '[submodule "x"]\n\turl = --upload-pack=touch${IFS}pwned\n', git: 'gitmodulesUrl' },
  { what: 'path starting with "-"', blob: '[submodule "x"]\n\tpath = -x\n', git: 'gitmodulesPath' },
  { what: 'update = !command', blob: '[submodule "x"]\n\tupdate = !rm -rf /\n', git: 'gitmodulesUpdate' },
  { what: 'update = rebase', blob: '[submodule "x"]\n\tupdate = rebase\n', git: undefined },
  { what: 'keys and section names are case-insensitive', blob: '[SubModule "X"]\n\tURL = -x\n', git: 'gitmodulesUrl' },
  { what: 'a url given as a boolean (no value)', blob: '[submodule "x"]\n\turl\n', git: undefined },
  { what: 'relative url with %0a', blob: '[submodule "x"]\n\turl = ./%0ahost\n', git: 'gitmodulesUrl' },
  { what: 'git:// url with %0A', blob: '[submodule "x"]\n\turl = git://host/%0Arepo\n', git: 'gitmodulesUrl' },
  { what: '%0a before the first colon is not decoded', blob: '[submodule "x"]\n\turl = ./%0a:x\n', git: undefined },
  { what: '%00 and %0 are not decoded', blob: '[submodule "x"]\n\turl = ../a%00b%0\n', git: undefined },
  { what: 'a literal newline (\\n escape) in a relative url', blob: '[submodule "x"]\n\turl = "./a\\nb"\n', git: 'gitmodulesUrl' },
  { what: 'a relative url', blob: '[submodule "x"]\n\turl = ../../sibling.git\n', git: undefined },
  { what: 'a relative url climbing to ":"', blob: '[submodule "x"]\n\turl = ../../:example.com/x\n', git: 'gitmodulesUrl' },
  { what: 'a relative url climbing to "/"', blob: '[submodule "x"]\n\turl = ./..//example.com/x\n', git: 'gitmodulesUrl' },
  { what: 'a relative url with "..\\" climbing to ":"', blob: '[submodule "x"]\n\turl = ..\\\\:x\n', git: 'gitmodulesUrl' },
  { what: 'https url with no host', blob: '[submodule "x"]\n\turl = https:///example.com/x\n', git: 'gitmodulesUrl' },
  { what: 'http:: helper url with no host', blob: '[submodule "x"]\n\turl = http::https://\n', git: 'gitmodulesUrl' },
  { what: 'https url with a newline in its user', blob: '[submodule "x"]\n\turl = https://a%0a@example.com/x\n', git: 'gitmodulesUrl' },
  { what: 'https url with a newline in its path', blob: '[submodule "x"]\n\turl = https://example.com/%0ax\n', git: 'gitmodulesUrl' },
  { what: 'https url with user and password', blob: '[submodule "x"]\n\turl = https://u:p%40@example.com:8443/x?y#z\n', git: undefined },
  { what: 'ftps url', blob: '[submodule "x"]\n\turl = ftps://example.com/x\n', git: undefined },
  { what: 'ssh url: not checked beyond "-"', blob: '[submodule "x"]\n\turl = ssh://host/%0a\n', git: undefined },
  { what: 'a quoted value keeps inner spaces: "  -x" does not start with "-"', blob: '[submodule "x"]\n\turl = "  -x"\n', git: undefined },
  { what: 'a quoted "-x" with a comment after it', blob: '[submodule "x"]\n\turl = "-x" ; comment\n', git: 'gitmodulesUrl' },
  { what: 'a line continuation before "-x"', blob: '[submodule "x"]\n\turl = \\\n-x\n', git: 'gitmodulesUrl' },
  { what: 'CRLF line ends', blob: '[submodule "x"]\r\n\tpath = x\r\n\turl = --evil\r\n', git: 'gitmodulesUrl' },
  { what: 'a lone CR is whitespace', blob: '[submodule "x"]\r\turl = --evil\n', git: 'gitmodulesUrl' },
  { what: 'the second url is checked too', blob: '[submodule "x"]\n\turl = ../ok\n\turl = -y\n', git: 'gitmodulesUrl' },
  { what: 'parse error (unknown escape) stops the parse: what follows is not checked', blob: '[submodule "x"]\n\tpath = a\\qb\n\turl = --evil\n', git: undefined },
  { what: 'parse error (unterminated quote)', blob: '[submodule "x"]\n\turl = "abc\n', git: undefined },
  { what: 'parse error (garbage line) after a bad url: the url still fails', blob: '[submodule "x"]\n\turl = --evil\n!!!\n', git: 'gitmodulesUrl' },
  { what: 'parse error: space after the subsection quote', blob: '[submodule "x" ]\n\turl = --evil\n', git: undefined },
  { what: 'a NUL in the subsection cuts the name (C strings): "x.url" then any key is a url', blob: '[submodule "x.url\0"]\n\ta = -evil\n', git: 'gitmodulesUrl' },
  { what: 'a NUL in a value cuts it', blob: '[submodule "x"]\n\turl = ok\0-x\n\tpath = -\0\n', git: 'gitmodulesPath' },
  { what: 'a 0xff byte reads as EOF on x86-64 git: what follows is not parsed', blob: '[submodule "x"]\n\turl = ok\xff\n[submodule "y"]\n\turl = --evil\n', git: undefined, stricter: 'gitmodulesUrl (arm64 git, unsigned char, reads on)' },
  { what: 'a UTF-8 BOM is a parse error on x86-64 git', blob: '\xef\xbb\xbf[submodule "x"]\n\turl = --evil\n', git: undefined, stricter: 'gitmodulesUrl (arm64 git skips the BOM)' },
  { what: 'a UTF-8 BOM before a valid file', blob: '\xef\xbb\xbf[submodule "x"]\n\turl = ../x\n', git: undefined },
  { what: 'high bytes in names and values', blob: '[submodule "d\xc3\xa9j\xc3\xa0"]\n\turl = https://\xc3\xa9xample.com/x\n', git: undefined },
];

describe('checkGitmodules agrees with git fsck --strict (git 2.39)', () => {
  it.each(cases)('$what', ({ blob, git, stricter }) => {
    const data = bytes(blob);
    const real = gitVerdict(data);
    // The table says what git says: a change of git's behaviour shows here first.
    expect(real.rule, real.stderr).toBe(git);
    const mine = checkGitmodules(data);
    if (stricter === undefined) expect(mine?.rule).toBe(git);
    else expect(mine?.rule).toBe(stricter.split(' ')[0]);
    if (mine !== undefined) expect(mine.message).toMatch(new RegExp(`\\(git fsck: ${mine.rule}\\)$`));
  });

  it('has the table the brief asks for', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  it('gitmodulesLarge: past core.bigFileThreshold fsck does not read the blob and refuses it', () => {
    // (fsck streams a big blob only when it meets the tree naming it first: true for this one.)
    const data = bytes('[submodule "x"]\n\turl = --evil\n');
    expect(gitVerdict(data, ['-c', `core.bigFileThreshold=${data.length - 1}`]).rule).toBe('gitmodulesLarge');
    expect(checkGitmodules(data, data.length - 1)?.rule).toBe('gitmodulesLarge');
    expect(gitVerdict(data, ['-c', `core.bigFileThreshold=${data.length}`]).rule).toBe('gitmodulesUrl');
    expect(checkGitmodules(data, data.length)?.rule).toBe('gitmodulesUrl');
  });

  it('gitmodulesParse is only a warning under --strict', () => {
    const r = gitVerdict(bytes('[submodule "x"\n'));
    expect(r.rule).toBeUndefined();
    expect(r.stderr).toMatch(/warning in blob [0-9a-f]+: gitmodulesParse: could not parse gitmodules blob/);
    expect(checkGitmodules(bytes('[submodule "x"\n'))).toBeUndefined();
  });

  it('says which submodule and which value, as the 9P error will', () => {
    expect(checkGitmodules(bytes('[submodule "x"]\n\turl = --upload-pack=evil\n'))?.message).toBe(
      'submodule "x": url "--upload-pack=evil" looks like a command-line option (git fsck: gitmodulesUrl)',
    );
  });
});

describe('isGitmodulesName agrees with git fsck on which blobs are .gitmodules', () => {
  const evil = bytes('[submodule "x"]\n\turl = --evil\n');
  it.each([
    ['.gitmodules', true],
    ['.GitModules', true],
    ['.gitmodules. .', true],
    ['.gitmodules::$DATA', true],
    ['.g\u200citmodules', true],
    ['gitmod~1', true],
    ['GITMOD~4', true],
    ['gitmod~5', false],
    ['gi7eba~9', true],
    ['gi7e~123', true],
    ['~1234567', true],
    ['gi7eba~10', false],
    ['x\\.gitmodules', true],
    ['a\\b\\.GITMODULES ', true],
    ['.gitmodules\\x', false],
    ['.gitmodulesx', false],
    ['gitmodules', false],
  ] as const)('%j: %s', (name, is) => {
    expect(gitVerdict(evil, [], name).rule).toBe(is ? 'gitmodulesUrl' : undefined);
    expect(isGitmodulesName(name)).toBe(is);
  });
});

describe('checkGitmodules on hostile input', () => {
  it('megabytes of garbage, one huge value, one huge subsection: linear time, no blow-up', () => {
    const garbage = new Uint8Array(8 << 20);
    let x = 12345;
    for (let i = 0; i < garbage.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      garbage[i] = x >>> 24;
    }
    const hugeValue = bytes(`[submodule "x"]\n\turl = ${'../'.repeat(3 << 20)}ok\n`);
    const hugeName = bytes(`[submodule "${'a/'.repeat(2 << 20)}"]\n${'\turl = ../x\n'.repeat(200_000)}`);
    const manyEntries = bytes(`[submodule "x"]\n${'\tpath = p\n'.repeat(1 << 20)}`);
    // Quoted, escaped, continued over megabytes; and 0xff bytes, read both ways.
    const escapes = bytes(`[submodule "x"]\n\turl = "${'a\\t\\"; \\\n'.repeat(1 << 19)}"\n`);
    const ff = bytes(`[submodule "x"]\n\turl = ${'\xff\r'.repeat(2 << 20)}\n`);
    const t0 = performance.now();
    for (const b of [garbage, hugeValue, hugeName, manyEntries, escapes, ff]) expect(checkGitmodules(b)).toBeUndefined();
    expect(checkGitmodules(bytes(`[submodule "x"]\n\turl = ${'../'.repeat(3 << 20)}:x\n`))?.rule).toBe('gitmodulesUrl');
    expect(performance.now() - t0).toBeLessThan(10_000);
  }, 30_000);
});
