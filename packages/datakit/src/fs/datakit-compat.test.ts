/**
 * Cases from moby/datakit's tests/datakit-9p/test.ml (test_watch, test_bad_range,
 * test_truncate, test_rename_file, test_qids, test_stable_inodes), through the p9p
 * client. Hashes are git's, which Irmin's git backend shares.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplexPair, P9_DOTL_RDONLY, QTDIR, Session } from '@kitbox/p9p';
import type { File } from '@kitbox/p9p';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatakitFs } from './server.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
let dir: string;
let s: Session;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-compat-'));
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

async function commit(files: Record<string, string>): Promise<void> {
  const t = 'branch/master/transactions/c';
  await s.mkdir({ path: t });
  for (const [p, text] of Object.entries(files)) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) await s.mkdir({ path: `${t}/rw/${parts.slice(0, i).join('/')}` }).catch(() => undefined);
    await write(`${t}/rw/${p}`, text);
  }
  await write(`${t}/ctl`, 'commit');
}

/** A line reader over a stream file (the p9p File skips datakit's empty reads). */
function lines(f: File): () => Promise<string> {
  let off = 0;
  return async () => {
    const d = await f.read({ offset: off, count: 4096 });
    off += d.length;
    return dec.decode(d).replace(/\n$/, '');
  };
}

describe('datakit tests/datakit-9p', () => {
  it('test_watch', async () => {
    await s.mkdir({ path: 'branch/master' });
    const topF = await s.open({ path: 'branch/master/watch/tree.live', flags: P9_DOTL_RDONLY });
    const top = lines(topF);
    expect(await top()).toBe('D-4b825dc642cb6eb9a060e54bf8d69288fbee4904');
    const docF = await s.open({ path: 'branch/master/watch/doc.node/tree.live', flags: P9_DOTL_RDONLY });
    const doc = lines(docF);
    expect(await doc()).toBe('');
    await commit({ 'src/Makefile': 'all: build' });
    const mkF = await s.open({ path: 'branch/master/watch/src.node/Makefile.node/tree.live', flags: P9_DOTL_RDONLY });
    const makefile = lines(mkF);
    expect(await makefile()).toBe('F-d81e367f87ee314bcd3e449b1c6641efda5bc269');
    let makefileMoved = false;
    void makefile().then(
      () => (makefileMoved = true),
      () => undefined,
    );
    expect(await top()).toMatch(/^D-/); // the commit of src/Makefile
    await commit({ 'doc/README': 'Instructions' });
    expect(await doc()).toBe('D-a3e8adf6d194bfbdec2ca73aebe0990edee2ddbf');
    expect((await s.readdir({ path: 'trees/D-a3e8adf6d194bfbdec2ca73aebe0990edee2ddbf' })).map((d) => d.name).sort()).toEqual(['.', '..', 'README']);
    // datakit's test expects D-acaa8ac9...; `git write-tree` of doc/README + src/Makefile
    // with these contents gives eccca2d5..., which is what a git repository must hold.
    expect(await top()).toBe('D-eccca2d529dee833e47546cc2e095cc1c79f1917');
    expect(makefileMoved).toBe(false);
    await topF.close();
    await docF.close();
    await mkF.close();
  });

  it('test_bad_range: reading past the end of a file is an error', async () => {
    await s.mkdir({ path: 'branch/master' });
    await s.mkdir({ path: 'branch/master/transactions/init' });
    const f = await s.open({ path: 'branch/master/transactions/init/origin', flags: P9_DOTL_RDONLY });
    await expect(s.rpc({ type: 'Tread', fid: f.fid.fid, offset: 100n, count: 10 })).rejects.toMatchObject({ code: 'EINVAL' });
    await f.close();
  });

  it('test_truncate', async () => {
    await s.mkdir({ path: 'branch/master' });
    await s.mkdir({ path: 'branch/master/transactions/init' });
    const path = 'branch/master/transactions/init/rw/file';
    await write(path, 'Hello');
    await s.setattr({ path, size: 4 });
    expect(await read(path)).toBe('Hell');
    await s.setattr({ path, size: 4 });
    expect(await read(path)).toBe('Hell');
    await s.setattr({ path, size: 6 });
    expect(await read(path)).toBe('Hell\0\0');
    await s.setattr({ path, size: 0 });
    expect(await read(path)).toBe('');
  });

  it('test_rename_file', async () => {
    await s.mkdir({ path: 'branch/master' });
    const t = 'branch/master/transactions/rename';
    await s.mkdir({ path: t });
    await write(`${t}/rw/old`, 'data');
    const fid = await s.walk({ path: `${t}/rw/old` });
    const rw = await s.walk({ path: `${t}/rw` });
    await s.rpc({ type: 'Trename', fid: fid.fid, dfid: rw.fid, name: 'new' });
    expect((await s.readdir({ path: `${t}/rw` })).map((d) => d.name).filter((n) => n[0] !== '.')).toEqual(['new']);
    await s.mkdir({ path: `${t}/rw/dir` });
    await write(`${t}/rw/dir/precious`, 'data');
    await expect(s.rpc({ type: 'Trename', fid: fid.fid, dfid: rw.fid, name: 'dir' })).rejects.toMatchObject({ code: 'EISDIR' });
    await s.remove({ path: `${t}/rw/new` });
    await expect(s.rpc({ type: 'Trename', fid: fid.fid, dfid: rw.fid, name: 'reborn' })).rejects.toMatchObject({ code: 'ENOENT' });
    await fid.clunk();
    await rw.clunk();
    await write(`${t}/ctl`, 'commit');
    expect((await s.readdir({ path: 'branch/master/ro' })).map((d) => d.name).filter((n) => n[0] !== '.')).toEqual(['dir']);
  });

  it('test_parents: parents files, bad parents, nested transactions make merge commits', async () => {
    const parentsOf = async (branch: string): Promise<string> => read(`snapshots/${(await read(`branch/${branch}/head`)).trim()}/parents`);
    const tx = async (branch: string, name: string, body: (t: string) => Promise<void>): Promise<void> => {
      const t = `branch/${branch}/transactions/${name}`;
      await s.mkdir({ path: t });
      await body(t);
      await write(`${t}/msg`, name);
      await write(`${t}/ctl`, 'commit');
    };
    await s.mkdir({ path: 'branch/master' });
    await tx('master', 'commit1', (t) => write(`${t}/rw/file`, 'data'));
    expect(await parentsOf('master')).toBe('');
    const c1 = await read('branch/master/head');
    await tx('master', 'commit2', (t) => write(`${t}/rw/file`, 'data2'));
    expect(await parentsOf('master')).toBe(c1);
    const c2 = await read('branch/master/head');
    await s.mkdir({ path: 'branch/dev' });
    await tx('dev', 'commit3', async (t) => {
      await write(`${t}/rw/file`, 'dev');
      await write(`${t}/parents`, c2);
    });
    expect(await parentsOf('dev')).toBe(c2);
    for (const bad of ['hello', 'a3827c5d1a2ba8c6a40eded5598dba8d3835fb35']) {
      await expect(tx('dev', 'bad', (t) => write(`${t}/parents`, bad))).rejects.toThrow();
      await write('branch/dev/transactions/bad/ctl', 'close');
    }
    const c3 = await read('branch/dev/head');
    let afterInner = '';
    await tx('master', 'From outer', async (t1) => {
      await tx('master', 'From inner', (t2) => write(`${t2}/rw/from_inner`, 'inner'));
      afterInner = await read('branch/master/head');
      await write(`${t1}/rw/from_outer`, 'outer');
      await write(`${t1}/parents`, (await read(`${t1}/parents`)) + c3);
    });
    const head = (await read('branch/master/head')).trim();
    const snap = (c: string): Promise<string[]> => read(`snapshots/${c}/parents`).then((p) => p.split('\n').filter((x) => x !== ''));
    const [inner, outer] = await snap(head);
    expect(`${inner}\n`).toBe(afterInner);
    expect(await read(`snapshots/${inner ?? ''}/msg`)).toBe('From inner\n');
    expect(await read(`snapshots/${outer ?? ''}/msg`)).toBe('From outer\n');
    expect((await snap(outer ?? '')).map((x) => `${x}\n`)).toEqual([c2, c3]);
    expect((await s.readdir({ path: 'branch/master/ro' })).map((d) => d.name).filter((n) => n[0] !== '.').sort()).toEqual(['file', 'from_inner', 'from_outer']);
  });

  it('test_qids and test_stable_inodes', async () => {
    await s.mkdir({ path: 'branch/master' });
    const root = await s.walk({ path: '' });
    const r = await s.rpc({ type: 'Twalk', fid: root.fid, newfid: 900, wnames: ['branch', 'master', 'head'] });
    expect(r.wqids.map((q) => (q.type & QTDIR) !== 0)).toEqual([true, true, false]);
    await s.rpc({ type: 'Tclunk', fid: 900 });
    await root.clunk();
    await s.mkdir({ path: 'branch/master/transactions/stable' });
    await write('branch/master/transactions/stable/rw/file', 'data');
    const a = await s.stat({ path: 'branch/master/transactions/stable/rw/file' });
    const b = await s.stat({ path: 'branch/master/transactions/stable/rw/file' });
    expect(a.qid.path).toBe(b.qid.path);
  });
});
