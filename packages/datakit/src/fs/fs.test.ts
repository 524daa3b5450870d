import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dial, duplexPair, listen, P9_DOTL_RDWR, P9_DOTL_RDONLY, RemoteError, Session } from '@kitbox/p9p';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatakitFs } from './server.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

let dir: string;
let gitdir: string;
let fs: DatakitFs;
const sessions: Session[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'datakit-fs-'));
  gitdir = join(dir, 'repo.git');
  fs = await DatakitFs.open({ gitdir, now: () => 1_700_000_000_000 });
});
afterEach(async () => {
  for (const s of sessions.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(): Promise<Session> {
  const [a, b] = duplexPair();
  fs.serve(a);
  const s = await Session.connect({ stream: b });
  sessions.push(s);
  return s;
}

const git = (...args: string[]): string => execFileSync('git', ['--git-dir', gitdir, ...args], { encoding: 'utf8' });
const read = async (s: Session, path: string): Promise<string> => dec.decode(await s.readFile({ path }));
const write = (s: Session, path: string, text: string): Promise<void> => s.writeFile({ path, data: enc.encode(text) });
const names = async (s: Session, path: string): Promise<string[]> =>
  (await s.readdir({ path })).map((d) => d.name).filter((n) => n !== '.' && n !== '..').sort();

/** Writes `cmd` to a control file and reads the answer on the same fid. */
async function command(s: Session, path: string, cmd: string): Promise<{ errno?: string; reply: string }> {
  const f = await s.open({ path, flags: P9_DOTL_RDWR });
  try {
    let errno: string | undefined;
    try {
      await f.write({ offset: 0, data: enc.encode(`${cmd}\n`) });
    } catch (e) {
      if (!(e instanceof RemoteError)) throw e;
      errno = e.code;
    }
    const reply = dec.decode(await f.read({ offset: 0, count: 4096 }));
    return errno === undefined ? { reply } : { errno, reply };
  } finally {
    await f.close();
  }
}

async function errnoOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RemoteError) return e.code;
    throw e;
  }
  throw new Error('expected an error');
}

/** mkdir a transaction, write `files`, commit; returns the new head. */
async function commitFiles(s: Session, branch: string, t: string, files: Record<string, string>, msg = `commit ${t}`): Promise<string> {
  const tx = `branch/${branch}/transactions/${t}`;
  await s.mkdir({ path: tx });
  for (const [p, text] of Object.entries(files)) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      await s.mkdir({ path: `${tx}/rw/${parts.slice(0, i).join('/')}` }).catch(() => undefined);
    }
    await write(s, `${tx}/rw/${p}`, text);
  }
  await write(s, `${tx}/msg`, msg);
  await write(s, `${tx}/ctl`, 'commit');
  return (await read(s, `branch/${branch}/head`)).trim();
}

describe('debug/', () => {
  const stats = async (s: Session): Promise<Record<string, number>> =>
    Object.fromEntries(
      (await read(s, 'debug/stats'))
        .trim()
        .split('\n')
        .map((l) => {
          const [k = '', v = ''] = l.split(' ');
          return [k, Number(v)];
        }),
    );

  it('says which server this is and counts connections, transactions and commits', async () => {
    const s = await connect();
    expect(await names(s, 'debug')).toEqual(['stats', 'version']);
    expect(await read(s, 'debug/version')).toMatch(/^@kitbox\/datakit \d+\.\d+\.\d+\S*\n$/);
    expect(await stats(s)).toEqual({ connections: 1, 'connections-total': 1, transactions: 0, commits: 0, 'branch-updates': 0, 'uptime-seconds': expect.any(Number), fsyncs: 0 });

    const other = await connect();
    await other.mkdir({ path: 'branch/master' });
    await other.mkdir({ path: 'branch/master/transactions/a' });
    await other.mkdir({ path: 'branch/master/transactions/b' });
    expect(await stats(s)).toMatchObject({ connections: 2, 'connections-total': 2, transactions: 2 });
    await write(other, 'branch/master/transactions/a/rw/f', 'x');
    await write(other, 'branch/master/transactions/a/ctl', 'commit');
    // The blob, the tree and the commit in one pack: the pack, its idx, objects/pack/; the ref's lock file, refs/heads/.
    expect(await stats(s)).toMatchObject({ transactions: 1, commits: 1, 'branch-updates': 1, fsyncs: 5 });
    // A connection that ends takes its transactions with it.
    await other.close();
    for (let i = 0; i < 50 && (await stats(s)).connections !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await stats(s)).toMatchObject({ connections: 1, 'connections-total': 2, transactions: 0, commits: 1 });
  });

  it("counts no fsyncs when served with fsync 'never'; the repository is whole all the same", async () => {
    fs = await DatakitFs.open({ gitdir: join(dir, 'lax.git'), fsync: 'never' });
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    await commitFiles(s, 'master', 't1', { 'a/b': 'one\n' });
    const head = await commitFiles(s, 'master', 't2', { 'a/c': 'two\n' });
    expect(await stats(s)).toMatchObject({ commits: 2, fsyncs: 0 });
    const lax = (...args: string[]): string => execFileSync('git', ['--git-dir', join(dir, 'lax.git'), ...args], { encoding: 'utf8' });
    lax('fsck', '--strict', '--no-dangling');
    expect(lax('rev-parse', 'master').trim()).toBe(head);
    expect(lax('ls-tree', '-r', '--name-only', head).trim().split('\n')).toEqual(['a/b', 'a/c']);
  });

  it('is read-only', async () => {
    const s = await connect();
    expect(await errnoOf(s.writeFile({ path: 'debug/stats', data: enc.encode('0') }))).toBe('EROFS');
    expect(await errnoOf(s.writeFile({ path: 'debug/version', data: enc.encode('0') }))).toBe('EROFS');
    expect(await errnoOf(s.writeFile({ path: 'debug/new', data: enc.encode('0') }))).toBe('EROFS');
    expect(await errnoOf(s.mkdir({ path: 'debug/d' }))).toBe('EROFS');
    expect(await errnoOf(s.remove({ path: 'debug/stats' }))).toBe('EROFS');
  });
});

describe('root and branches', () => {
  it('lists the datakit root', async () => {
    const s = await connect();
    expect(await names(s, '')).toEqual(['branch', 'commits', 'debug', 'remotes', 'snapshots', 'trees']);
    expect(await names(s, 'remotes')).toEqual([]);
    expect(await names(s, 'snapshots')).toEqual([]);
  });

  it('mkdir makes an empty branch; head is an empty line; ro is empty', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    expect(await names(s, 'branch')).toEqual(['master']);
    expect(await names(s, 'branch/master')).toEqual(['fast-forward', 'head', 'head.live', 'reflog', 'ro', 'transactions', 'watch']);
    expect(await read(s, 'branch/master/head')).toBe('\n');
    expect(await names(s, 'branch/master/ro')).toEqual([]);
    expect(await errnoOf(s.mkdir({ path: 'branch/master' }))).toBe('EEXIST');
  });

  it('refuses bad branch names and files in branch/', async () => {
    const s = await connect();
    for (const bad of ['a..b', 'x.lock', '.hidden', 'sp ace', 'tilde~1', '@']) {
      expect(await errnoOf(s.mkdir({ path: `branch/${bad}` }))).toBe('EINVAL');
    }
    expect(await errnoOf(write(s, 'branch/file', 'x'))).toBe('EPERM');
    expect(await names(s, 'branch')).toEqual([]);
  });
});

describe('transactions', () => {
  it('commits files; ro/, snapshots/, trees/, commits/ and git agree', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const head = await commitFiles(s, 'master', 't1', { 'a.txt': 'hello\n', 'dir/b.txt': 'bee\n' }, 'first');
    expect(head).toMatch(/^[0-9a-f]{40}$/);
    expect(await names(s, 'branch/master/transactions')).toEqual([]);
    expect(await read(s, 'branch/master/ro/a.txt')).toBe('hello\n');
    expect(await read(s, 'branch/master/ro/dir/b.txt')).toBe('bee\n');
    expect(await read(s, `snapshots/${head}/ro/dir/b.txt`)).toBe('bee\n');
    expect(await read(s, `snapshots/${head}/hash`)).toBe(head);
    expect(await read(s, `snapshots/${head}/msg`)).toBe('first\n');
    expect(await read(s, `snapshots/${head}/parents`)).toBe('');
    // git sees the same thing.
    git('fsck', '--strict', '--no-dangling');
    expect(git('rev-parse', 'refs/heads/master').trim()).toBe(head);
    expect(git('cat-file', '-p', `${head}:a.txt`)).toBe('hello\n');
    expect(git('cat-file', '-p', `${head}:dir/b.txt`)).toBe('bee\n');
    expect(git('log', '--format=%an <%ae> %s', 'master').trim()).toBe('datakit <datakit@mobyproject.org> first');
    expect(await read(s, `commits/${head}`)).toBe(git('cat-file', 'commit', head));
    const blob = git('rev-parse', `${head}:a.txt`).trim();
    const tree = git('rev-parse', `${head}:dir`).trim();
    expect(await read(s, `trees/F-${blob}`)).toBe('hello\n');
    expect(await names(s, `trees/D-${tree}`)).toEqual(['b.txt']);
    expect(await errnoOf(read(s, `trees/D-${blob}`))).toBe('ENOENT');
  });

  it('a second commit has the first as parent; parents, msg and empty messages', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const h1 = await commitFiles(s, 'master', 't1', { a: '1' });
    await s.mkdir({ path: 'branch/master/transactions/t2' });
    expect(await read(s, 'branch/master/transactions/t2/parents')).toBe(`${h1}\n`);
    expect(await read(s, 'branch/master/transactions/t2/rw/a')).toBe('1');
    await s.remove({ path: 'branch/master/transactions/t2/rw/a' });
    await write(s, 'branch/master/transactions/t2/rw/b', '2');
    await write(s, 'branch/master/transactions/t2/ctl', 'commit');
    const h2 = (await read(s, 'branch/master/head')).trim();
    expect(git('rev-parse', `${h2}^`).trim()).toBe(h1);
    expect(git('log', '-1', '--format=%B', h2).trim()).toBe('(no commit message)');
    expect(git('ls-tree', '--name-only', h2).trim()).toBe('b');
  });

  it('rw/ supports truncate, rename, chmod +x, symlinks and mkdir/rmdir', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const tx = 'branch/master/transactions/t';
    await s.mkdir({ path: tx });
    await write(s, `${tx}/rw/f`, 'hello world');
    await s.setattr({ path: `${tx}/rw/f`, size: 5 });
    await write(s, `${tx}/rw/run.sh`, '#!/bin/sh\n');
    await s.setattr({ path: `${tx}/rw/run.sh`, mode: 0o755 });
    await s.symlink({ path: `${tx}/rw/link`, target: 'f' });
    await s.mkdir({ path: `${tx}/rw/d` });
    await s.mkdir({ path: `${tx}/rw/empty` });
    await s.mkdir({ path: `${tx}/rw/gone` });
    await write(s, `${tx}/rw/gone/x`, 'x');
    await s.remove({ path: `${tx}/rw/gone/x` });
    await s.remove({ path: `${tx}/rw/gone` });
    await s.rename({ from: `${tx}/rw/f`, to: `${tx}/rw/d/g` });
    expect(await names(s, `${tx}/rw`)).toEqual(['d', 'empty', 'link', 'run.sh']);
    expect(await s.readlink({ path: `${tx}/rw/link` })).toBe('f');
    expect((await s.stat({ path: `${tx}/rw/run.sh` })).mode & 0o777).toBe(0o755);
    await write(s, `${tx}/ctl`, 'commit');
    const head = (await read(s, 'branch/master/head')).trim();
    const tree = git('ls-tree', '-r', '--format=%(objectmode) %(path)', head).trim().split('\n');
    expect(tree).toEqual(['100644 d/g', '120000 link', '100755 run.sh']);
    expect(git('cat-file', '-p', `${head}:d/g`)).toBe('hello');
    expect(await s.readlink({ path: 'branch/master/ro/link' })).toBe('f');
    git('fsck', '--strict', '--no-dangling');
  });

  it('parallel writes to one file all land', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    await s.mkdir({ path: 'branch/master/transactions/t' });
    const f = await s.create({ path: 'branch/master/transactions/t/rw/f' });
    const chunks = Array.from({ length: 32 }, (_, i) => enc.encode(String.fromCharCode(65 + (i % 26)).repeat(1000)));
    await Promise.all(chunks.map((c, i) => s.rpc({ type: 'Twrite', fid: f.fid.fid, offset: BigInt(i * 1000), data: c })));
    await f.close();
    await write(s, 'branch/master/transactions/t/ctl', 'commit');
    const got = await read(s, 'branch/master/ro/f');
    expect(got).toBe(chunks.map((c) => dec.decode(c)).join(''));
  });

  it('diff/<commit> in snapshots and transactions lists +, - and * lines', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const h1 = await commitFiles(s, 'master', 't1', { keep: 'k', change: '1', 'd/gone': 'g' });
    const h2 = await commitFiles(s, 'master', 't2', { change: '2', 'd/new': 'n' });
    await s.mkdir({ path: 'branch/master/transactions/t3' });
    await s.remove({ path: 'branch/master/transactions/t3/rw/d/gone' });
    expect(await read(s, `snapshots/${h2}/diff/${h1}`)).toBe('* change\n+ d/new\n');
    expect(await read(s, `branch/master/transactions/t3/diff/${h1}`)).toBe('* change\n- d/gone\n+ d/new\n');
    expect(await read(s, `branch/master/transactions/t3/diff/${h2}`)).toBe('- d/gone\n');
    expect(await names(s, `snapshots/${h2}/diff`)).toEqual([]);
    expect(await errnoOf(read(s, `snapshots/${h2}/diff/${'1'.repeat(40)}`))).toBe('ENOENT');
  });

  it('transactions are private to their connection', async () => {
    const a = await connect();
    const b = await connect();
    await a.mkdir({ path: 'branch/master' });
    await a.mkdir({ path: 'branch/master/transactions/mine' });
    expect(await names(a, 'branch/master/transactions')).toEqual(['mine']);
    expect(await names(b, 'branch/master/transactions')).toEqual([]);
    expect(await errnoOf(b.stat({ path: 'branch/master/transactions/mine' }))).toBe('ENOENT');
  });

  it('close drops a transaction; unknown commands and huge writes to ctl are refused', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    await s.mkdir({ path: 'branch/master/transactions/t' });
    expect(await command(s, 'branch/master/transactions/t/ctl', 'frobnicate')).toEqual({ errno: 'EINVAL', reply: 'Unknown command "frobnicate"\n' });
    expect(await errnoOf(write(s, 'branch/master/transactions/t/ctl', 'x'.repeat(1 << 20)))).toBe('EFBIG');
    expect(await command(s, 'branch/master/transactions/t/ctl', 'close')).toEqual({ reply: '' });
    expect(await names(s, 'branch/master/transactions')).toEqual([]);
    expect(await read(s, 'branch/master/head')).toBe('\n');
  });

  it('bad parents give invalid-hash', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    await s.mkdir({ path: 'branch/master/transactions/t' });
    await write(s, 'branch/master/transactions/t/parents', 'nothex\n');
    const r = await command(s, 'branch/master/transactions/t/ctl', 'commit');
    expect(r.errno).toBe('EINVAL');
    expect(r.reply).toMatch(/^invalid-hash "nothex": /);
    expect(await names(s, 'branch/master/transactions')).toEqual(['t']);
  });
});

describe('concurrent transactions on one branch', () => {
  it('merges disjoint changes (three-way) and keeps both', async () => {
    const a = await connect();
    const b = await connect();
    await a.mkdir({ path: 'branch/master' });
    const base = await commitFiles(a, 'master', 'init', { shared: 'base\n' });
    await a.mkdir({ path: 'branch/master/transactions/ta' });
    await b.mkdir({ path: 'branch/master/transactions/tb' });
    await write(a, 'branch/master/transactions/ta/rw/from-a', 'A');
    await write(b, 'branch/master/transactions/tb/rw/from-b', 'B');
    await write(a, 'branch/master/transactions/ta/ctl', 'commit');
    const ha = (await read(a, 'branch/master/head')).trim();
    expect(git('rev-parse', `${ha}^`).trim()).toBe(base);
    await write(b, 'branch/master/transactions/tb/ctl', 'commit');
    const merged = (await read(b, 'branch/master/head')).trim();
    expect(git('rev-list', '--parents', '-n', '1', merged).trim().split(' ').slice(1)).toEqual([ha, git('rev-parse', `${merged}^2`).trim()]);
    expect(await names(a, 'branch/master/ro')).toEqual(['from-a', 'from-b', 'shared']);
    git('fsck', '--strict', '--no-dangling');
  });

  it('refuses conflicting edits with datakit\'s "Merge conflict" and loses nothing', async () => {
    const a = await connect();
    const b = await connect();
    await a.mkdir({ path: 'branch/master' });
    await commitFiles(a, 'master', 'init', { shared: 'base\n' });
    await a.mkdir({ path: 'branch/master/transactions/ta' });
    await b.mkdir({ path: 'branch/master/transactions/tb' });
    await write(a, 'branch/master/transactions/ta/rw/shared', 'A\n');
    await write(b, 'branch/master/transactions/tb/rw/shared', 'B\n');
    await write(a, 'branch/master/transactions/ta/ctl', 'commit');
    const ha = (await read(a, 'branch/master/head')).trim();
    const r = await command(b, 'branch/master/transactions/tb/ctl', 'commit');
    expect(r).toEqual({ errno: 'EPERM', reply: 'Merge conflict: shared: Changed on both branches\n' });
    expect((await read(a, 'branch/master/head')).trim()).toBe(ha);
    expect(await read(a, 'branch/master/ro/shared')).toBe('A\n');
    // The loser's transaction is still there, with its data.
    expect(await read(b, 'branch/master/transactions/tb/rw/shared')).toBe('B\n');
  });
});

describe('fast-forward', () => {
  it('moves forward, refuses backwards with not-fast-forward, bad ids with invalid-hash', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const h1 = await commitFiles(s, 'master', 't1', { a: '1' });
    const h2 = await commitFiles(s, 'master', 't2', { b: '2' });
    await s.mkdir({ path: 'branch/other' });
    expect(await command(s, 'branch/other/fast-forward', h1)).toEqual({ reply: '' });
    expect((await read(s, 'branch/other/head')).trim()).toBe(h1);
    expect(await command(s, 'branch/other/fast-forward', h2)).toEqual({ reply: '' });
    expect(await command(s, 'branch/other/fast-forward', h1)).toEqual({ errno: 'EPERM', reply: 'not-fast-forward\n' });
    expect(await command(s, 'branch/other/fast-forward', h2)).toEqual({ reply: '' });
    const bad = await command(s, 'branch/other/fast-forward', 'xyz');
    expect(bad.errno).toBe('EINVAL');
    expect(bad.reply).toMatch(/^invalid-hash "xyz": /);
    expect((await command(s, 'branch/other/fast-forward', '0'.repeat(40))).errno).toBe('ENOENT');
    const tree = git('rev-parse', `${h1}^{tree}`).trim();
    expect((await command(s, 'branch/other/fast-forward', tree)).errno).toBe('EINVAL');
    expect(git('rev-parse', 'other').trim()).toBe(h2);
  });
});

describe('branch rename and delete', () => {
  it('renames and deletes branches in git', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/old' });
    const h = await commitFiles(s, 'old', 't', { a: '1' });
    await s.rename({ from: 'branch/old', to: 'branch/new' });
    expect(await names(s, 'branch')).toEqual(['new']);
    // Branches made by git with a '/' cannot be 9P names: not listed.
    git('update-ref', 'refs/heads/feature/x', h);
    git('update-ref', 'refs/heads/plain', h);
    expect(await names(s, 'branch')).toEqual(['new', 'plain']);
    git('update-ref', '-d', 'refs/heads/feature/x');
    await s.remove({ path: 'branch/plain' });
    expect(git('rev-parse', 'refs/heads/new').trim()).toBe(h);
    expect(git('for-each-ref', '--format=%(refname)').trim()).toBe('refs/heads/new');
    await s.remove({ path: 'branch/new' });
    expect(await names(s, 'branch')).toEqual([]);
    expect(git('for-each-ref').trim()).toBe('');
  });

  it('the next walk sees a branch the git CLI made or deleted, with or without a watcher', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/main' });
    const h = await commitFiles(s, 'main', 't', { a: '1' });
    for (const watched of [false, true]) {
      const live = watched ? await s.open({ path: 'branch/main/head.live', flags: P9_DOTL_RDONLY }) : undefined;
      git('update-ref', 'refs/heads/other', h);
      expect(await read(s, 'branch/other/head')).toBe(`${h}\n`);
      await s.mkdir({ path: `branch/other/transactions/t${watched}` });
      git('update-ref', '-d', 'refs/heads/other');
      expect(await errnoOf(s.stat({ path: 'branch/other/transactions' }))).toBe('ENOENT');
      expect(await errnoOf(s.mkdir({ path: 'branch/other/transactions/u' }))).toBe('ENOENT');
      await live?.close();
    }
  });
});

describe('head.live and reflog', () => {
  it('head.live gives the head, then wakes on a commit', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const live = await s.open({ path: 'branch/master/head.live', flags: P9_DOTL_RDONLY });
    let off = 0;
    // Raw Treads: File.read would swallow the empty read datakit sends after each chunk.
    const tread = async (): Promise<Uint8Array> => (await s.rpc({ type: 'Tread', fid: live.fid.fid, offset: BigInt(off), count: 4096 })).data;
    const next = async (): Promise<string> => {
      const d = await tread();
      off += d.length;
      expect((await tread()).length).toBe(0);
      return dec.decode(d);
    };
    expect(await next()).toBe('\n');
    const waiting = next();
    const other = await connect();
    const h = await commitFiles(other, 'master', 't', { a: '1' });
    expect(await waiting).toBe(`${h}\n`);
    // A slow reader sees only the latest.
    await commitFiles(other, 'master', 't2', { b: '2' });
    const h3 = await commitFiles(other, 'master', 't3', { c: '3' });
    expect(await next()).toBe(`${h3}\n`);
    // Reading anywhere but the current position is refused.
    expect(await errnoOf(s.rpc({ type: 'Tread', fid: live.fid.fid, offset: 0n, count: 10 }))).toBe('ESPIPE');
    await live.close();
  });

  it('a blocked head.live read ends on Tflush, and the stream carries on', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const live = await s.open({ path: 'branch/master/head.live', flags: P9_DOTL_RDONLY });
    const first = await live.read({ offset: 0, count: 4096 });
    expect(dec.decode(first)).toBe('\n');
    const ac = new AbortController();
    const blocked = s.rpc({ type: 'Tread', fid: live.fid.fid, offset: 1n, count: 4096 }, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    await expect(blocked).rejects.toThrow();
    const next = live.read({ offset: 1, count: 4096 });
    // Committed from another connection: on this one, two replies written back to back
    // can trip p9p's serve() (it frees a tag only once its reply is written, and the
    // client may reuse the tag before that: "tag N reused while in flight").
    const h = await commitFiles(await connect(), 'master', 't', { a: '1' });
    expect(dec.decode(await next)).toBe(`${h}\n`);
    await live.close();
  });

  it('one connection over a Unix socket: head.live keeps up while the same connection commits', async () => {
    const sock = join(dir, 'dk.sock');
    const server = await listen({ address: `unix!${sock}`, onConnection: (c) => void fs.serve(c) });
    try {
      const s = await Session.connect({ stream: await dial({ address: `unix!${sock}` }) });
      sessions.push(s);
      await s.mkdir({ path: 'branch/master' });
      const live = await s.open({ path: 'branch/master/head.live', flags: P9_DOTL_RDONLY });
      let off = 0;
      const seen: string[] = [];
      const reader = (async () => {
        for (;;) {
          const d = await live.read({ offset: off, count: 4096 });
          off += d.length;
          seen.push(dec.decode(d));
        }
      })();
      reader.catch(() => undefined);
      let h = '';
      for (let i = 0; i < 10; i++) h = await commitFiles(s, 'master', `t${i}`, { a: String(i) });
      await expect.poll(() => seen[seen.length - 1], { timeout: 2000 }).toBe(`${h}\n`);
      expect(seen[0]).toBe('\n');
    } finally {
      server.close();
    }
  });

  it('head.live and reflog notice a ref moved by the git CLI', async () => {
    fs = await DatakitFs.open({ gitdir, pollMs: 20 });
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const h1 = await commitFiles(s, 'master', 't1', { a: '1' });
    const h2 = await commitFiles(s, 'master', 't2', { b: '2' });
    const live = await s.open({ path: 'branch/master/head.live', flags: P9_DOTL_RDONLY });
    const first = await live.read({ offset: 0, count: 4096 });
    expect(dec.decode(first)).toBe(`${h2}\n`);
    const waiting = live.read({ offset: first.length, count: 4096 });
    // Another connection: two reads woken at once on one duplexPair connection trip
    // p9p's serve() tag bookkeeping (see README "Known issue").
    const log = await (await connect()).open({ path: 'branch/master/reflog', flags: P9_DOTL_RDONLY });
    const logged = log.read({ offset: 0, count: 4096 });
    git('update-ref', 'refs/heads/master', h1, h2);
    expect(dec.decode(await waiting)).toBe(`${h1}\n`);
    expect(dec.decode(await logged)).toBe(`${h1}\n`);
    await live.close();
    await log.close();
  });

  it('head.live wakes on a git CLI commit at once, not at the next poll (the refs are watched)', async () => {
    // Polling once a minute: only the watch on refs/heads can wake the reader in time.
    fs = await DatakitFs.open({ gitdir, pollMs: 60_000 });
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const h1 = await commitFiles(s, 'master', 't1', { a: '1' });
    const live = await s.open({ path: 'branch/master/head.live', flags: P9_DOTL_RDONLY });
    let off = (await live.read({ offset: 0, count: 4096 })).length;
    for (let i = 0; i < 3; i++) {
      const parent = git('rev-parse', 'master').trim();
      const tree = git('mktree').trim();
      const c = execFileSync('git', ['--git-dir', gitdir, 'commit-tree', tree, '-p', parent, '-m', `outside ${i}`], {
        encoding: 'utf8',
        env: { ...process.env, GIT_AUTHOR_NAME: 'o', GIT_AUTHOR_EMAIL: 'o@o', GIT_COMMITTER_NAME: 'o', GIT_COMMITTER_EMAIL: 'o@o' },
      }).trim();
      const waiting = live.read({ offset: off, count: 4096 });
      git('update-ref', 'refs/heads/master', c, parent);
      const timeout = new Promise<string>((r) => setTimeout(() => r('not woken within 10 s'), 10_000));
      const got = await Promise.race([waiting.then((d) => dec.decode(d)), timeout]);
      expect(got).toBe(`${c}\n`);
      off += got.length;
    }
    // And this server's own commits still come through once each, in order.
    const waiting = live.read({ offset: off, count: 4096 });
    const h2 = await commitFiles(s, 'master', 't2', { b: '2' });
    expect(dec.decode(await waiting)).toBe(`${h2}\n`);
    expect(h2).not.toBe(h1);
    await live.close();
  });

  it('watch/<p>.node/tree.live follows one path, skipping commits that leave it alone', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const live = await s.open({ path: 'branch/master/watch/src.node/ui.node/tree.live', flags: P9_DOTL_RDONLY });
    let off = 0;
    const next = async (): Promise<string> => {
      const d = await live.read({ offset: off, count: 4096 });
      off += d.length;
      return dec.decode(d);
    };
    expect(await next()).toBe('\n');
    const waiting = next();
    const h1 = await commitFiles(s, 'master', 't1', { 'src/ui/a': 'a' });
    expect(await waiting).toBe(`D-${git('rev-parse', `${h1}:src/ui`).trim()}\n`);
    const again = next();
    await commitFiles(s, 'master', 't2', { other: 'x' });
    const h3 = await commitFiles(s, 'master', 't3', { 'src/ui/b': 'b' });
    expect(await again).toBe(`D-${git('rev-parse', `${h3}:src/ui`).trim()}\n`);
    await live.close();
    expect(await names(s, 'branch/master/watch')).toEqual(['other.node', 'src.node', 'tree.live']);
    const file = await s.open({ path: 'branch/master/watch/src.node/ui.node/a.node/tree.live', flags: P9_DOTL_RDONLY });
    expect(dec.decode(await file.read({ offset: 0, count: 100 }))).toBe(`F-${git('rev-parse', `${h3}:src/ui/a`).trim()}\n`);
    await file.close();
  });

  it('reflog reports every update, deletions as empty lines', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    // Another connection: two reads woken at once on one duplexPair connection trip
    // p9p's serve() tag bookkeeping (see README "Known issue").
    const log = await (await connect()).open({ path: 'branch/master/reflog', flags: P9_DOTL_RDONLY });
    const h1 = await commitFiles(s, 'master', 't1', { a: '1' });
    const h2 = await commitFiles(s, 'master', 't2', { b: '2' });
    await s.remove({ path: 'branch/master' });
    let off = 0;
    const lines: string[] = [];
    while (lines.length < 3) {
      const d = await log.read({ offset: off, count: 4096 });
      off += d.length;
      if (d.length > 0) lines.push(dec.decode(d));
    }
    expect(lines).toEqual([`${h1}\n`, `${h2}\n`, '\n']);
    await log.close();
  });
});

describe('hostile input', () => {
  it('refuses writes to read-only files and directories with clear errnos', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    await commitFiles(s, 'master', 't', { a: '1' });
    expect(await errnoOf(write(s, 'branch/master/head', 'x'))).toBe('EROFS');
    expect(await errnoOf(write(s, 'branch/master/ro/a', 'x'))).toBe('EROFS');
    expect(await errnoOf(write(s, 'branch/master/ro/new', 'x'))).toBe('EROFS');
    expect(await errnoOf(s.mkdir({ path: 'branch/master/ro/d' }))).toBe('EROFS');
    expect(await errnoOf(s.remove({ path: 'branch/master/ro/a' }))).toBe('EROFS');
    expect(await errnoOf(write(s, 'snapshots/x', 'x'))).toBe('EROFS');
    // A walk that fails past its first name is a partial walk: ENOENT, whatever the reason.
    expect(await errnoOf(s.readdir({ path: 'snapshots/nothex' }))).toBe('ENOENT');
    expect(await errnoOf(read(s, 'trees/Q-abc'))).toBe('ENOENT');
    await s.mkdir({ path: 'branch/master/transactions/t' });
    // Names the client library would refuse, sent raw.
    const rw = await s.walk({ path: 'branch/master/transactions/t/rw' });
    for (const bad of ['.git', '.GIT', '..', '.', '', 'a/b']) {
      const lcreate = s.rpc({ type: 'Tlcreate', fid: rw.fid, name: bad, flags: 1, mode: 0o644, gid: 0 });
      expect(await errnoOf(lcreate)).toBe('EINVAL');
      expect(await errnoOf(s.rpc({ type: 'Tmkdir', dfid: rw.fid, name: bad, mode: 0o755, gid: 0 }))).toMatch(/^E(INVAL|EXIST)$/);
    }
    expect(await errnoOf(s.rpc({ type: 'Tlcreate', fid: rw.fid, name: 'x'.repeat(300), flags: 1, mode: 0o644, gid: 0 }))).toBe('ENAMETOOLONG');
    await rw.clunk();
    const root = await s.walk({ path: 'branch' });
    expect(await errnoOf(s.rpc({ type: 'Tmkdir', dfid: root.fid, name: '../x', mode: 0o755, gid: 0 }))).toBe('EINVAL');
    await root.clunk();
    // A write far past the end of a file, and a truncate to a huge size.
    const big = await s.open({ path: 'branch/master/transactions/t/rw/../rw', flags: 0 });
    await big.close();
    await write(s, 'branch/master/transactions/t/rw/f', 'x');
    const f = await s.open({ path: 'branch/master/transactions/t/rw/f', flags: 1 });
    expect(await errnoOf(f.write({ offset: 2n ** 50n, data: enc.encode('x') }))).toBe('EFBIG');
    expect(await errnoOf(f.write({ offset: 1n << 30n, data: enc.encode('x') }))).toBe('EFBIG');
    await f.close();
    expect(await errnoOf(s.setattr({ path: 'branch/master/transactions/t/rw/f', size: 1 << 30 }))).toBe('EFBIG');
    expect(await errnoOf(s.setattr({ path: 'branch/master/transactions/t/ctl', size: 10 }))).toBe('EINVAL');
    // Access modes are kept: no write on a read-only open, no read on a write-only one.
    const ro = await s.open({ path: 'branch/master/transactions/t/msg', flags: P9_DOTL_RDONLY });
    expect(await errnoOf(ro.write({ offset: 0, data: enc.encode('x') }))).toBe('EBADF');
    await ro.close();
    const wo = await s.open({ path: 'branch/master/transactions/t/msg', flags: 1 });
    expect(await errnoOf(wo.read({ offset: 0, count: 10 }))).toBe('EBADF');
    await wo.close();
    // Still serving.
    expect(await read(s, 'branch/master/ro/a')).toBe('1');
  });
});

describe('hostile or racing clients (audit, session 9)', () => {
  it('chmod +x of a file never read keeps its contents (it stored an empty blob)', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    await commitFiles(s, 'master', 't1', { 'run.sh': '#!/bin/sh\necho important\n' });
    const tx = 'branch/master/transactions/t2';
    await s.mkdir({ path: tx });
    await s.setattr({ path: `${tx}/rw/run.sh`, mode: 0o755 });
    expect((await command(s, `${tx}/ctl`, 'commit')).errno).toBeUndefined();
    expect(git('show', 'master:run.sh')).toBe('#!/bin/sh\necho important\n');
    expect(git('ls-tree', 'master', 'run.sh')).toMatch(/^100755 blob /);
    git('fsck', '--strict');
  });

  it('a write racing a commit is either in the commit or refused: none is acknowledged and lost', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const tx = 'branch/master/transactions/race';
    await s.mkdir({ path: tx });
    const writes: Promise<string>[] = [];
    for (let i = 0; i < 10; i++) {
      await write(s, `${tx}/rw/first${i}`, `f${i}`);
      writes.push(Promise.resolve(`first${i}`));
    }
    for (let i = 0; i < 40; i++) writes.push(write(s, `${tx}/rw/before${i}`, `b${i}`).then(() => `before${i}`));
    const committed = command(s, `${tx}/ctl`, 'commit');
    for (let i = 0; i < 40; i++) writes.push(write(s, `${tx}/rw/after${i}`, `a${i}`).then(() => `after${i}`));
    expect((await committed).errno).toBeUndefined();
    const done = await Promise.allSettled(writes);
    const inTree = new Set(git('ls-tree', '--name-only', 'master').split('\n').filter((l) => l !== ''));
    let acked = 0;
    for (const d of done) {
      if (d.status === 'fulfilled') {
        acked++;
        expect(inTree.has(d.value), `${d.value} was acknowledged`).toBe(true);
      }
    }
    expect(acked).toBeGreaterThanOrEqual(10);
  });

  it('a write racing a merge is either kept in rw/ or refused; writes on a fid of a committed transaction fail', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const base = await commitFiles(s, 'master', 't0', { a: 'a' });
    await s.mkdir({ path: 'branch/other' });
    expect((await command(s, 'branch/other/fast-forward', base)).errno).toBeUndefined();
    const theirs = await commitFiles(s, 'other', 't1', { b: 'b' });
    const tx = 'branch/master/transactions/m';
    await s.mkdir({ path: tx });
    const writes: Promise<string>[] = [];
    for (let i = 0; i < 30; i++) writes.push(write(s, `${tx}/rw/w${i}`, `w${i}`).then(() => `w${i}`));
    const merged = command(s, `${tx}/merge`, theirs);
    for (let i = 30; i < 60; i++) writes.push(write(s, `${tx}/rw/w${i}`, `w${i}`).then(() => `w${i}`));
    expect((await merged).errno).toBeUndefined();
    for (const d of await Promise.allSettled(writes)) {
      // Before the fix, writes that landed between the merge's snapshot and its reset were acknowledged, then gone.
      if (d.status === 'fulfilled') expect(await read(s, `${tx}/rw/${d.value}`)).toBe(d.value);
    }
    expect(await read(s, `${tx}/rw/b`)).toBe('b');
    // A fid held open across the commit: writes on it fail instead of going nowhere.
    const f = await s.open({ path: `${tx}/rw/a`, flags: P9_DOTL_RDWR });
    expect((await command(s, `${tx}/ctl`, 'commit')).errno).toBeUndefined();
    await expect(f.write({ offset: 0, data: enc.encode('late') })).rejects.toMatchObject({ code: 'ENOENT' });
    await f.close();
    expect(git('show', 'master:a')).toBe('a');
  });

  it('rename between two transactions is refused (EXDEV): it moved data past the byte budget', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    await s.mkdir({ path: 'branch/master/transactions/x' });
    await s.mkdir({ path: 'branch/master/transactions/y' });
    await write(s, 'branch/master/transactions/x/rw/f', 'data');
    expect(await errnoOf(s.rename({ from: 'branch/master/transactions/x/rw/f', to: 'branch/master/transactions/y/rw/f' }))).toBe('EXDEV');
    expect(await read(s, 'branch/master/transactions/x/rw/f')).toBe('data');
  });

  it('branch names git refuses or that one directory cannot hold are refused', async () => {
    const s = await connect();
    for (const name of ['HEAD', '-x', 'a..b', 'x.lock']) expect(await errnoOf(s.mkdir({ path: `branch/${name}` })), name).toBe('EINVAL');
    // A name with '/' in it, sent as one name (a path would walk branch/a first).
    const branchDir = await s.walk({ path: 'branch' });
    await expect(s.rpc({ type: 'Tmkdir', tag: 0, dfid: branchDir.fid, name: 'a/b', mode: 0o755, gid: 0 })).rejects.toMatchObject({ code: 'EINVAL' });
    await branchDir.clunk();
    expect(git('for-each-ref')).toBe('');
  });

  it('names git fsck --strict refuses (.git as a checkout would see it, .gitmodules as a symlink or a directory) are refused in rw/', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const rw = 'branch/master/transactions/n/rw';
    await s.mkdir({ path: 'branch/master/transactions/n' });
    // Also after a backslash: fsck reads a name as an NTFS path too (hasDotgit).
    for (const name of ['.git', '.GIT', 'git~1', '.git.', '.git ', '.git::$INDEX_ALLOCATION', '.g\u200cit', '.\ufeffgit', '.git\\x', 'x\\.git', 'git~1\\y']) {
      expect(await errnoOf(write(s, `${rw}/${name}`, 'x')), JSON.stringify(name)).toBe('EINVAL');
      expect(await errnoOf(s.mkdir({ path: `${rw}/${name}` })), JSON.stringify(name)).toBe('EINVAL');
    }
    // NTFS's fall-back short names ("~1234567", "gi7e~123") and names after a backslash are .gitmodules too.
    for (const name of ['.gitmodules', '.GitModules', 'gitmod~1', 'gi7eba~2', 'gi7e~123', '~1234567', 'x\\.gitmodules', '.gitattributes', '.gitignore ', '.mailmap']) {
      expect(await errnoOf(s.symlink({ path: `${rw}/${name}`, target: 'elsewhere' })), JSON.stringify(name)).toBe('EINVAL');
    }
    // Renamed into one of those names: refused too.
    await s.symlink({ path: `${rw}/link`, target: 'elsewhere' });
    expect(await errnoOf(s.rename({ from: `${rw}/link`, to: `${rw}/.gitmodules` }))).toBe('EINVAL');
    // .gitmodules as a directory: fsck --strict refuses a tree there (gitmodulesBlob).
    for (const name of ['.gitmodules', '.GITMODULES', 'gitmod~1', '.gitmodules.', 'x\\.gitmodules']) {
      expect(await errnoOf(s.mkdir({ path: `${rw}/${name}` })), JSON.stringify(name)).toBe('EINVAL');
    }
    await s.mkdir({ path: `${rw}/d` });
    await write(s, `${rw}/d/f`, 'x');
    expect(await errnoOf(s.rename({ from: `${rw}/d`, to: `${rw}/.gitmodules` }))).toBe('EINVAL');
    await s.remove({ path: `${rw}/d/f` });
    await s.remove({ path: `${rw}/d` });
    // What git accepts still goes in.
    for (const name of ['.github', '.gitignore', 'git~5', '.gitx']) await write(s, `${rw}/${name}`, 'ok');
    expect((await command(s, 'branch/master/transactions/n/ctl', 'commit')).errno).toBeUndefined();
    git('fsck', '--strict');
    expect(git('ls-tree', '--name-only', 'master').split('\n').filter((l) => l !== '').sort()).toEqual(['.github', '.gitignore', '.gitx', 'git~5', 'link']);
  });

  describe('.gitattributes', () => {
    it('a line git cannot read fails the commit (gitattributesLineLength), also renamed into place; a directory of that name is refused', async () => {
      const s = await connect();
      await s.mkdir({ path: 'branch/master' });
      const tx = 'branch/master/transactions/t';
      await s.mkdir({ path: tx });
      await s.mkdir({ path: `${tx}/rw/d` });
      await write(s, `${tx}/rw/d/.gitattributes`, `*.sh text\n${'x'.repeat(2048)}\n`);
      const r = await command(s, `${tx}/ctl`, 'commit');
      expect(r.errno).toBe('EINVAL');
      expect(r.reply).toBe('d/.gitattributes: line 2 is 2048 bytes long, git reads at most 2047 (git fsck: gitattributesLineLength)\n');
      expect(await errnoOf(s.mkdir({ path: `${tx}/rw/.gitattributes` }))).toBe('EINVAL');
      expect(await errnoOf(s.mkdir({ path: `${tx}/rw/e/gitatt~1` }))).toBe('ENOENT');
      await s.mkdir({ path: `${tx}/rw/e` });
      expect(await errnoOf(s.mkdir({ path: `${tx}/rw/e/gitatt~1` }))).toBe('EINVAL');
      // Fixed, and a long-lined file renamed into place instead.
      await write(s, `${tx}/rw/d/.gitattributes`, '*.sh text\n');
      await write(s, `${tx}/rw/long`, `${'y'.repeat(4096)}\n`);
      expect((await command(s, `${tx}/ctl`, 'commit')).errno).toBeUndefined();
      git('fsck', '--strict');
      await s.mkdir({ path: 'branch/master/transactions/u' });
      await s.rename({ from: 'branch/master/transactions/u/rw/long', to: 'branch/master/transactions/u/rw/.GITATTRIBUTES' });
      const moved = await command(s, 'branch/master/transactions/u/ctl', 'commit');
      expect(moved.errno).toBe('EINVAL');
      expect(moved.reply).toMatch(/^\.GITATTRIBUTES: line 1 is 4096 bytes long.*gitattributesLineLength\)\n$/);
      expect(git('ls-tree', '-r', '--name-only', 'master').split('\n').filter((l) => l !== '')).toEqual(['d/.gitattributes', 'long']);
    });
  });

  describe('.gitmodules', () => {
    const valid = '[submodule "lib"]\n\tpath = lib\n\turl = https://example.com/lib.git\n';
    const evil = '[submodule "x"]\n\turl = --upload-pack=evil\n';

    it('a valid one, at any depth and as a checkout would name it, commits and the repository passes git fsck --strict', async () => {
      const s = await connect();
      await s.mkdir({ path: 'branch/master' });
      await commitFiles(s, 'master', 't', { '.gitmodules': valid, 'a/b/.gitmodules': valid.replace('lib', 'sub'), 'c/gitmod~1': '# only a comment\n', 'd/.GitModules': '' });
      git('fsck', '--strict');
      expect(git('show', 'master:.gitmodules')).toBe(valid);
      expect(git('ls-tree', '-r', '--name-only', 'master').split('\n').filter((l) => l !== '')).toEqual(['.gitmodules', 'a/b/.gitmodules', 'c/gitmod~1', 'd/.GitModules']);
    });

    it('an invalid one fails the commit with EINVAL naming the path and the rule; the transaction stays and commits once fixed', async () => {
      const s = await connect();
      await s.mkdir({ path: 'branch/master' });
      const tx = 'branch/master/transactions/t';
      await s.mkdir({ path: tx });
      await s.mkdir({ path: `${tx}/rw/a` });
      await write(s, `${tx}/rw/a/.gitmodules`, evil);
      await write(s, `${tx}/rw/other`, 'kept');
      const r = await command(s, `${tx}/ctl`, 'commit');
      expect(r.errno).toBe('EINVAL');
      expect(r.reply).toBe('a/.gitmodules: submodule "x": url "--upload-pack=evil" looks like a command-line option (git fsck: gitmodulesUrl)\n');
      // diff/ writes the tree the same way, so it is refused the same way.
      await s.mkdir({ path: 'branch/master/transactions/base' });
      await write(s, 'branch/master/transactions/base/ctl', 'commit');
      const base = (await read(s, 'branch/master/head')).trim();
      const diff = await s.walk({ path: `${tx}/diff` });
      // One name walked from diff/: the error comes back as is (a longer walk stopped short reads as ENOENT).
      expect(await errnoOf(s.walk({ path: base, from: diff }))).toBe('EINVAL');
      await diff.clunk();
      // Nothing reached the branch; the transaction is still there, its files as they were.
      expect(git('ls-tree', '-r', '--name-only', 'master')).toBe('');
      expect(await names(s, 'branch/master/transactions')).toEqual(['t']);
      expect(await read(s, `${tx}/rw/other`)).toBe('kept');
      for (const [text, rule] of [
        ['[submodule "../x"]\n\tpath = x\n', 'gitmodulesName'],
        ['[submodule "x"]\n\tpath = -x\n', 'gitmodulesPath'],
        ['[submodule "x"]\n\tupdate = !sh\n', 'gitmodulesUpdate'],
        ['[submodule "x"]\r\n\turl = ./%0ahost\r\n', 'gitmodulesUrl'],
      ] as const) {
        await write(s, `${tx}/rw/a/.gitmodules`, text);
        const again = await command(s, `${tx}/ctl`, 'commit');
        expect(again.errno, text).toBe('EINVAL');
        expect(again.reply, text).toMatch(new RegExp(`^a/\\.gitmodules: .*\\(git fsck: ${rule}\\)\\n$`));
      }
      // Fixed: it commits, and git agrees.
      await write(s, `${tx}/rw/a/.gitmodules`, valid);
      expect((await command(s, `${tx}/ctl`, 'commit')).errno).toBeUndefined();
      git('fsck', '--strict');
      expect(git('show', 'master:a/.gitmodules')).toBe(valid);
      expect(git('show', 'master:other')).toBe('kept');
    });

    it('a file renamed into place is checked; one git cannot parse is accepted, as fsck --strict does (gitmodulesParse is a warning)', async () => {
      const s = await connect();
      await s.mkdir({ path: 'branch/master' });
      await commitFiles(s, 'master', 't1', { plain: evil, garbage: '!!! not config\n[submodule "x"]\n\turl = --evil\n' });
      const tx = 'branch/master/transactions/t2';
      await s.mkdir({ path: tx });
      await s.rename({ from: `${tx}/rw/plain`, to: `${tx}/rw/.gitmodules` });
      const r = await command(s, `${tx}/ctl`, 'commit');
      expect(r.errno).toBe('EINVAL');
      expect(r.reply).toMatch(/^\.gitmodules: submodule "x": url .* \(git fsck: gitmodulesUrl\)\n$/);
      await s.remove({ path: `${tx}/rw/.gitmodules` });
      await s.rename({ from: `${tx}/rw/garbage`, to: `${tx}/rw/.gitmodules` });
      expect((await command(s, `${tx}/ctl`, 'commit')).errno).toBeUndefined();
      git('fsck', '--strict');
    });

    it('one already in history is not checked again when its directory changes', async () => {
      const s = await connect();
      await s.mkdir({ path: 'branch/master' });
      // Made by the git CLI (as if fetched): datakit would not have written it.
      const blob = execFileSync('git', ['--git-dir', gitdir, 'hash-object', '-w', '--stdin'], { input: evil, encoding: 'utf8' }).trim();
      const tree = execFileSync('git', ['--git-dir', gitdir, 'mktree'], { input: `100644 blob ${blob}\t.gitmodules\n`, encoding: 'utf8' }).trim();
      const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.com', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.com' };
      const c = execFileSync('git', ['--git-dir', gitdir, 'commit-tree', tree, '-m', 'old'], { env, encoding: 'utf8' }).trim();
      git('update-ref', 'refs/heads/master', c);
      await commitFiles(s, 'master', 't', { next: 'x' });
      expect(git('ls-tree', '--name-only', 'master').split('\n').filter((l) => l !== '')).toEqual(['.gitmodules', 'next']);
    });
  });

  it("branches made and deleted leave nothing behind in the repository's maps; a watched one stays watched", async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/kept' });
    const live = await (await connect()).open({ path: 'branch/kept/head.live', flags: P9_DOTL_RDONLY });
    expect(dec.decode(await live.read({ offset: 0, count: 100 }))).toBe('\n');
    for (let i = 0; i < 30; i++) {
      await s.mkdir({ path: `branch/b${i}` });
      await commitFiles(s, `b${i}`, 't', { f: `${i}` });
      await s.remove({ path: `branch/b${i}` });
    }
    // Before: one entry per branch ever committed to (the audit counted 20,001 after 20,000 cycles).
    expect(fs.repo.watchedBranches).toBeLessThanOrEqual(1);
    // The reader of kept/head.live still hears its commits.
    const h = await commitFiles(s, 'kept', 't', { f: 'k' });
    let got = '';
    while (got === '') got = dec.decode(await live.read({ offset: 1, count: 100 }));
    expect(got).toBe(`${h}\n`);
    await live.close();
  });

  it('all transactions of the server share one byte budget, given back on commit, close, rmdir of the branch and disconnect', async () => {
    fs = await DatakitFs.open({ gitdir: join(dir, 'budget.git'), now: () => 1_700_000_000_000, maxTotalTransactionBytes: 1000 });
    const a = await connect();
    const b = await connect();
    await a.mkdir({ path: 'branch/master' });
    await a.mkdir({ path: 'branch/master/transactions/t1' });
    await b.mkdir({ path: 'branch/master/transactions/t2' });
    const blob = (n: number): Uint8Array => new Uint8Array(n).fill(0x61);
    await a.writeFile({ path: 'branch/master/transactions/t1/rw/f', data: blob(600) });
    // Before: each transaction had only its own bound (256 MiB), one connection could hold 1024 per branch.
    expect(await errnoOf(b.writeFile({ path: 'branch/master/transactions/t2/rw/f', data: blob(600) }))).toBe('ENOSPC');
    // Each file made counts 128 bytes and its name's too (t2's f was made before its write failed).
    const node = 128 + 1;
    expect(fs.budget.used).toBe(600 + 2 * node);
    expect((await command(a, 'branch/master/transactions/t1/ctl', 'close')).errno).toBeUndefined();
    expect(fs.budget.used).toBe(node);
    await b.writeFile({ path: 'branch/master/transactions/t2/rw/f', data: blob(600) });
    expect((await command(b, 'branch/master/transactions/t2/ctl', 'commit')).errno).toBeUndefined();
    expect(fs.budget.used).toBe(0);
    // A connection that goes away gives its transactions' bytes back.
    await a.mkdir({ path: 'branch/master/transactions/t3' });
    await a.writeFile({ path: 'branch/master/transactions/t3/rw/g', data: blob(800) });
    expect(fs.budget.used).toBe(800 + node);
    await a.close();
    for (let i = 0; i < 50 && fs.budget.used !== 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(fs.budget.used).toBe(0);
    // And so does deleting the branch under an open transaction.
    await b.mkdir({ path: 'branch/master/transactions/t4' });
    await b.writeFile({ path: 'branch/master/transactions/t4/rw/h', data: blob(800) });
    // Empty directories count too: past the budget, mkdir fails.
    for (let i = 0; ; i++) {
      const e = await errnoOf(b.mkdir({ path: `branch/master/transactions/t4/rw/d${i}` })).catch(() => 'ok');
      if (e === 'ENOSPC') break;
      expect(i).toBeLessThan(10);
    }
    await b.remove({ path: 'branch/master' });
    expect(fs.budget.used).toBe(0);
  });

  it('reflog: two readers of one branch share one log through thousands of updates, each line once, in order', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const r1 = await (await connect()).open({ path: 'branch/master/reflog', flags: P9_DOTL_RDONLY });
    const r2 = await (await connect()).open({ path: 'branch/master/reflog', flags: P9_DOTL_RDONLY });
    // Updates published straight to the branch's watchers (what a commit does after the ref moves).
    const w = fs.repo.watch('master');
    const ids = Array.from({ length: 3000 }, (_, i) => i.toString(16).padStart(40, '0'));
    for (const id of ids) w.set(id);
    const readAll = async (f: typeof r1): Promise<string[]> => {
      const out: string[] = [];
      let off = 0;
      while (out.length < ids.length) {
        const d = dec.decode(await f.read({ offset: off, count: 41 }));
        off += d.length;
        if (d !== '') out.push(d.trim());
      }
      return out;
    };
    expect(await readAll(r1)).toEqual(ids);
    expect(await readAll(r2)).toEqual(ids);
    await r1.close();
    await r2.close();
  });

  it('reflog: a reader that falls more than the backlog behind gets EOVERFLOW at the gap, not a stream with lines missing', async () => {
    fs = await DatakitFs.open({ gitdir: join(dir, 'small-backlog.git'), now: () => 1_700_000_000_000, reflogBacklog: 5 });
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    const slow = await (await connect()).open({ path: 'branch/master/reflog', flags: P9_DOTL_RDONLY });
    const fast = await (await connect()).open({ path: 'branch/master/reflog', flags: P9_DOTL_RDONLY });
    const heads: string[] = [];
    const lines: string[] = [];
    let off = 0;
    for (let i = 0; i < 8; i++) {
      heads.push(await commitFiles(s, 'master', `t${i}`, { [`f${i}`]: `${i}` }));
      // The fast reader keeps up: it reads each line (and the empty read after it).
      for (let got = ''; got === ''; ) {
        const d = await fast.read({ offset: off, count: 4096 });
        off += d.length;
        got = dec.decode(d);
        if (got !== '') lines.push(got);
      }
    }
    expect(lines).toEqual(heads.map((h) => `${h}\n`));
    // Before: the oldest lines were dropped and the slow reader read on as if nothing was missing.
    await expect(slow.read({ offset: 0, count: 4096 })).rejects.toMatchObject({ code: 'EOVERFLOW' });
    await slow.close();
    await fast.close();
  });

  it('a fid cannot be walked deeper than 256 names or 4096 bytes (watch/ took any depth: the server ran out of memory)', async () => {
    const s = await connect();
    await s.mkdir({ path: 'branch/master' });
    /** Walks one name at a time from `path` until refused; the number of names walked, and the refusal. */
    const walkOn = async (path: string, name: (i: number) => string): Promise<{ walked: number; code: string }> => {
      let f = await s.walk({ path });
      try {
        for (let i = 0; i < 1000; i++) {
          const next = await s.walk({ path: name(i), from: f }).catch((e: unknown) => e);
          if (next instanceof RemoteError) return { walked: i, code: next.code };
          await f.clunk();
          f = next as typeof f;
        }
        return { walked: 1000, code: 'none' };
      } finally {
        await f.clunk();
      }
    };
    // root, branch, master, watch and 200 names: 204 in the fid's path; 52 more fit.
    const deep = await walkOn(`branch/master/watch/${Array.from({ length: 200 }, (_, i) => `d${i}.node`).join('/')}`, (i) => `e${i}.node`);
    expect(deep).toEqual({ walked: 52, code: 'ENAMETOOLONG' });
    // Names of 255 bytes: the 16th passes 4096 bytes (branch/master/watch/ is 20 of them).
    expect(await walkOn('branch/master/watch', () => `${'n'.repeat(250)}.node`)).toEqual({ walked: 15, code: 'ENAMETOOLONG' });
  });
});
