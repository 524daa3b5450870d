// The server answering 9P2000 and 9P2000.u clients: the p9p client in each
// dialect against MemoryFs and LocalFs, then raw frames for the edge cases
// (directory read offsets, Tremove that fails, ORCLOSE, wstat refusals).
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Channel } from '../channel/channel.js';
import { RemoteError } from '../channel/errors.js';
import { duplexPair } from '../channel/pair.js';
import { Session } from '../client/session.js';
import {
  DMDEVICE,
  DMDIR,
  DMLINK,
  DMSYMLINK,
  NOFID,
  NONUNAME,
  NOTAG,
  OREAD,
  ORCLOSE,
  ORDWR,
  OTRUNC,
  OWRITE,
  QTDIR,
} from '../codec/constants.js';
import { decode } from '../codec/decode.js';
import { encode } from '../codec/encode.js';
import { decodeStats, dontTouchStat } from '../codec/stat.js';
import type { Dialect, Fcall, FcallOf, Stat } from '../codec/types.js';
import { LocalFs } from '../handlers/local.js';
import { MemoryFs } from '../handlers/memory.js';
import type { Handler } from './handler.js';
import { serve } from './serve.js';
import type { ServerConnection } from './serve.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
const code = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    (e: unknown) => (e instanceof RemoteError ? e.code : String(e)),
  );

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A backend: the handler, and a look at what it holds from the host side. */
interface Backend {
  name: string;
  handler: Handler<unknown>;
  /** File contents, a directory's names, a symlink's target; undefined if absent. */
  look(path: string): { kind: 'file'; data: string } | { kind: 'dir'; names: string[] } | { kind: 'symlink'; target: string } | undefined;
  /** Host-side permission bits. */
  perm(path: string): number;
}

function memory(): Backend {
  const fs = new MemoryFs();
  return {
    name: 'MemoryFs',
    handler: fs as Handler<unknown>,
    look(path) {
      const n = fs.lookup(path);
      if (n === undefined) return undefined;
      if (n.kind === 'file') return { kind: 'file', data: dec(n.data) };
      if (n.kind === 'dir') return { kind: 'dir', names: [...n.names].sort() };
      return n;
    },
    perm(path) {
      let node = fs.root as { kind: string; mode: number; children?: Map<string, unknown> };
      for (const name of path.split('/').filter((x) => x !== '')) node = node.children?.get(name) as typeof node;
      return node.mode & 0o7777;
    },
  };
}

function local(): Backend {
  const base = mkdtempSync(join(tmpdir(), 'p9p-classic-'));
  const root = join(base, 'root');
  mkdirSync(root);
  const fs = new LocalFs({ root });
  cleanups.push(() => {
    fs.close();
    rmSync(base, { recursive: true, force: true });
  });
  return {
    name: 'LocalFs',
    handler: fs as Handler<unknown>,
    look(path) {
      const p = join(root, path);
      if (!existsSync(p) && !isLink(p)) return undefined;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) return { kind: 'symlink', target: readlinkSync(p) };
      if (st.isDirectory()) return { kind: 'dir', names: readdirSync(p).sort() };
      return { kind: 'file', data: readFileSync(p, 'utf8') };
    },
    perm: (path) => statSync(join(root, path)).mode & 0o7777,
  };
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}


async function session(b: Backend, version: Dialect, msize = 8192): Promise<{ s: Session; conn: ServerConnection }> {
  const [x, y] = duplexPair();
  const conn = serve({ stream: y, handler: b.handler });
  const s = await Session.connect({ stream: x, msize, version, uname: 'glenda', nUname: 1000 });
  cleanups.push(async () => {
    await s.close();
    await conn.done;
  });
  return { s, conn };
}

describe.each([
  ['9P2000', memory],
  ['9P2000', local],
  ['9P2000.u', memory],
  ['9P2000.u', local],
] as const)('the p9p client over %s against %s', (dialect, make) => {
  it('creates, writes, reads, lists, stats, renames, truncates and removes', async () => {
    const b = make();
    const { s, conn } = await session(b, dialect);
    expect(s.dialect).toBe(dialect);
    expect(conn.dialect).toBe(dialect);

    await s.mkdir({ path: 'docs', mode: 0o750 });
    expect(b.look('docs')).toEqual({ kind: 'dir', names: [] });
    expect(b.perm('docs')).toBe(0o750);
    const big = new Uint8Array(30_000).map((_, i) => (i * 7) % 251);
    await s.writeFile({ path: 'docs/big.bin', data: big });
    await s.writeFile({ path: 'docs/a.txt', data: enc('hello, classic'), mode: 0o640 });
    expect(b.look('docs/a.txt')).toEqual({ kind: 'file', data: 'hello, classic' });
    expect(b.perm('docs/a.txt')).toBe(0o640);
    expect(Buffer.from(await s.readFile({ path: 'docs/big.bin' })).equals(Buffer.from(big))).toBe(true);

    // Directory reads are stat entries; "." and ".." are not listed.
    const list = await s.readdir({ path: 'docs' });
    expect(list.map((e) => e.name).sort()).toEqual(['a.txt', 'big.bin']);
    const top = await s.readdir({ path: '' });
    expect(top.map((e) => [e.name, e.type])).toEqual([['docs', 4]]);

    const st = await s.dirstat({ path: 'docs/a.txt' });
    expect(st.name).toBe('a.txt');
    expect(st.length).toBe(14n);
    expect(st.mode).toBe(0o640);
    expect(st.qid.type).toBe(0);
    const dst = await s.dirstat({ path: 'docs' });
    expect(dst.mode >>> 0).toBe((DMDIR | 0o750) >>> 0);
    expect(dst.qid.type).toBe(QTDIR);
    expect(dst.length).toBe(0n);
    expect((await s.dirstat({ path: '' })).name).toBe('/');
    if (dialect === '9P2000.u') {
      expect(st.extension).toBe('');
      expect(String(st.nUid)).toBe(st.uid);
      expect(String(st.nGid)).toBe(st.gid);
    } else {
      expect(st.extension).toBeUndefined();
    }

    // wstat: rename within the directory, truncate, chmod, mtime.
    await s.rename({ from: 'docs/a.txt', to: 'docs/b.txt' });
    expect(b.look('docs/a.txt')).toBeUndefined();
    expect(b.look('docs/b.txt')).toEqual({ kind: 'file', data: 'hello, classic' });
    await s.setattr({ path: 'docs/b.txt', size: 5, mode: 0o600, mtime: new Date(1_500_000_000_000) });
    expect(b.look('docs/b.txt')).toEqual({ kind: 'file', data: 'hello' });
    expect(b.perm('docs/b.txt')).toBe(0o600);
    const st2 = await s.dirstat({ path: 'docs/b.txt' });
    expect([st2.length, st2.mode, st2.mtime, st2.name]).toEqual([5n, 0o600, 1_500_000_000, 'b.txt']);
    // Across directories 9P2000 cannot rename.
    expect(await code(s.rename({ from: 'docs/b.txt', to: 'b.txt' }))).toBe('EXDEV');
    // A name that exists already is refused (stat(5)).
    expect(await code(s.wstat({ path: 'docs/b.txt', stat: { name: 'big.bin' } }))).toBe('EEXIST');
    expect(b.look('docs/big.bin')?.kind).toBe('file');

    if (dialect === '9P2000.u') {
      await s.symlink({ path: 'docs/link', target: '../outside/x' });
      expect(b.look('docs/link')).toEqual({ kind: 'symlink', target: '../outside/x' });
      expect(await s.readlink({ path: 'docs/link' })).toBe('../outside/x');
      const ls = await s.dirstat({ path: 'docs/link' });
      expect((ls.mode & DMSYMLINK) !== 0).toBe(true);
      expect(ls.extension).toBe('../outside/x');
      expect((await s.readdir({ path: 'docs' })).find((e) => e.name === 'link')?.type).toBe(10);
      await s.remove({ path: 'docs/link' });
    } else {
      expect(await code(s.symlink({ path: 'docs/link', target: 'x' }))).toBe('EOPNOTSUPP');
    }

    // Errors come back with their errno (.u) or a text the client maps (9P2000).
    expect(await code(s.readFile({ path: 'docs/missing' }))).toBe('ENOENT');
    expect(await code(s.remove({ path: 'docs' }))).toBe('ENOTEMPTY');
    await s.remove({ path: 'docs/b.txt' });
    await s.remove({ path: 'docs/big.bin' });
    await s.remove({ path: 'docs' });
    expect(b.look('docs')).toBeUndefined();
    expect(s.fidsInUse).toBe(1);
    expect(conn.fidCount).toBe(1);
  });
});

/** Any message without its tag (the raw client numbers them). */
type Untagged = { [K in Fcall['type']]: Omit<FcallOf<K>, 'tag'> }[Fcall['type']];

/** A raw client speaking `dialect`: frames in, decoded replies out. */
async function raw(handler: Handler<unknown>, dialect: Dialect, msize = 8192) {
  const [a, b] = duplexPair();
  const conn = serve({ stream: b, handler, msize });
  const got = new Map<number, Fcall>();
  let wake: (() => void) | undefined;
  let d: Dialect = '9P2000.L';
  const ch = new Channel({
    stream: a,
    maxSize: 1 << 20,
    onFrame: (f) => {
      const m = decode(f, d);
      got.set(m.tag, m);
      wake?.();
    },
  });
  cleanups.push(async () => {
    ch.close();
    await conn.done;
  });
  let tag = 1;
  const rpc = async (m: Fcall): Promise<Fcall> => {
    await ch.send(encode(m, d));
    for (;;) {
      const r = got.get(m.tag);
      if (r !== undefined) {
        got.delete(m.tag);
        return r;
      }
      await new Promise<void>((res) => (wake = res));
    }
  };
  const frames: Uint8Array[] = [];
  const send = async (m: Untagged): Promise<Fcall> => {
    const msg = { ...m, tag: tag++ } as Fcall;
    frames.push(encode(msg, d));
    return rpc(msg);
  };
  const v = await rpc({ type: 'Tversion', tag: NOTAG, msize, version: dialect });
  if (v.type === 'Rversion' && v.version !== 'unknown') d = v.version as Dialect;
  const at = await send({ type: 'Tattach', fid: 0, afid: NOFID, uname: 'glenda', aname: '', nUname: 1000 });
  expect(at.type).toBe('Rattach');
  return { conn, send, version: v };
}

function errOf(r: Fcall): { ename: string; errno?: number } {
  if (r.type !== 'Rerror') throw new Error(`expected Rerror, got ${r.type}`);
  return { ename: r.ename, errno: r.errno };
}

describe('version negotiation', () => {
  it.each([
    ['9P2000.u', '9P2000.u'],
    ['9P2000', '9P2000'],
    ['9P2000.L', '9P2000.L'],
    ['9P2000.x', '9P2000'],
    ['9P1', 'unknown'],
    ['', 'unknown'],
  ])('Tversion %j is answered %j', async (asked, answered) => {
    const [a, b] = duplexPair();
    const conn = serve({ stream: b, handler: new MemoryFs() });
    const replies: Fcall[] = [];
    const ch = new Channel({ stream: a, maxSize: 8192, onFrame: (f) => void replies.push(decode(f, '9P2000')) });
    await ch.send(encode({ type: 'Tversion', tag: NOTAG, msize: 8192, version: asked }, '9P2000'));
    while (replies.length === 0) await new Promise((r) => setTimeout(r, 1));
    expect(replies[0]).toMatchObject({ type: 'Rversion', version: answered });
    expect(conn.dialect).toBe(answered === 'unknown' ? undefined : answered);
    ch.close();
    await conn.done;
  });
});

describe.each(['9P2000', '9P2000.u'] as const)('%s edge cases (raw frames, MemoryFs)', (dialect) => {
  const ext = dialect === '9P2000.u';

  it('answers errors with Rerror: a strerror text, and errno[4] in .u (golden bytes)', async () => {
    const fs = new MemoryFs();
    const { send } = await raw(fs as Handler<unknown>, dialect);
    const r = await send({ type: 'Twalk', fid: 0, newfid: 1, wnames: ['nope'] });
    expect(errOf(r)).toEqual(ext ? { ename: 'No such file or directory', errno: 2 } : { ename: 'No such file or directory' });
    const bytes = encode(r, dialect);
    const text = enc('No such file or directory');
    const expected = new Uint8Array([
      ...[7 + 2 + text.length + (ext ? 4 : 0), 0, 0, 0], // size[4]
      107, //                                              type[1] Rerror
      2, 0, //                                             tag[2] (Tattach was 1)
      text.length, 0, //                                   ename[s]: len[2]
      ...text, //                                          ... "No such file or directory"
      ...(ext ? [2, 0, 0, 0] : []), //                     .u errno[4] = ENOENT
    ]);
    expect([...bytes]).toEqual([...expected]);
  });

  it('reads a directory in stat entries, resuming only where the last read ended', async () => {
    const fs = new MemoryFs();
    const names = Array.from({ length: 40 }, (_, i) => `file-${String(i).padStart(2, '0')}`);
    for (const n of names) fs.writeFile(`d/${n}`, n);
    fs.writeFile('d/sub/x', '');
    const { send } = await raw(fs as Handler<unknown>, dialect);
    expect((await send({ type: 'Twalk', fid: 0, newfid: 1, wnames: ['d'] })).type).toBe('Rwalk');
    expect(await send({ type: 'Topen', fid: 1, mode: OREAD })).toMatchObject({ type: 'Ropen', qid: { type: QTDIR } });
    const seen: Stat[] = [];
    let offset = 0n;
    let reads = 0;
    let firstLen = 0;
    for (;;) {
      // Room for two or three entries per read.
      const r = await send({ type: 'Tread', fid: 1, offset, count: 200 });
      if (r.type !== 'Rread') throw new Error(`got ${r.type}`);
      expect(r.data.length).toBeLessThanOrEqual(200);
      if (r.data.length === 0) break;
      if (reads === 0) firstLen = r.data.length;
      reads++;
      // Every reply holds whole entries.
      seen.push(...decodeStats(r.data, dialect));
      offset += BigInt(r.data.length);
    }
    expect(reads).toBeGreaterThan(10);
    expect(seen.map((st) => st.name).sort()).toEqual([...names, 'sub'].sort());
    const f07 = seen.find((st) => st.name === 'file-07');
    expect([f07?.length, f07?.mode, f07?.qid.type]).toEqual([7n, 0o644, 0]);
    expect(seen.find((st) => st.name === 'sub')?.mode).toBe((DMDIR | 0o755) >>> 0);
    // Past the end: still empty.
    expect(await send({ type: 'Tread', fid: 1, offset, count: 200 })).toMatchObject({ type: 'Rread', data: { length: 0 } });
    // Seeking anywhere but 0 or the end of the last read is refused.
    expect(errOf(await send({ type: 'Tread', fid: 1, offset: 3n, count: 200 })).ename).toBe('Invalid argument');
    // Back to 0 starts again, with the same first reply.
    const again = await send({ type: 'Tread', fid: 1, offset: 0n, count: 200 });
    expect(again.type === 'Rread' && again.data.length).toBe(firstLen);
    // A count too small for the next entry is an error; the entry is kept for a larger one.
    const tiny = await send({ type: 'Tread', fid: 1, offset: BigInt(firstLen), count: 10 });
    expect(errOf(tiny).ename).toBe('Invalid argument');
    const next = await send({ type: 'Tread', fid: 1, offset: BigInt(firstLen), count: 200 });
    expect(next.type === 'Rread' && decodeStats(next.data, dialect).length).toBeGreaterThan(0);
  });

  it('Tremove clunks the fid even when the remove fails', async () => {
    const fs = new MemoryFs();
    fs.writeFile('full/a', 'x');
    const { send, conn } = await raw(fs as Handler<unknown>, dialect);
    await send({ type: 'Twalk', fid: 0, newfid: 1, wnames: ['full'] });
    expect(conn.fidCount).toBe(2);
    expect(errOf(await send({ type: 'Tremove', fid: 1 }))).toMatchObject({ ename: 'Directory not empty' });
    expect(conn.fidCount).toBe(1);
    expect(errOf(await send({ type: 'Tclunk', fid: 1 })).ename).toBe('Bad file descriptor');
    expect(fs.lookup('full/a')?.kind).toBe('file');
  });

  it('opens with OTRUNC and ORCLOSE, creates with DMDIR, refuses what it cannot create', async () => {
    const fs = new MemoryFs();
    fs.writeFile('f', 'some bytes');
    fs.writeFile('tmp', 'scratch');
    const { send, conn } = await raw(fs as Handler<unknown>, dialect);
    await send({ type: 'Twalk', fid: 0, newfid: 1, wnames: ['f'] });
    expect((await send({ type: 'Topen', fid: 1, mode: OWRITE | OTRUNC })).type).toBe('Ropen');
    expect(fs.lookup('f')).toMatchObject({ kind: 'file', data: new Uint8Array(0) });
    // A walk from an open fid is refused (walk(5)).
    expect(errOf(await send({ type: 'Twalk', fid: 1, newfid: 2, wnames: [] })).ename).toBe('Bad file descriptor');
    await send({ type: 'Tclunk', fid: 1 });

    await send({ type: 'Twalk', fid: 0, newfid: 1, wnames: ['tmp'] });
    expect((await send({ type: 'Topen', fid: 1, mode: ORDWR | ORCLOSE })).type).toBe('Ropen');
    expect(fs.lookup('tmp')?.kind).toBe('file');
    expect((await send({ type: 'Tclunk', fid: 1 })).type).toBe('Rclunk');
    expect(fs.lookup('tmp')).toBeUndefined();

    // DMDIR: a directory, and the fid is it, opened for reading.
    await send({ type: 'Twalk', fid: 0, newfid: 1, wnames: [] });
    const mk = await send({ type: 'Tcreate', fid: 1, name: 'nd', perm: (DMDIR | 0o700) >>> 0, mode: OREAD, extension: '' });
    expect(mk).toMatchObject({ type: 'Rcreate', qid: { type: QTDIR } });
    expect(await send({ type: 'Tread', fid: 1, offset: 0n, count: 1000 })).toMatchObject({ type: 'Rread', data: { length: 0 } });
    const st = await send({ type: 'Tstat', fid: 1 });
    expect(st.type === 'Rstat' && [st.stat.name, st.stat.mode >>> 0]).toEqual(['nd', (DMDIR | 0o700) >>> 0]);
    await send({ type: 'Tclunk', fid: 1 });
    // A plain create of a name that exists is EEXIST (create(5)).
    await send({ type: 'Twalk', fid: 0, newfid: 1, wnames: [] });
    expect(errOf(await send({ type: 'Tcreate', fid: 1, name: 'f', perm: 0o644, mode: OWRITE, extension: '' })).ename).toBe('File exists');
    expect(errOf(await send({ type: 'Tcreate', fid: 1, name: 'd2', perm: (DMDIR | 0o755) >>> 0, mode: OWRITE, extension: '' })).ename).toBe(
      'Is a directory',
    );
    expect(errOf(await send({ type: 'Tcreate', fid: 1, name: 'dev', perm: (DMDEVICE | 0o644) >>> 0, mode: OREAD, extension: 'c 1 3' })).ename).toBe(
      'Operation not permitted',
    );
    expect(errOf(await send({ type: 'Tcreate', fid: 1, name: '..', perm: 0o644, mode: OREAD, extension: '' })).ename).toBe('File exists');
    if (!ext) {
      // No symlinks without the .u extension.
      expect(errOf(await send({ type: 'Tcreate', fid: 1, name: 'l', perm: (DMSYMLINK | 0o777) >>> 0, mode: OREAD })).ename).toBe(
        'Operation not permitted',
      );
    }
    expect(fs.lookup('dev')).toBeUndefined();
    expect(fs.lookup('d2')).toBeUndefined();
    // The fid is still the unopened directory: a regular create works.
    const cr = await send({ type: 'Tcreate', fid: 1, name: 'new', perm: 0o600, mode: ORDWR, extension: '' });
    expect(cr.type).toBe('Rcreate');
    expect((await send({ type: 'Twrite', fid: 1, offset: 0n, data: enc('abc') })).type).toBe('Rwrite');
    const rd = await send({ type: 'Tread', fid: 1, offset: 1n, count: 10 });
    expect(rd.type === 'Rread' && dec(rd.data)).toBe('bc');
    await send({ type: 'Tclunk', fid: 1 });
    expect(conn.fidCount).toBe(1);
  });

  it('Twstat: all "don\'t touch" changes nothing; type, DMDIR and existing names are refused', async () => {
    const fs = new MemoryFs({ now: () => 1_000_000 });
    fs.writeFile('a', 'aaaa');
    fs.writeFile('b', 'bb');
    const { send } = await raw(fs as Handler<unknown>, dialect);
    await send({ type: 'Twalk', fid: 0, newfid: 1, wnames: ['a'] });
    const before = await send({ type: 'Tstat', fid: 1 });
    expect((await send({ type: 'Twstat', fid: 1, stat: dontTouchStat() })).type).toBe('Rwstat');
    expect(await send({ type: 'Tstat', fid: 1 })).toEqual({ ...before, tag: expect.any(Number) as number });
    const w = (stat: Partial<Stat>): Promise<Fcall> => send({ type: 'Twstat', fid: 1, stat: { ...dontTouchStat(), ...stat } });
    expect(errOf(await w({ mode: (DMDIR | 0o755) >>> 0 })).ename).toBe('Operation not permitted');
    expect(errOf(await w({ name: 'b' })).ename).toBe('File exists');
    expect(errOf(await w({ name: '../x' })).ename).toBe('Invalid argument');
    expect(errOf(await w({ uid: 'glenda' })).ename).toBe('Operation not permitted');
    expect(fs.lookup('a')).toMatchObject({ kind: 'file', data: enc('aaaa') });
    // Sending back what Tstat gave (as Plan 9's dirwstat may) with one change applies that change.
    if (before.type !== 'Rstat') throw new Error('no stat');
    expect((await w({ ...before.stat, name: 'c', length: 1n })).type).toBe('Rwstat');
    expect(fs.lookup('a')).toBeUndefined();
    expect(fs.lookup('c')).toMatchObject({ kind: 'file', data: enc('a') });
    const after = await send({ type: 'Tstat', fid: 1 });
    expect(after.type === 'Rstat' && after.stat.name).toBe('c');
    // The root cannot be renamed.
    expect(errOf(await send({ type: 'Twstat', fid: 0, stat: { ...dontTouchStat(), name: 'x' } })).ename).toBe('Device or resource busy');
    if (ext) {
      // .u owners by number.
      expect((await w({ nUid: 42, nGid: 43 })).type).toBe('Rwstat');
      const st = await send({ type: 'Tstat', fid: 1 });
      expect(st.type === 'Rstat' && [st.stat.nUid, st.stat.nGid, st.stat.uid]).toEqual([42, 43, '42']);
      expect((await w({ nUid: NONUNAME })).type).toBe('Rwstat');
    }
  });
});

describe('LocalFs over 9P2000.u stays confined', () => {
  it('stores symlinks to anywhere but never follows them', async () => {
    const b = local();
    const root = (b.handler as unknown as LocalFs).root;
    const outside = join(root, '..', 'secret');
    writeFileSync(outside, 'outside');
    symlinkSync('/etc', join(root, 'etc-link'));
    const { s } = await session(b, '9P2000.u');
    await s.symlink({ path: 'up', target: '../secret' });
    expect(await code(s.readFile({ path: 'up' }))).toMatch(/ELOOP|EISDIR|EINVAL/);
    expect(await code(s.readFile({ path: 'etc-link/passwd' }))).toMatch(/ENOENT|ENOTDIR|ELOOP/);
    expect(await code(s.readdir({ path: 'etc-link' }))).toMatch(/ELOOP|ENOTDIR/);
    // A rename out of the directory through a name is refused.
    await s.writeFile({ path: 'f', data: enc('x') });
    expect(await code(s.wstat({ path: 'f', stat: { name: '../escaped' } }))).toBe('EINVAL');
    expect(existsSync(join(root, '..', 'escaped'))).toBe(false);
    // wstat truncate through a symlink does not touch its target.
    expect(await code(s.wstat({ path: 'up', stat: { length: 0n } }))).not.toBe('ok');
    expect(readFileSync(outside, 'utf8')).toBe('outside');
  });
});

describe('9P2000.u extras', () => {
  it('DMLINK makes a hard link to the fid named in the extension (LocalFs); MemoryFs has no link', async () => {
    const b = local();
    const root = (b.handler as unknown as LocalFs).root;
    writeFileSync(join(root, 'orig'), 'same inode');
    const { send } = await raw(b.handler, '9P2000.u');
    await send({ type: 'Twalk', fid: 0, newfid: 1, wnames: ['orig'] });
    await send({ type: 'Twalk', fid: 0, newfid: 2, wnames: [] });
    const r = await send({ type: 'Tcreate', fid: 2, name: 'hard', perm: (DMLINK | 0o644) >>> 0, mode: OREAD, extension: '1\n' });
    expect(r.type).toBe('Rcreate');
    expect(statSync(join(root, 'hard')).ino).toBe(statSync(join(root, 'orig')).ino);
    // A fid that is not in use is refused.
    await send({ type: 'Twalk', fid: 0, newfid: 3, wnames: [] });
    expect(errOf(await send({ type: 'Tcreate', fid: 3, name: 'h2', perm: (DMLINK | 0o644) >>> 0, mode: OREAD, extension: '77\n' })).ename).toBe(
      'Bad file descriptor',
    );
    const m = await raw(new MemoryFs() as Handler<unknown>, '9P2000.u');
    await m.send({ type: 'Twalk', fid: 0, newfid: 2, wnames: [] });
    expect(errOf(await m.send({ type: 'Tcreate', fid: 2, name: 'x', perm: (DMLINK | 0o644) >>> 0, mode: OREAD, extension: '0' }))).toEqual({
      ename: 'Operation not supported',
      errno: 95,
    });
  });

  it('a file opened ORCLOSE is removed when the connection drops', async () => {
    const fs = new MemoryFs();
    fs.writeFile('scratch', 'temporary');
    const [a, c] = duplexPair();
    const conn = serve({ stream: c, handler: fs });
    const s = await Session.connect({ stream: a, msize: 8192, version: '9P2000.u' });
    const f = await s.walk({ path: 'scratch' });
    expect((await s.rpc({ type: 'Topen', fid: f.fid, mode: OREAD | ORCLOSE })).type).toBe('Ropen');
    expect(fs.lookup('scratch')?.kind).toBe('file');
    a.destroy();
    await conn.done;
    expect(fs.lookup('scratch')).toBeUndefined();
  });
});
