// LocalFs served by serve() and driven by the client over an in-memory pair;
// every result is also checked on the host directory itself.
import { chownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statfsSync, statSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RemoteError } from '../channel/errors.js';
import { duplexPair } from '../channel/pair.js';
import { Session } from '../client/session.js';
import { decodeDirents } from '../codec/dirent.js';
import { P9_DOTL_AT_REMOVEDIR, P9_DOTL_CREATE, P9_DOTL_EXCL, P9_DOTL_RDONLY, P9_DOTL_RDWR, P9_DOTL_WRONLY, QTDIR, QTFILE, QTSYMLINK } from '../codec/constants.js';
import { serve } from '../server/serve.js';
import type { ServerConnection } from '../server/serve.js';
import { LocalFs } from './local.js';
import type { LocalFsOptions } from './local.js';

let base = '';
let root = '';
const live: { s: Session; conn: ServerConnection; fs: LocalFs }[] = [];

async function connect(opts: Omit<LocalFsOptions, 'root'> = {}, msize = 65536): Promise<{ s: Session; conn: ServerConnection; fs: LocalFs }> {
  const fs = new LocalFs({ root, ...opts });
  const [a, b] = duplexPair();
  const conn = serve({ stream: b, handler: fs });
  const s = await Session.connect({ stream: a, msize, uname: 'root', nUname: 0 });
  const c = { s, conn, fs };
  live.push(c);
  return c;
}

const code = (p: Promise<unknown>): Promise<string> => p.then(
  () => 'ok',
  (e: unknown) => (e instanceof RemoteError ? e.code : String(e)),
);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Fid numbers far above the session's own (it lends from 0 up). */
let nextFid = 100_000;

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'p9p-local-'));
  root = join(base, 'root');
  mkdirSync(root);
});

afterEach(async () => {
  for (const c of live.splice(0)) {
    await c.s.close();
    await c.conn.done;
    c.fs.close();
  }
  rmSync(base, { recursive: true, force: true });
});

describe('LocalFs', () => {
  it('writes, reads, lists and stats files that are on the host', async () => {
    const { s } = await connect();
    const data = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);
    await s.writeFile({ path: 'big.bin', data, mode: 0o640 });
    expect(readFileSync(join(root, 'big.bin')).equals(Buffer.from(data))).toBe(true);
    expect(statSync(join(root, 'big.bin')).mode & 0o777).toBe(0o640);
    expect(Buffer.from(await s.readFile({ path: 'big.bin' })).equals(Buffer.from(data))).toBe(true);

    mkdirSync(join(root, 'sub'));
    writeFileSync(join(root, 'sub', 'host.txt'), 'from the host');
    expect(new TextDecoder().decode(await s.readFile({ path: 'sub/host.txt' }))).toBe('from the host');
    const names = (await s.readdir({ path: '' })).map((d) => [d.name, d.type]);
    expect(names.sort()).toEqual([['.', 4], ['..', 4], ['big.bin', 8], ['sub', 4]]);

    const a = await s.stat({ path: 'big.bin' });
    const h = lstatSync(join(root, 'big.bin'), { bigint: true });
    expect(a.qid).toEqual({ type: QTFILE, version: 0, path: h.ino });
    expect(a.size).toBe(300_000n);
    expect(a.mode).toBe(Number(h.mode));
    expect(a.nlink).toBe(1n);
    expect(a.blocks).toBe(h.blocks);
    expect(a.blksize).toBe(h.blksize);
    expect(a.mtimeSec * 1_000_000_000n + a.mtimeNsec).toBe(h.mtimeNs);
    expect(a.ctimeSec * 1_000_000_000n + a.ctimeNsec).toBe(h.ctimeNs);
    expect(a.uid).toBe(Number(h.uid));
    expect((await s.stat({ path: 'sub' })).qid.type).toBe(QTDIR);
    expect((await s.stat({ path: '' })).qid.path).toBe(statSync(root, { bigint: true }).ino);
    expect(await code(s.readFile({ path: 'nope' }))).toBe('ENOENT');
    expect(await code(s.readFile({ path: 'sub' }))).toBe('EISDIR');
  });

  it('makes and removes directories, symlinks and hard links, and renames', async () => {
    const { s } = await connect();
    await s.mkdir({ path: 'd', mode: 0o750 });
    expect(statSync(join(root, 'd')).mode & 0o777).toBe(0o750);
    await s.writeFile({ path: 'd/f', data: enc('x') });
    expect((await s.symlink({ path: 'l', target: 'd/f' })).type).toBe(QTSYMLINK);
    expect(await s.readlink({ path: 'l' })).toBe('d/f');
    expect((await s.stat({ path: 'l' })).qid.type).toBe(QTSYMLINK);

    const dir = await s.walk({ path: '' });
    const f = await s.walk({ path: 'd/f' });
    await s.rpc({ type: 'Tlink', dfid: dir.fid, fid: f.fid, name: 'hard' });
    expect(statSync(join(root, 'hard')).ino).toBe(statSync(join(root, 'd/f')).ino);
    expect((await s.stat({ path: 'hard' })).nlink).toBe(2n);

    await s.rename({ from: 'd/f', to: 'moved' });
    expect(readFileSync(join(root, 'moved'), 'utf8')).toBe('x');
    // Trename moves the fid's file, and the fid follows it.
    const d = await s.walk({ path: 'd' });
    await s.rpc({ type: 'Trename', fid: f.fid, dfid: d.fid, name: 'back' }).catch(() => {});
    const m = await s.walk({ path: 'moved' });
    await s.rpc({ type: 'Trename', fid: m.fid, dfid: d.fid, name: 'back' });
    expect(readdirSync(join(root, 'd'))).toEqual(['back']);
    expect((await s.rpc({ type: 'Tgetattr', fid: m.fid, requestMask: 0x7ffn })).size).toBe(1n);

    expect(await code(s.rpc({ type: 'Tunlinkat', dirfd: dir.fid, name: 'd', flags: 0 }))).toBe('EISDIR');
    expect(await code(s.rpc({ type: 'Tunlinkat', dirfd: dir.fid, name: 'd', flags: P9_DOTL_AT_REMOVEDIR }))).toBe('ENOTEMPTY');
    await s.rpc({ type: 'Tunlinkat', dirfd: d.fid, name: 'back', flags: 0 });
    await s.rpc({ type: 'Tunlinkat', dirfd: dir.fid, name: 'd', flags: P9_DOTL_AT_REMOVEDIR });
    await s.remove({ path: 'l' });
    await s.remove({ path: 'hard' });
    expect(await code(s.remove({ path: '' }))).toBe('EBUSY');
    expect(readdirSync(root)).toEqual([]);
    for (const x of [dir, f, d, m]) await x.clunk();
  });

  it('sets mode, size, owner and times, SET and NOW', async () => {
    const { s } = await connect();
    writeFileSync(join(root, 'f'), 'hello world');
    await s.setattr({ path: 'f', mode: 0o600, size: 5 });
    expect(statSync(join(root, 'f')).mode & 0o7777).toBe(0o600);
    expect(readFileSync(join(root, 'f'), 'utf8')).toBe('hello');
    await s.setattr({ path: 'f', size: 8 });
    expect(readFileSync(join(root, 'f'))).toEqual(Buffer.from('hello\0\0\0'));
    await s.setattr({ path: 'f', mtime: new Date(1_000_000_000_123), atime: new Date(2_000_000_000_000) });
    let st = statSync(join(root, 'f'));
    expect(st.mtimeMs).toBe(1_000_000_000_123);
    expect(st.atimeMs).toBe(2_000_000_000_000);
    // Only mtime, to now: atime is kept.
    const before = Date.now();
    await s.setattr({ path: 'f', mtime: 'now' });
    st = statSync(join(root, 'f'));
    expect(st.atimeMs).toBe(2_000_000_000_000);
    expect(st.mtimeMs).toBeGreaterThanOrEqual(before - 1000);
    const a = await s.stat({ path: 'f' });
    expect(Number(a.atimeSec)).toBe(2_000_000_000);
    // As root, chown works; a symlink is chowned itself, never its target.
    await s.setattr({ path: 'f', uid: 1234, gid: 4321 });
    expect([statSync(join(root, 'f')).uid, statSync(join(root, 'f')).gid]).toEqual([1234, 4321]);
    symlinkSync('f', join(root, 'l'));
    await s.setattr({ path: 'l', uid: 7, gid: 8 });
    expect(lstatSync(join(root, 'l')).uid).toBe(7);
    expect(statSync(join(root, 'f')).uid).toBe(1234);
    expect(await code(s.setattr({ path: 'l', mode: 0o777 }))).toBe('EOPNOTSUPP');
    mkdirSync(join(root, 'dir'));
    expect(await code(s.setattr({ path: 'dir', size: 0 }))).toBe('EISDIR');
    await s.setattr({ path: 'dir', mode: 0o700 });
    expect(statSync(join(root, 'dir')).mode & 0o777).toBe(0o700);
  });

  it('reports mapped owners and refuses other chowns', async () => {
    const { s } = await connect({ uid: 1000, gid: 100 });
    writeFileSync(join(root, 'f'), '');
    const a = await s.stat({ path: 'f' });
    expect([a.uid, a.gid]).toEqual([1000, 100]);
    await s.setattr({ path: 'f', uid: 1000, gid: 100 });
    expect(statSync(join(root, 'f')).uid).toBe(0);
    expect(await code(s.setattr({ path: 'f', uid: 0 }))).toBe('EPERM');
  });

  it('maps owners through uid and gid ranges both ways, as a user namespace does', async () => {
    const { s } = await connect({ uidMap: [{ guest: 0, host: 100_000, count: 65_536 }, { guest: 70_000, host: 0 }], gidMap: [{ guest: 1000, host: 5000, count: 10 }] });
    const f = join(root, 'f');
    writeFileSync(f, '');
    chownSync(f, 101_000, 5003);
    let a = await s.stat({ path: 'f' });
    expect([a.uid, a.gid]).toEqual([1000, 1003]);
    // Host root is guest 70000 here; a host id no range covers shows as 65534.
    chownSync(f, 0, 7);
    a = await s.stat({ path: 'f' });
    expect([a.uid, a.gid]).toEqual([70_000, 65_534]);
    // A chown from the guest lands on the mapped host ids.
    await s.setattr({ path: 'f', uid: 2000, gid: 1009 });
    expect([statSync(f).uid, statSync(f).gid]).toEqual([102_000, 5009]);
    // An id no range covers: EINVAL, nothing changed.
    expect(await code(s.setattr({ path: 'f', uid: 65_536 }))).toBe('EINVAL');
    expect(await code(s.setattr({ path: 'f', gid: 1010 }))).toBe('EINVAL');
    expect([statSync(f).uid, statSync(f).gid]).toEqual([102_000, 5009]);
    // Bad maps are refused when the handler is made (no fd left open).
    const bad = [[], [{ guest: 0, host: 0, count: 0 }], [{ guest: 0, host: 10, count: 5 }, { guest: 3, host: 100 }], [{ guest: 0, host: 10, count: 5 }, { guest: 10, host: 12 }], [{ guest: -1, host: 0 }], [{ guest: 0xfffffffe, host: 0, count: 2 }], [{ guest: 1.5, host: 0 }]];
    for (const m of bad) expect(() => new LocalFs({ root, uidMap: m }), JSON.stringify(m)).toThrow(RangeError);
    expect(() => new LocalFs({ root, uid: 1, uidMap: [{ guest: 0, host: 0 }] })).toThrow(/exclude/);
  });

  it('lists large directories with stable cookies, page by page', async () => {
    const N = 1500;
    for (let i = 0; i < N; i++) writeFileSync(join(root, `file-${String(i).padStart(5, '0')}-${'x'.repeat(i % 40)}`), '');
    const { s } = await connect({}, 4096);
    const file = await s.open({ path: '', flags: P9_DOTL_RDONLY });
    const seen: string[] = [];
    let offset = 0n;
    let pages = 0;
    for (;;) {
      const r = await s.rpc({ type: 'Treaddir', fid: file.fid.fid, offset, count: 4096 - 11 });
      const ents = decodeDirents(r.data);
      if (ents.length === 0) break;
      pages++;
      // Files made while listing do not disturb the cookies already handed out.
      if (pages === 2) writeFileSync(join(root, 'aaa-late'), '');
      seen.push(...ents.map((e) => e.name));
      offset = ents[ents.length - 1]!.offset;
    }
    expect(pages).toBeGreaterThan(10);
    expect(seen.length).toBe(N + 2);
    expect(new Set(seen).size).toBe(N + 2);
    // Re-reading from a cookie in the middle gives the same continuation.
    const again = decodeDirents((await s.rpc({ type: 'Treaddir', fid: file.fid.fid, offset: 100n, count: 1000 })).data);
    expect(again[0]?.name).toBe(seen[100]);
    const ent = again[0]!;
    expect(ent.qid.path).toBe(lstatSync(join(root, ent.name), { bigint: true }).ino);
    await file.close();
    // A new listing from cookie 0 sees the late file.
    expect((await s.readdir({ path: '' })).length).toBe(N + 3);
  });

  it('answers statfs from the host filesystem', async () => {
    const { s } = await connect();
    const st = await s.statfs();
    const h = statfsSync(root);
    expect(st.bsize).toBe(h.bsize);
    expect(st.blocks).toBe(BigInt(h.blocks));
    expect(st.fsType).toBe(h.type);
    expect(st.namelen).toBe(255);
  });

  it('makes regular files and FIFOs with mknod, nothing else', async () => {
    const { s } = await connect();
    const dir = await s.walk({ path: '' });
    await s.rpc({ type: 'Tmknod', dfid: dir.fid, name: 'reg', mode: 0o100640, major: 0, minor: 0, gid: 0 });
    expect(statSync(join(root, 'reg')).isFile()).toBe(true);
    expect(statSync(join(root, 'reg')).mode & 0o777).toBe(0o640);
    await s.rpc({ type: 'Tmknod', dfid: dir.fid, name: 'fifo', mode: 0o010600, major: 0, minor: 0, gid: 0 });
    expect(lstatSync(join(root, 'fifo')).isFIFO()).toBe(true);
    expect(lstatSync(join(root, 'fifo')).mode & 0o777).toBe(0o600);
    // Opening a FIFO with no writer must not hang the server.
    const fifo = await s.open({ path: 'fifo', flags: P9_DOTL_RDONLY });
    await fifo.close();
    expect(await code(s.rpc({ type: 'Tmknod', dfid: dir.fid, name: 'null', mode: 0o020666, major: 1, minor: 3, gid: 0 }))).toBe('EPERM');
    expect(await code(s.rpc({ type: 'Tmknod', dfid: dir.fid, name: 'blk', mode: 0o060666, major: 8, minor: 0, gid: 0 }))).toBe('EPERM');
    expect(existsSync(join(root, 'null'))).toBe(false);
    await dir.clunk();
  });

  it('creates with the asked mode, honours O_EXCL and open modes, fsyncs', async () => {
    const { s } = await connect();
    const f = await s.create({ path: 'new', mode: 0o666, flags: P9_DOTL_RDWR });
    expect(statSync(join(root, 'new')).mode & 0o777).toBe(0o666);
    expect(await f.write({ offset: 10, data: enc('abc') })).toBe(3);
    expect(new TextDecoder().decode(await f.read({ offset: 10, count: 100 }))).toBe('abc');
    await s.rpc({ type: 'Tfsync', fid: f.fid.fid, datasync: 0 });
    await f.close();
    expect(readFileSync(join(root, 'new')).length).toBe(13);
    expect(await code(s.create({ path: 'new', flags: P9_DOTL_WRONLY | P9_DOTL_EXCL | P9_DOTL_CREATE }))).toBe('EEXIST');
    const r = await s.open({ path: 'new', flags: P9_DOTL_RDONLY });
    expect(await code(r.write({ offset: 0, data: enc('no') }))).toBe('EBADF');
    await r.close();
    const w = await s.open({ path: 'new', flags: P9_DOTL_WRONLY });
    expect(await code(w.read({ offset: 0, count: 1 }))).toBe('EBADF');
    await w.close();
    expect(await code(s.open({ path: '', flags: P9_DOTL_WRONLY }))).toBe('EISDIR');
  });

  it('walks . and .., stays at the root, and partial walks leave no fid', async () => {
    const { s, conn } = await connect();
    mkdirSync(join(root, 'a/b'), { recursive: true });
    const rootIno = statSync(root, { bigint: true }).ino;
    const fid = nextFid++;
    const r = await s.rpc({ type: 'Twalk', fid: s.root.fid, newfid: fid, wnames: ['a', 'b', '..', '..', '..', '.', 'a'] });
    expect(r.wqids.map((q) => q.path)).toEqual([
      statSync(join(root, 'a'), { bigint: true }).ino,
      statSync(join(root, 'a/b'), { bigint: true }).ino,
      statSync(join(root, 'a'), { bigint: true }).ino,
      rootIno,
      rootIno,
      rootIno,
      statSync(join(root, 'a'), { bigint: true }).ino,
    ]);
    const before = conn.fidCount;
    const p = await s.rpc({ type: 'Twalk', fid: s.root.fid, newfid: nextFid++, wnames: ['a', 'zz', 'b'] });
    expect(p.wqids.length).toBe(1);
    expect(conn.fidCount).toBe(before);
    await s.rpc({ type: 'Tclunk', fid });
  });

  it('closes fds on clunk and bounds them', async () => {
    const { s, fs } = await connect({ maxOpenFiles: 3 });
    writeFileSync(join(root, 'f'), 'x');
    const files = [];
    for (let i = 0; i < 3; i++) files.push(await s.open({ path: 'f' }));
    expect(fs.openFiles).toBe(3);
    expect(await code(s.open({ path: 'f' }))).toBe('EMFILE');
    for (const f of files) await f.close();
    expect(fs.openFiles).toBe(0);
    const f = await s.open({ path: 'f' });
    await s.close();
    await live[0]!.conn.done;
    void f;
    // The connection's end clunked the last fid too.
    expect(fs.openFiles).toBe(0);
  });

  it('answers walk, getattr, lopen, clunk and small reads synchronously, errors thrown at once', () => {
    mkdirSync(join(root, 'd'));
    writeFileSync(join(root, 'd', 'f'), 'hello');
    const fs = new LocalFs({ root });
    try {
      const top = fs.attach({ aname: '' }).node;
      const w = fs.walk(top, ['d', 'f']);
      expect(w).not.toBeInstanceOf(Promise);
      expect(w.qids.map((q) => q.type)).toEqual([QTDIR, QTFILE]);
      const attr = fs.getattr(w.node!);
      expect(attr).not.toBeInstanceOf(Promise);
      expect(attr.size).toBe(5n);
      const o = fs.lopen(w.node!, P9_DOTL_RDONLY);
      const buf = new Uint8Array(16);
      expect(fs.readInto(o.node, 0n, buf)).toBe(5);
      expect(fs.openFiles).toBe(1);
      fs.clunk(o.node);
      expect(fs.openFiles).toBe(0);
      // A failure is a throw, not a rejected promise; a partial walk returns the qids walked.
      expect(() => fs.walk(top, ['missing'])).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      expect(fs.walk(top, ['d', 'missing'])).toEqual({ qids: [expect.objectContaining({ type: QTDIR })] });
      fs.clunk(fs.lopen(w.node!, P9_DOTL_RDWR).node);
      expect(fs.openFiles).toBe(0);
    } finally {
      fs.close();
    }
  });

  it('refuses a root that is not a directory and attach names other than the root', async () => {
    writeFileSync(join(base, 'file'), '');
    expect(() => new LocalFs({ root: join(base, 'file') })).toThrow(/ENOTDIR/);
    const fs = new LocalFs({ root });
    expect(() => fs.attach({ aname: '/etc' })).toThrow(/ENOENT/);
    expect(fs.attach({ aname: root }).qid.type).toBe(QTDIR);
    fs.close();
  });

  it('answers many concurrent failing requests without tripping on a reused tag', async () => {
    // Regression: the server used to hold a tag until the stream called back
    // after writing its reply; a client that read the reply and reused the tag
    // first had its connection closed ("tag reused while in flight").
    const { s, conn } = await connect({ readOnly: true });
    writeFileSync(join(root, 'a.txt'), 'x');
    for (let round = 0; round < 20; round++) {
      const a = await s.walk({ path: 'a.txt' });
      const got = await Promise.all([
        code(s.open({ path: 'a.txt', flags: P9_DOTL_WRONLY })),
        code(s.rpc({ type: 'Tlink', dfid: s.root.fid, fid: a.fid, name: 'n' })),
        code(s.rpc({ type: 'Trename', fid: a.fid, dfid: s.root.fid, name: 'n' })),
        code(s.setattr({ path: 'a.txt', mtime: new Date(0) })),
        code(s.mkdir({ path: 'd' })),
        code(s.stat({ path: 'a.txt' })),
      ]);
      expect(got).toEqual(['EROFS', 'EROFS', 'EROFS', 'EROFS', 'EROFS', 'ok']);
      await a.clunk();
    }
    expect(conn.inFlight).toBe(0);
  });
});
