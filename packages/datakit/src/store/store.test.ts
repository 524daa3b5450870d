import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasGit } from './git.fixture.js';
import { Store, isValidBranchName } from './store.js';

if (!hasGit) console.log('skipping git interop tests: git is not installed');

const author = { name: 'Kitbox Test', email: 'test@kitbox.invalid', timestamp: 1_700_000_000 };
const enc = new TextEncoder();

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-store-'));
  store = await Store.open({ gitdir: join(dir, 'repo.git') });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function commitFile(name: string, content: string, parents: string[]): Promise<string> {
  const blob = await store.writeBlob(enc.encode(content));
  const tree = await store.writeTree([{ mode: '100644', path: name, oid: blob, type: 'blob' }]);
  return store.writeCommit({ tree, parents, message: `write ${name}\n`, author });
}

describe('Store', () => {
  it('hands out one copy of a blob while it is held (a dozen opens of a large file held a dozen)', async () => {
    const big = new Uint8Array(8 << 20).fill(7);
    const oid = await store.writeBlob(big);
    const reads = await Promise.all(Array.from({ length: 12 }, () => store.readBlob(oid)));
    for (const r of reads) expect(r).toBe(reads[0]);
    expect(reads[0]?.length).toBe(8 << 20);
    const again = await store.readBlob(oid);
    expect(again).toBe(reads[0]);
    expect(again.every((b) => b === 7)).toBe(true);
  });

  it('branch names: git check-ref-format --branch refuses HEAD and a leading dash', () => {
    for (const bad of ['HEAD', '-x', 'a..b', 'x.lock', '.hidden', 'a b', '']) expect(isValidBranchName(bad), bad).toBe(false);
    for (const good of ['master', 'feature-x', 'v1.2', 'a-HEAD']) expect(isValidBranchName(good), good).toBe(true);
  });

  it('writes the same object ids git computes', async () => {
    // `printf 'hello\n' | git hash-object --stdin`
    expect(await store.writeBlob(enc.encode('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });

  it('moves a branch only from the expected commit', async () => {
    const c1 = await commitFile('a', '1\n', []);
    await store.updateBranch('master', undefined, c1);
    expect(await store.branchHead('master')).toBe(c1);

    const c2 = await commitFile('a', '2\n', [c1]);
    await expect(store.updateBranch('master', undefined, c2)).rejects.toMatchObject({ code: 'CONFLICT' });
    await store.updateBranch('master', c1, c2);
    await expect(store.updateBranch('master', c1, c2)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await store.branchHead('master')).toBe(c2);
  });

  it('serializes concurrent writers: exactly one of N racing swaps wins', async () => {
    const base = await commitFile('a', 'base\n', []);
    await store.updateBranch('race', undefined, base);
    const candidates = await Promise.all(Array.from({ length: 8 }, (_, i) => commitFile('a', `${i}\n`, [base])));
    const results = await Promise.allSettled(candidates.map((c) => store.updateBranch('race', base, c)));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const head = await store.branchHead('race');
    expect(candidates[results.findIndex((r) => r.status === 'fulfilled')]).toBe(head);
  });

  it('rejects invalid branch names and hashes', async () => {
    for (const bad of ['', '.hidden', 'a..b', 'a/', '/a', 'a.lock', 'x y', 'a~1', 'a:b', '@', 'a//b', 'a\\b']) {
      expect(isValidBranchName(bad), bad).toBe(false);
    }
    expect(isValidBranchName('feature/x-1')).toBe(true);
    await expect(store.updateBranch('master', undefined, 'not-a-hash')).rejects.toMatchObject({ code: 'INVALID_HASH' });
    await expect(store.branchHead('../x')).rejects.toMatchObject({ code: 'INVALID_BRANCH' });
  });
});

describe.skipIf(!hasGit)('Store against git', () => {
  it('writes a repository git fsck accepts and git log reads', async () => {
    const c1 = await commitFile('readme', 'one\n', []);
    const c2 = await commitFile('readme', 'two\n', [c1]);
    await store.updateBranch('master', undefined, c1);
    await store.updateBranch('master', c1, c2);
    const gitdir = store.gitdir;
    execFileSync('git', ['--git-dir', gitdir, 'fsck', '--strict', '--no-dangling'], { stdio: 'pipe' });
    const log = execFileSync('git', ['--git-dir', gitdir, 'log', '--format=%H %s', 'master'], { encoding: 'utf8' });
    expect(log.trim().split('\n')).toEqual([`${c2} write readme`, `${c1} write readme`]);
    expect(execFileSync('git', ['--git-dir', gitdir, 'show', 'master:readme'], { encoding: 'utf8' })).toBe('two\n');
  });

  it('reads branches git packed and swaps them exactly', async () => {
    const c1 = await commitFile('f', '1\n', []);
    await store.updateBranch('packed', undefined, c1);
    execFileSync('git', ['--git-dir', store.gitdir, 'pack-refs', '--all']);
    expect(await store.branchHead('packed')).toBe(c1);
    const c2 = await commitFile('f', '2\n', [c1]);
    await expect(store.updateBranch('packed', undefined, c2)).rejects.toMatchObject({ code: 'CONFLICT' });
    await store.updateBranch('packed', c1, c2);
    expect(execFileSync('git', ['--git-dir', store.gitdir, 'rev-parse', 'packed'], { encoding: 'utf8' }).trim()).toBe(c2);
  });
});

describe('Store reads and ref edits', () => {
  it('reads back trees, blobs and commits; knows object types and ancestry', async () => {
    const c1 = await commitFile('a', 'one\n', []);
    const c2 = await commitFile('b', 'two\n', [c1]);
    const info = await store.readCommit(c2);
    expect(info.parents).toEqual([c1]);
    const tree = await store.readTree(info.tree);
    expect(tree.map((e) => [e.mode, e.path])).toEqual([['100644', 'b']]);
    const blob = tree[0]?.oid ?? '';
    expect(new TextDecoder().decode(await store.readBlob(blob))).toBe('two\n');
    expect(await store.objectType(c2)).toBe('commit');
    expect(await store.objectType(info.tree)).toBe('tree');
    expect(await store.objectType(blob)).toBe('blob');
    expect(await store.objectType('0'.repeat(40))).toBeUndefined();
    expect(await store.objectType('nothex')).toBeUndefined();
    expect(await store.isAncestor(c1, c2)).toBe(true);
    expect(await store.isAncestor(c2, c1)).toBe(false);
    expect(await store.isAncestor(c2, c2)).toBe(true);
    expect(await store.mergeBase(c1, c2)).toBe(c1);
    const other = await commitFile('c', 'three\n', []);
    expect(await store.mergeBase(c2, other)).toBeUndefined();
    await store.syncObjects([c1, c2, info.tree, blob, '0'.repeat(40)]);
  });

  it('deleteBranch is a compare-and-swap, also for packed refs', async () => {
    const c1 = await commitFile('a', '1', []);
    const c2 = await commitFile('a', '2', [c1]);
    await store.updateBranch('topic', undefined, c2);
    await expect(store.deleteBranch('topic', c1)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await store.listBranches()).toEqual(['topic']);
    await store.deleteBranch('topic', c2);
    expect(await store.branchHead('topic')).toBeUndefined();
    expect(await store.listBranches()).toEqual([]);
    await expect(store.deleteBranch('topic', c2)).rejects.toMatchObject({ code: 'CONFLICT' });
    if (!hasGit) return;
    await store.updateBranch('packed', undefined, c1);
    execFileSync('git', ['--git-dir', store.gitdir, 'pack-refs', '--all']);
    await store.deleteBranch('packed', c1);
    expect(execFileSync('git', ['--git-dir', store.gitdir, 'for-each-ref'], { encoding: 'utf8' })).toBe('');
  });
});

describe('Store writes commits and trees itself', () => {
  it('writes commits byte for byte as isomorphic-git did (messages, time zones, parents)', async () => {
    const fsMod = await import('node:fs');
    const git = (await import('isomorphic-git')).default;
    const blob = await store.writeBlob(enc.encode('x\n'));
    const tree = await store.writeTree([{ mode: '100644', path: 'x', oid: blob, type: 'blob' }]);
    const c0 = await commitFile('y', 'y\n', []);
    const messages = ['plain\n', 'no newline', '\n\nleading blank lines\n\n\n', 'crlf\r\nlines\r\n', '', 'multi\n\nparagraph\n'];
    const zones = [0, -0, -60, 330, -765];
    const parentSets = [[], [c0], [c0, c0.replace(/^./, (d) => (d === '0' ? '1' : '0'))]];
    for (const [i, message] of messages.entries()) {
      const timezoneOffset = zones[i % zones.length] ?? 0;
      const parents = parentSets[i % parentSets.length] ?? [];
      const who = { ...author, timezoneOffset };
      const committer = { ...author, name: 'Other', timestamp: author.timestamp + i, timezoneOffset: -timezoneOffset };
      const oid = await store.writeCommit({ tree, parents, message, author: who, committer });
      // What isomorphic-git writes for the same commit (the store used it before).
      const theirs = await git.writeCommit({ fs: fsMod, gitdir: join(dir, 'iso.git'), commit: { tree, parent: parents, message, author: who, committer } });
      expect(oid).toBe(theirs);
      // What the store remembers of it is what a fresh reader parses from disk.
      const fresh = await Store.open({ gitdir: store.gitdir });
      expect(await store.readCommit(oid)).toEqual(await fresh.readCommit(oid));
    }
    if (hasGit) execFileSync('git', ['--git-dir', store.gitdir, 'cat-file', '-t', c0]);
    await expect(store.writeCommit({ tree: 'nope', parents: [], message: 'm', author })).rejects.toMatchObject({ code: 'INVALID_HASH' });
  });

  it('remembers the trees it writes as a fresh reader parses them', async () => {
    const blob = await store.writeBlob(enc.encode('x\n'));
    const sub = await store.writeTree([{ mode: '100755', path: 'run', oid: blob, type: 'blob' }]);
    const top = await store.writeTree([
      { mode: '120000', path: 'link', oid: blob, type: 'blob' },
      { mode: '040000', path: 'sub', oid: sub, type: 'tree' },
      { mode: '100644', path: 'sub.txt', oid: blob, type: 'blob' },
      { mode: '100644', path: 'é', oid: blob, type: 'blob' },
      { mode: '100644', path: '\u{1f600}', oid: blob, type: 'blob' },
      { mode: '100644', path: '\uff5e', oid: blob, type: 'blob' },
    ]);
    const fresh = await Store.open({ gitdir: store.gitdir });
    for (const t of [sub, top]) expect(await store.readTree(t)).toEqual(await fresh.readTree(t));
  });

  it('isAncestor follows every parent of merges and says no for unrelated histories', async () => {
    const root = await commitFile('a', '0\n', []);
    const left = await commitFile('a', 'l\n', [root]);
    const right = await commitFile('a', 'r\n', [root]);
    const merge = await commitFile('a', 'm\n', [left, right]);
    const after = await commitFile('a', 'n\n', [merge]);
    const lone = await commitFile('a', 'lone\n', []);
    expect(await store.isAncestor(root, after)).toBe(true);
    expect(await store.isAncestor(right, after)).toBe(true);
    expect(await store.isAncestor(left, right)).toBe(false);
    expect(await store.isAncestor(after, root)).toBe(false);
    expect(await store.isAncestor(lone, after)).toBe(false);
    // Commits it did not write (read from disk by a fresh store) too.
    const fresh = await Store.open({ gitdir: store.gitdir });
    expect(await fresh.isAncestor(right, after)).toBe(true);
    expect(await fresh.isAncestor(lone, after)).toBe(false);
  });
});

describe('fsync modes', () => {
  it("'always' fsyncs objects, their directories, the ref and refs/heads/; 'never' fsyncs nothing", async () => {
    const c1 = await commitFile('a', '1\n', []);
    store.syncObjectsFor(c1, [c1]);
    await store.updateBranch('master', undefined, c1);
    // The commit file, its directory, objects/, the lock file, refs/heads/.
    expect(store.fsyncs).toBe(5);

    const lax = await Store.open({ gitdir: join(dir, 'lax.git'), fsync: 'never' });
    expect(lax.fsync).toBe('never');
    const blob = await lax.writeBlob(enc.encode('1\n'));
    const tree = await lax.writeTree([{ mode: '100644', path: 'a', oid: blob, type: 'blob' }]);
    const c = await lax.writeCommit({ tree, parents: [], message: 'm\n', author });
    lax.syncObjectsFor(c, [blob, tree, c]);
    await lax.updateBranch('master', undefined, c);
    await lax.deleteBranch('master', c);
    await lax.updateBranch('master', undefined, c);
    expect(lax.fsyncs).toBe(0);
    expect(await lax.branchHead('master')).toBe(c);
    if (hasGit) execFileSync('git', ['--git-dir', lax.gitdir, 'fsck', '--strict', '--no-dangling']);
    await expect(Store.open({ gitdir: join(dir, 'bad.git'), fsync: 'sometimes' as 'never' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe.skipIf(!hasGit)('isAncestor in a shallow repository', () => {
  it('ends the walk where the fetched history ends, and still finds what is there', async () => {
    const full = join(dir, 'full.git');
    const work = join(dir, 'work');
    const sh = (cwd: string, ...args: string[]): string =>
      execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@a', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@a' } });
    execFileSync('git', ['init', '-q', '-b', 'master', work]);
    for (const n of ['1', '2', '3']) {
      sh(work, 'commit', '-q', '--allow-empty', '-m', n);
    }
    execFileSync('git', ['clone', '-q', '--bare', work, full]);
    const shallowDir = join(dir, 'shallow.git');
    execFileSync('git', ['clone', '-q', '--bare', '--depth', '2', `file://${full}`, shallowDir]);
    const s = await Store.open({ gitdir: shallowDir });
    const head = sh(shallowDir, 'rev-parse', 'master').trim();
    const parent = sh(shallowDir, 'rev-parse', 'master~1').trim();
    const lone = await s.writeCommit({ tree: await s.writeTree([]), parents: [], message: 'lone\n', author });
    expect(await s.isAncestor(parent, head)).toBe(true);
    // The walk reaches the shallow boundary without finding it: no, rather than an error.
    expect(await s.isAncestor(lone, head)).toBe(false);
    // Outside a shallow repository a missing parent is an error.
    const broken = await store.writeCommit({ tree: await store.writeTree([]), parents: ['1'.repeat(40)], message: 'x\n', author });
    await expect(store.isAncestor(lone, broken)).rejects.toMatchObject({ code: 'NotFoundError' });
  });
});
