/**
 * A transaction's `merge`, after moby/datakit's tests/datakit-9p/test.ml
 * (`try_merge`, `test_conflicts`, `test_merge_empty`), through the p9p client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplexPair, P9_DOTL_RDWR, RemoteError, Session } from '@kitbox/p9p';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatakitFs } from './server.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
let dir: string;
let s: Session;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-merge-'));
  const fs = await DatakitFs.open({ gitdir: join(dir, 'repo.git') });
  const [a, b] = duplexPair();
  fs.serve(a);
  s = await Session.connect({ stream: b });
});
afterEach(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

const read = async (path: string): Promise<string> => dec.decode(await s.readFile({ path }));
const write = (path: string, text: string): Promise<void> => s.writeFile({ path, data: enc.encode(text) });
const names = async (path: string): Promise<string[]> =>
  (await s.readdir({ path })).map((d) => d.name).filter((n) => n !== '.' && n !== '..').sort();
const head = async (branch: string): Promise<string> => (await read(`branch/${branch}/head`)).trim();

/** Makes `branch`'s tree exactly `files` in one commit. */
async function populate(branch: string, files: Record<string, string>): Promise<void> {
  const t = `branch/${branch}/transactions/populate`;
  await s.mkdir({ path: t });
  const rw = await s.walk({ path: `${t}/rw` });
  for (const n of await names(`${t}/rw`)) {
    const st = await s.stat({ path: `${t}/rw/${n}` });
    // rmdir of a non-empty directory removes it all, as datakit does.
    await s.rpc({ type: 'Tunlinkat', dirfd: rw.fid, name: n, flags: (st.mode & 0o040000) !== 0 ? 0x200 : 0 });
  }
  await rw.clunk();
  for (const [p, text] of Object.entries(files)) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) await s.mkdir({ path: `${t}/rw/${parts.slice(0, i).join('/')}` }).catch(() => undefined);
    await write(`${t}/rw/${p}`, text);
  }
  await write(`${t}/ctl`, 'commit');
}

/** datakit `try_merge`: base on master, fork "theirs", change both, merge theirs into a master transaction. */
async function tryMerge(base: Record<string, string>, ours: Record<string, string>, theirs: Record<string, string>): Promise<string> {
  await s.mkdir({ path: 'branch/master' });
  await populate('master', base);
  await s.mkdir({ path: 'branch/theirs' });
  await write('branch/theirs/fast-forward', await head('master'));
  await populate('master', ours);
  await populate('theirs', theirs);
  const t = 'branch/master/transactions/merge';
  await s.mkdir({ path: t });
  const f = await s.open({ path: `${t}/merge`, flags: P9_DOTL_RDWR });
  await f.write({ offset: 0, data: enc.encode(await head('theirs')) });
  expect(dec.decode(await f.read({ offset: 0, count: 100 }))).toBe('ok');
  await f.close();
  return t;
}

describe('merge', () => {
  it('datakit test_conflicts: marks conflicts, refuses to commit until they are resolved', async () => {
    const t = await tryMerge(
      { a: 'a-from-base', b: 'b-from-base', c: 'c-from-base', d: 'd-from-base', e: 'e-from-base', f: 'f-from-base', 'dir/a': 'a-from-base', 'dir2/b': 'b-from-base' },
      { a: 'a-ours', b: 'b-from-base', c: 'c-ours', e: 'e-from-base', g: 'g-same', h: 'h-ours', dir: 'ours-now-file', 'dir2/b': 'b-theirs' },
      { a: 'a-theirs', b: 'b-theirs', c: 'c-from-base', d: 'd-from-base', f: 'f-theirs', g: 'g-same', h: 'h-theirs', 'dir/a': 'a-theirs', dir2: 'theirs-now-file' },
    );
    const ctl = await s.open({ path: `${t}/ctl`, flags: P9_DOTL_RDWR });
    await expect(ctl.write({ offset: 0, data: enc.encode('commit') })).rejects.toBeInstanceOf(RemoteError);
    expect(dec.decode(await ctl.read({ offset: 0, count: 100 }))).toBe('conflicts file is not empty\n');
    await ctl.close();
    expect(await names(`${t}/rw`)).toEqual(['a', 'b', 'c', 'dir', 'dir2', 'f', 'g', 'h']);
    expect(await read(`${t}/rw/a`)).toBe('** Conflict **\nChanged on both branches\n');
    expect(await read(`${t}/rw/b`)).toBe('b-theirs');
    expect(await read(`${t}/rw/c`)).toBe('c-ours');
    expect(await read(`${t}/rw/f`)).toBe('** Conflict **\noption: add/del\n');
    expect(await read(`${t}/rw/g`)).toBe('g-same');
    expect(await read(`${t}/rw/h`)).toBe('** Conflict **\ndefault: add/add and no common ancestor\n');
    expect(await read(`${t}/rw/dir`)).toBe('** Conflict **\nFile vs dir\n');
    expect(await read(`${t}/conflicts`)).toBe('a\ndir\ndir2\nf\nh\n');
    expect(await read(`${t}/ours/a`)).toBe('a-ours');
    expect(await read(`${t}/theirs/a`)).toBe('a-theirs');
    expect(await read(`${t}/base/a`)).toBe('a-from-base');
    await s.remove({ path: `${t}/rw/a` });
    await s.remove({ path: `${t}/rw/dir` });
    await s.remove({ path: `${t}/rw/dir2` });
    await write(`${t}/rw/f`, await read(`${t}/theirs/f`));
    expect(await read(`${t}/conflicts`)).toBe('h\n');
    await s.remove({ path: `${t}/rw/h` });
    const ours = await head('master');
    const theirs = await head('theirs');
    expect(await read(`${t}/parents`)).toBe(`${ours}\n${theirs}\n`);
    await write(`${t}/ctl`, 'commit');
    expect(await names('branch/master/ro')).toEqual(['b', 'c', 'f', 'g']);
    expect(await read('branch/master/ro/f')).toBe('f-theirs');
    const merged = await head('master');
    expect(await read(`snapshots/${merged}/parents`)).toBe(`${ours}\n${theirs}\n`);
  });

  it('datakit test_merge: ours/theirs/base, parents, result', async () => {
    await s.mkdir({ path: 'branch/master' });
    await populate('master', { file: 'from-master' });
    await s.mkdir({ path: 'branch/pr' });
    const mergeA = await head('master');
    await expect(write('branch/pr/fast-forward', 'a3827c5d1a2ba8c6a40eded5598dba8d3835fb35')).rejects.toMatchObject({ code: 'ENOENT' });
    await write('branch/pr/fast-forward', mergeA);
    await s.mkdir({ path: 'branch/pr/transactions/mod' });
    const old = await read('branch/pr/transactions/mod/rw/file');
    await write('branch/pr/transactions/mod/rw/file', `${old}+pr`);
    await write('branch/pr/transactions/mod/ctl', 'commit');
    const mergeB = await head('pr');
    const t = 'branch/master/transactions/merge';
    await s.mkdir({ path: t });
    await write(`${t}/rw/mine`, 'pre-merge');
    await write(`${t}/merge`, mergeB);
    expect(await read(`${t}/ours/mine`)).toBe('pre-merge');
    expect(await read(`${t}/theirs/file`)).toBe('from-master+pr');
    expect(await read(`${t}/base/file`)).toBe('from-master');
    await write(`${t}/ctl`, 'commit');
    const merged = await head('master');
    const parents = (await read(`snapshots/${merged}/parents`)).split('\n').filter((x) => x !== '');
    expect(parents.sort()).toEqual([mergeA, mergeB].sort());
    expect(await read('branch/master/ro/file')).toBe('from-master+pr');
    expect(await read('branch/master/ro/mine')).toBe('pre-merge');
  });

  it('datakit test_merge_empty: merging into an empty branch', async () => {
    await s.mkdir({ path: 'branch/master' });
    await populate('master', { file: 'from-master' });
    const h = await head('master');
    await s.mkdir({ path: 'branch/new' });
    await s.mkdir({ path: 'branch/new/transactions/init' });
    await write('branch/new/transactions/init/merge', h);
    expect(await names('branch/new/transactions/init/base')).toEqual([]);
    await write('branch/new/transactions/init/ctl', 'commit');
    expect(await names('branch/new/ro')).toEqual(['file']);
  });

  it('refuses a merge of something that is not a commit', async () => {
    await s.mkdir({ path: 'branch/master' });
    await s.mkdir({ path: 'branch/master/transactions/t' });
    const f = await s.open({ path: 'branch/master/transactions/t/merge', flags: P9_DOTL_RDWR });
    await expect(f.write({ offset: 0, data: enc.encode('not-a-hash') })).rejects.toMatchObject({ code: 'EINVAL' });
    expect(dec.decode(await f.read({ offset: 0, count: 200 }))).toMatch(/^invalid-hash "not-a-hash"/);
    await f.close();
    expect(await names('branch/master/transactions/t')).not.toContain('ours');
  });
});
