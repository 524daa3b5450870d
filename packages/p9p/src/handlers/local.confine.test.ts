// Confinement of LocalFs: escape attempts through '..', symlinks (made on the
// host or by the guest), hostile names and on-disk swaps between walk and
// open. Each is refused, and after each test the tree outside the root is
// checked byte for byte, mode and mtime included: nothing read out, nothing
// changed.
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RemoteError } from '../channel/errors.js';
import { duplexPair } from '../channel/pair.js';
import { Session } from '../client/session.js';
import { P9_DOTL_AT_REMOVEDIR, P9_DOTL_RDONLY, P9_DOTL_RDWR, P9_DOTL_TRUNC, P9_DOTL_WRONLY, P9_SETATTR_MODE, P9_SETATTR_SIZE, QTDIR } from '../codec/constants.js';
import { serve } from '../server/serve.js';
import type { ServerConnection } from '../server/serve.js';
import { LocalFs } from './local.js';
import type { LocalFsOptions } from './local.js';

const SECRET = 'TOP SECRET: must never cross the root';
let base = '';
let root = '';
let outside = '';
let fingerprint = '';
const live: { s: Session; conn: ServerConnection; fs: LocalFs }[] = [];

/** Names, types, modes, sizes, mtimes, link targets and contents of everything under `dir`. */
function snapshot(dir: string): string {
  const h = createHash('sha256');
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p, { bigint: true });
      h.update(`${p} ${st.mode} ${st.size} ${st.mtimeNs} ${st.nlink} ${st.uid}\n`);
      if (st.isSymbolicLink()) h.update(readlinkSync(p));
      else if (st.isDirectory()) walk(p);
      else if (st.isFile()) h.update(readFileSync(p));
    }
  };
  walk(dir);
  return h.digest('hex');
}

async function connect(opts: Omit<LocalFsOptions, 'root'> = {}): Promise<Session> {
  const fs = new LocalFs({ root, ...opts });
  const [a, b] = duplexPair();
  const conn = serve({ stream: b, handler: fs });
  const s = await Session.connect({ stream: a, msize: 65536, uname: 'root', nUname: 0 });
  live.push({ s, conn, fs });
  return s;
}

/** The error code a request ends with ('ok' if it succeeds). */
const code = (p: Promise<unknown>): Promise<string> => p.then(
  () => 'ok',
  (e: unknown) => (e instanceof RemoteError ? e.code : String(e)),
);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
let nextFid = 200_000;
/** What the kernel says when a path step meets a symlink under O_NOFOLLOW / O_DIRECTORY. */
const REFUSED = /^(ELOOP|ENOTDIR)$/;

/** Raw Twalk to a fresh fid number; resolves with the qids walked. */
async function twalk(s: Session, from: number, wnames: string[]): Promise<{ fid: number; n: number }> {
  const fid = nextFid++;
  const r = await s.rpc({ type: 'Twalk', fid: from, newfid: fid, wnames });
  return { fid, n: r.wqids.length };
}

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'p9p-confine-'));
  root = join(base, 'root');
  outside = join(base, 'outside');
  mkdirSync(join(root, 'sub', 'deeper'), { recursive: true });
  mkdirSync(join(outside, 'dir'), { recursive: true });
  writeFileSync(join(outside, 'secret.txt'), SECRET, { mode: 0o644 });
  writeFileSync(join(outside, 'dir', 'inner.txt'), SECRET);
  writeFileSync(join(root, 'a.txt'), 'inside');
  // Links a host user (or an earlier guest) left in the export.
  symlinkSync('/etc', join(root, 'etc-link'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'abs'));
  symlinkSync('../outside', join(root, 'rel'));
  symlinkSync('../../../outside', join(root, 'sub', 'deeper', 'up'));
  symlinkSync('loop2', join(root, 'loop1'));
  symlinkSync('loop1', join(root, 'loop2'));
  symlinkSync(join(outside, 'created.txt'), join(root, 'dangling'));
  fingerprint = snapshot(outside);
});

afterEach(async () => {
  for (const c of live.splice(0)) {
    await c.s.close();
    await c.conn.done;
    c.fs.close();
  }
  // The tree outside the root is exactly as it was.
  expect(snapshot(outside)).toBe(fingerprint);
  expect(existsSync(join(outside, 'created.txt'))).toBe(false);
  rmSync(base, { recursive: true, force: true });
});

describe('LocalFs confinement', () => {
  it('1. ".." from the root stays at the root', async () => {
    const s = await connect();
    const w = await s.rpc({ type: 'Twalk', fid: s.root.fid, newfid: nextFid, wnames: Array(16).fill('..') });
    expect(w.wqids.every((q) => q.path === s.rootQid.path)).toBe(true);
    await s.rpc({ type: 'Tclunk', fid: nextFid++ });
    expect(await code(s.readFile({ path: '../outside/secret.txt' }))).toBe('ENOENT');
    expect(await code(s.readdir({ path: '../../..' }))).toBe('ok');
    expect((await s.readdir({ path: '..' })).map((d) => d.name)).toContain('a.txt');
  });

  it('2. ".." from a subdirectory cannot climb past the root', async () => {
    const s = await connect();
    const r = await twalk(s, s.root.fid, ['sub', 'deeper', '..', '..', '..', '..', 'outside', 'secret.txt']);
    expect(r.n).toBe(6);
    expect(await code(s.readFile({ path: 'sub/deeper/../../../outside/secret.txt' }))).toBe('ENOENT');
  });

  it('3. a host symlink to /etc is not walked through', async () => {
    const s = await connect();
    const r = await twalk(s, s.root.fid, ['etc-link', 'passwd']);
    expect(r.n).toBe(1);
    expect(await code(s.readFile({ path: 'etc-link/passwd' }))).toBe('ENOENT');
    expect(await code(s.readdir({ path: 'etc-link' }))).toBe('ELOOP');
    expect(await code(s.stat({ path: 'etc-link/hostname' }))).toBe('ENOENT');
  });

  it('4. an absolute symlink to a file outside is not opened, read or written', async () => {
    const s = await connect();
    expect(await code(s.readFile({ path: 'abs' }))).toBe('ELOOP');
    expect(await code(s.open({ path: 'abs', flags: P9_DOTL_RDWR }))).toBe('ELOOP');
    expect(await code(s.writeFile({ path: 'abs', data: enc('pwned') }))).toBe('ELOOP');
    // stat describes the link itself, not the target.
    const a = await s.stat({ path: 'abs' });
    expect(a.size).toBe(BigInt(join(outside, 'secret.txt').length));
  });

  it('5. relative symlinks (../outside, ../../../outside) are not walked through', async () => {
    const s = await connect();
    expect((await twalk(s, s.root.fid, ['rel', 'secret.txt'])).n).toBe(1);
    expect((await twalk(s, s.root.fid, ['sub', 'deeper', 'up', 'secret.txt'])).n).toBe(3);
    expect(await code(s.readFile({ path: 'sub/deeper/up/secret.txt' }))).toBe('ENOENT');
    expect(await code(s.readdir({ path: 'rel' }))).toBe('ELOOP');
  });

  it('6. a symlink loop fails cleanly (ELOOP), the links themselves stay visible', async () => {
    const s = await connect();
    expect(await code(s.readFile({ path: 'loop1' }))).toBe('ELOOP');
    expect((await twalk(s, s.root.fid, ['loop1', 'x'])).n).toBe(1);
    expect(await s.readlink({ path: 'loop1' })).toBe('loop2');
  });

  it('7. setattr and truncate through a symlink to outside do not touch the target', async () => {
    const s = await connect();
    expect(await code(s.setattr({ path: 'abs', mode: 0o777 }))).toBe('EOPNOTSUPP');
    expect(await code(s.setattr({ path: 'abs', size: 0 }))).toBe('EINVAL');
    expect(await code(s.setattr({ path: 'rel', mode: 0o777 }))).toBe('EOPNOTSUPP');
    // Owner and times apply to the link itself (lchown, lutimes).
    await s.setattr({ path: 'abs', mtime: new Date(0), uid: 4242 });
    expect(lstatSync(join(root, 'abs')).uid).toBe(4242);
    expect(lstatSync(join(root, 'abs')).mtimeMs).toBe(0);
    // Tsetattr on a fid walked to the link, sent raw.
    const f = await s.walk({ path: 'abs' });
    const all = { mode: 0o666, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n };
    expect(await code(s.rpc({ type: 'Tsetattr', fid: f.fid, valid: P9_SETATTR_MODE | P9_SETATTR_SIZE, ...all }))).toBe('EOPNOTSUPP');
    await f.clunk();
  });

  it('8. lcreate in a symlinked directory, or over a dangling symlink, creates nothing outside', async () => {
    const s = await connect();
    expect(await code(s.create({ path: 'rel/new.txt' }))).toBe('ENOTDIR');
    const rel = await s.walk({ path: 'rel' });
    expect(await code(s.rpc({ type: 'Tlcreate', fid: rel.fid, name: 'new.txt', flags: P9_DOTL_WRONLY, mode: 0o644, gid: 0 }))).toBe('ENOTDIR');
    await rel.clunk();
    expect(await code(s.create({ path: 'dangling' }))).toBe('ELOOP');
    expect(await code(s.writeFile({ path: 'dangling', data: enc('x') }))).toBe('ELOOP');
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
  });

  it('9. mkdir, symlink and mknod with a symlinked parent are refused', async () => {
    const s = await connect();
    const rel = await s.walk({ path: 'rel' });
    expect(await code(s.rpc({ type: 'Tmkdir', dfid: rel.fid, name: 'd', mode: 0o755, gid: 0 }))).toBe('ENOTDIR');
    expect(await code(s.rpc({ type: 'Tsymlink', fid: rel.fid, name: 'l', symtgt: '/', gid: 0 }))).toBe('ENOTDIR');
    expect(await code(s.rpc({ type: 'Tmknod', dfid: rel.fid, name: 'n', mode: 0o100644, major: 0, minor: 0, gid: 0 }))).toBe('ENOTDIR');
    expect(await code(s.mkdir({ path: 'etc-link/evil' }))).toBe('ENOTDIR');
    await rel.clunk();
  });

  it('10. link, rename, renameat and unlinkat with a symlinked directory fid are refused', async () => {
    const s = await connect();
    const rel = await s.walk({ path: 'rel' });
    const a = await s.walk({ path: 'a.txt' });
    expect(await code(s.rpc({ type: 'Tlink', dfid: rel.fid, fid: a.fid, name: 'x' }))).toBe('ENOTDIR');
    expect(await code(s.rpc({ type: 'Trename', fid: a.fid, dfid: rel.fid, name: 'x' }))).toBe('ENOTDIR');
    expect(await code(s.rpc({ type: 'Trenameat', olddirfid: s.root.fid, oldname: 'a.txt', newdirfid: rel.fid, newname: 'x' }))).toBe('ENOTDIR');
    expect(await code(s.rpc({ type: 'Trenameat', olddirfid: rel.fid, oldname: 'secret.txt', newdirfid: s.root.fid, newname: 'stolen' }))).toBe('ENOTDIR');
    expect(await code(s.rpc({ type: 'Tunlinkat', dirfd: rel.fid, name: 'secret.txt', flags: 0 }))).toBe('ENOTDIR');
    expect(await code(s.rpc({ type: 'Tunlinkat', dirfd: rel.fid, name: 'dir', flags: P9_DOTL_AT_REMOVEDIR }))).toBe('ENOTDIR');
    expect(existsSync(join(root, 'stolen'))).toBe(false);
    await rel.clunk();
    await a.clunk();
  });

  it('11. names with ".." or "/" cannot move or make files outside', async () => {
    const s = await connect();
    const root9 = s.root.fid;
    expect(await code(s.rpc({ type: 'Trenameat', olddirfid: root9, oldname: 'a.txt', newdirfid: root9, newname: '../escaped' }))).toBe('EINVAL');
    expect(await code(s.rpc({ type: 'Trenameat', olddirfid: root9, oldname: 'a.txt', newdirfid: root9, newname: '..' }))).toBe('EINVAL');
    expect(await code(s.rpc({ type: 'Trenameat', olddirfid: root9, oldname: '../outside/secret.txt', newdirfid: root9, newname: 'got' }))).toBe('EINVAL');
    const a = await s.walk({ path: 'a.txt' });
    expect(await code(s.rpc({ type: 'Trename', fid: a.fid, dfid: root9, name: '../../escaped' }))).toBe('EINVAL');
    await a.clunk();
    expect(await code(s.rpc({ type: 'Tmkdir', dfid: root9, name: '../evil', mode: 0o755, gid: 0 }))).toBe('EINVAL');
    expect(await code(s.rpc({ type: 'Tlcreate', fid: (await s.walk({ path: '' })).fid, name: 'sub/../../x', flags: P9_DOTL_WRONLY, mode: 0o644, gid: 0 }))).toBe('EINVAL');
    expect(await code(s.rpc({ type: 'Tunlinkat', dirfd: root9, name: '../outside/secret.txt', flags: 0 }))).toBe('EINVAL');
    expect(await code(s.rpc({ type: 'Tsymlink', fid: root9, name: '..', symtgt: 'x', gid: 0 }))).toBe('EINVAL');
    // A walk name holding '/' is one (impossible) name, not a path.
    expect(await code(twalk(s, root9, ['../outside']))).toBe('ENOENT');
    expect(await code(twalk(s, root9, ['sub/deeper']))).toBe('ENOENT');
    expect(existsSync(join(base, 'escaped'))).toBe(false);
    expect(existsSync(join(base, 'evil'))).toBe(false);
  });

  it('12. NUL bytes in names and link targets are refused (the client codec cannot even send them)', async () => {
    const s = await connect();
    expect(await code(twalk(s, s.root.fid, ['a.txt\0/../../outside']))).toMatch(/NUL/);
    const fs = new LocalFs({ root });
    const top = fs.attach({ aname: '' }).node;
    expect(await code(Promise.resolve().then(() => fs.walk(top, ['a.txt\0'])))).toBe('ENOENT');
    expect(await code(Promise.resolve().then(() => fs.mkdir(top, { name: 'x\0y', mode: 0o755 })))).toBe('EINVAL');
    expect(await code(Promise.resolve().then(() => fs.lcreate(top, { name: 'x\0', flags: P9_DOTL_WRONLY, mode: 0o644 })))).toBe('EINVAL');
    expect(await code(Promise.resolve().then(() => fs.symlink(top, { name: 'l', target: '/etc\0' })))).toBe('EINVAL');
    expect(await code(Promise.resolve().then(() => fs.renameat(top, 'a.txt', top, 'b\0')))).toBe('EINVAL');
    fs.close();
    expect(readdirSync(root).some((n) => n.startsWith('x') || n === 'l' || n.startsWith('b'))).toBe(false);
  });

  it('13. very long names are ENAMETOOLONG; long link targets too', async () => {
    const s = await connect();
    const long = 'n'.repeat(256);
    expect(await code(twalk(s, s.root.fid, [long]))).toBe('ENAMETOOLONG');
    expect(await code(s.mkdir({ path: long }))).toBe('ENAMETOOLONG');
    expect(await code(s.create({ path: 'é'.repeat(128) }))).toBe('ENAMETOOLONG');
    expect(await code(s.symlink({ path: 'l', target: '../'.repeat(1400) }))).toBe('ENAMETOOLONG');
    expect(await code(s.mkdir({ path: 'n'.repeat(255) }))).toBe('ok');
  });

  it('14. a hard link is made to the node named inside, never to a symlink target outside', async () => {
    const s = await connect();
    const abs = await s.walk({ path: 'abs' });
    await s.rpc({ type: 'Tlink', dfid: s.root.fid, fid: abs.fid, name: 'hard' });
    // The new name is a second link to the symlink, not to the secret.
    expect(lstatSync(join(root, 'hard')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(outside, 'secret.txt')).nlink).toBe(1);
    expect(await code(s.readFile({ path: 'hard' }))).toBe('ELOOP');
    await abs.clunk();
  });

  it('15. readlink returns an outside target as a string, and that string leads nowhere', async () => {
    const s = await connect();
    expect(await s.readlink({ path: 'abs' })).toBe(join(outside, 'secret.txt'));
    expect(await s.readlink({ path: 'rel' })).toBe('../outside');
    expect(await code(s.readFile({ path: join(outside, 'secret.txt') }))).toBe('ENOENT');
  });

  it('16. guest-made symlinks are stored with any target and never followed', async () => {
    const s = await connect();
    await s.symlink({ path: 'g-abs', target: join(outside, 'secret.txt') });
    await s.symlink({ path: 'sub/g-rel', target: '../../outside' });
    expect(readlinkSync(join(root, 'g-abs'))).toBe(join(outside, 'secret.txt'));
    expect(await code(s.readFile({ path: 'g-abs' }))).toBe('ELOOP');
    expect(await code(s.writeFile({ path: 'sub/g-rel/secret.txt', data: enc('x') }))).toBe('ENOTDIR');
    expect(await code(s.create({ path: 'sub/g-rel/planted' }))).toBe('ENOTDIR');
    expect(await code(s.rename({ from: 'a.txt', to: 'sub/g-rel/a.txt' }))).toBe('ENOTDIR');
  });

  it('17. a directory swapped for a symlink between walk and open is refused', async () => {
    const s = await connect();
    mkdirSync(join(root, 'swap'));
    writeFileSync(join(root, 'swap', 'secret.txt'), 'inside copy');
    const dir = await s.walk({ path: 'swap' });
    const file = await s.walk({ path: 'swap/secret.txt' });
    // The swap, on disk, after the walks: swap/ now leads outside.
    renameSync(join(root, 'swap'), join(root, 'swap.old'));
    symlinkSync(outside, join(root, 'swap'));
    expect(await code(s.rpc({ type: 'Tlopen', fid: dir.fid, flags: P9_DOTL_RDONLY }))).toMatch(REFUSED);
    expect(await code(s.rpc({ type: 'Tlopen', fid: file.fid, flags: P9_DOTL_RDWR }))).toMatch(REFUSED);
    expect(await code(s.rpc({ type: 'Tgetattr', fid: file.fid, requestMask: 0x7ffn }))).toMatch(REFUSED);
    expect(await code(s.rpc({ type: 'Tlcreate', fid: dir.fid, name: 'planted', flags: P9_DOTL_WRONLY, mode: 0o644, gid: 0 }))).toMatch(REFUSED);
    expect(await code(s.rpc({ type: 'Tmkdir', dfid: dir.fid, name: 'planted', mode: 0o755, gid: 0 }))).toMatch(REFUSED);
    expect(await code(s.rpc({ type: 'Tunlinkat', dirfd: dir.fid, name: 'secret.txt', flags: 0 }))).toMatch(REFUSED);
    const all = { mode: 0o666, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n };
    expect(await code(s.rpc({ type: 'Tsetattr', fid: file.fid, valid: P9_SETATTR_SIZE, ...all }))).toMatch(REFUSED);
    await dir.clunk();
    await file.clunk();
  });

  it('18. a file swapped for a symlink, or for another file, between walk and open is refused', async () => {
    const s = await connect();
    writeFileSync(join(root, 'f'), 'inside');
    writeFileSync(join(root, 'g'), 'other');
    const f = await s.walk({ path: 'f' });
    const g = await s.walk({ path: 'g' });
    rmSync(join(root, 'f'));
    symlinkSync(join(outside, 'secret.txt'), join(root, 'f'));
    renameSync(join(root, 'a.txt'), join(root, 'g'));
    expect(await code(s.rpc({ type: 'Tlopen', fid: f.fid, flags: P9_DOTL_RDWR | P9_DOTL_TRUNC }))).toBe('ELOOP');
    expect(await code(s.rpc({ type: 'Tlopen', fid: g.fid, flags: P9_DOTL_RDONLY }))).toBe('ESTALE');
    const all = { mode: 0o600, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n };
    expect(await code(s.rpc({ type: 'Tsetattr', fid: g.fid, valid: P9_SETATTR_MODE | P9_SETATTR_SIZE, ...all }))).toBe('ESTALE');
    expect(readFileSync(join(root, 'g'), 'utf8')).toBe('inside');
    await f.clunk();
    await g.clunk();
  });

  it('19. a directory in the middle of a path swapped by a real directory is re-checked on open', async () => {
    const s = await connect();
    mkdirSync(join(root, 'x'));
    writeFileSync(join(root, 'x', 'f'), 'one');
    const f = await s.walk({ path: 'x/f' });
    renameSync(join(root, 'x'), join(root, 'x.old'));
    mkdirSync(join(root, 'x'));
    writeFileSync(join(root, 'x', 'f'), 'two');
    expect(await code(s.rpc({ type: 'Tlopen', fid: f.fid, flags: P9_DOTL_RDONLY }))).toBe('ESTALE');
    await f.clunk();
  });

  it('20. a symlinked directory cannot be listed or removed through, and removing the link keeps the target', async () => {
    const s = await connect();
    expect(await code(s.readdir({ path: 'rel' }))).toBe('ELOOP');
    await s.remove({ path: 'rel' });
    expect(existsSync(join(root, 'rel'))).toBe(false);
    await s.remove({ path: 'etc-link' });
    expect(existsSync('/etc/passwd')).toBe(true);
  });

  it('21. read-only mode answers EROFS to every change and changes nothing', async () => {
    const inside = snapshot(root);
    const s = await connect({ readOnly: true });
    const r = s.root.fid;
    const a = await s.walk({ path: 'a.txt' });
    const d = await s.walk({ path: '' });
    const all = { mode: 0o666, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n };
    const tries: [string, Promise<string>][] = (<[string, Promise<unknown>][]>[
      ['lopen write', s.open({ path: 'a.txt', flags: P9_DOTL_WRONLY })],
      ['lopen rdwr', s.open({ path: 'a.txt', flags: P9_DOTL_RDWR })],
      ['lopen trunc', s.open({ path: 'a.txt', flags: P9_DOTL_RDONLY | P9_DOTL_TRUNC })],
      ['lcreate', s.rpc({ type: 'Tlcreate', fid: d.fid, name: 'n', flags: P9_DOTL_WRONLY, mode: 0o644, gid: 0 })],
      ['mkdir', s.rpc({ type: 'Tmkdir', dfid: r, name: 'n', mode: 0o755, gid: 0 })],
      ['symlink', s.rpc({ type: 'Tsymlink', fid: r, name: 'n', symtgt: 'a.txt', gid: 0 })],
      ['mknod', s.rpc({ type: 'Tmknod', dfid: r, name: 'n', mode: 0o100644, major: 0, minor: 0, gid: 0 })],
      ['link', s.rpc({ type: 'Tlink', dfid: r, fid: a.fid, name: 'n' })],
      ['rename', s.rpc({ type: 'Trename', fid: a.fid, dfid: r, name: 'n' })],
      ['renameat', s.rpc({ type: 'Trenameat', olddirfid: r, oldname: 'a.txt', newdirfid: r, newname: 'n' })],
      ['unlinkat', s.rpc({ type: 'Tunlinkat', dirfd: r, name: 'a.txt', flags: 0 })],
      ['rmdir', s.rpc({ type: 'Tunlinkat', dirfd: r, name: 'sub', flags: P9_DOTL_AT_REMOVEDIR })],
      ['setattr mode', s.rpc({ type: 'Tsetattr', fid: a.fid, valid: P9_SETATTR_MODE, ...all })],
      ['setattr size', s.rpc({ type: 'Tsetattr', fid: a.fid, valid: P9_SETATTR_SIZE, ...all })],
      ['setattr times', s.setattr({ path: 'a.txt', mtime: new Date(0) })],
      ['remove', s.remove({ path: 'sub/deeper/up' })],
    ]).map(([what, p]) => [what, code(p)]);
    for (const [what, p] of tries) expect([what, await p]).toEqual([what, 'EROFS']);
    // Reading still works.
    expect(new TextDecoder().decode(await s.readFile({ path: 'a.txt' }))).toBe('inside');
    expect((await s.stat({ path: 'sub' })).qid.type).toBe(QTDIR);
    await a.clunk();
    await d.clunk();
    expect(snapshot(root)).toBe(inside);
  });

  it('22. attach names other than the root are refused', async () => {
    const fs = new LocalFs({ root });
    for (const aname of ['/etc', outside, `${root}/..`, '..']) expect(() => fs.attach({ aname })).toThrow(/ENOENT/);
    fs.close();
  });

  it('23. concurrent swaps while a client hammers open never leak a byte from outside', async () => {
    const s = await connect();
    mkdirSync(join(root, 'race'));
    writeFileSync(join(root, 'race', 'secret.txt'), 'inside');
    let stop = false;
    // The host flips race/ between a real directory and a symlink to outside.
    const flipper = (async () => {
      while (!stop) {
        renameSync(join(root, 'race'), join(root, 'race.tmp'));
        symlinkSync(outside, join(root, 'race'));
        await new Promise((r) => setImmediate(r));
        rmSync(join(root, 'race'));
        renameSync(join(root, 'race.tmp'), join(root, 'race'));
        await new Promise((r) => setImmediate(r));
      }
    })();
    const results: string[] = [];
    for (let i = 0; i < 200; i++) {
      const got = await s.readFile({ path: 'race/secret.txt' }).then((b) => new TextDecoder().decode(b), (e: RemoteError) => e.code);
      results.push(got);
    }
    stop = true;
    await flipper;
    expect(results).not.toContain(SECRET);
    expect(results.every((r) => r === 'inside' || /^E[A-Z]+$/.test(r))).toBe(true);
  });
});
