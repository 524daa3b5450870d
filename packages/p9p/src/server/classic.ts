/*
 * 9P2000 and 9P2000.u requests, answered through the 9P2000.L-shaped Handler.
 *
 * open(5):   size[4] Topen tag[2] fid[4] mode[1]
 *            "mode ... OREAD, OWRITE, ORDWR, OEXEC ... OTRUNC ... ORCLOSE"
 *            "If mode has the ORCLOSE bit set, the file is to be removed
 *            when the fid is clunked"
 *            size[4] Tcreate tag[2] fid[4] name[s] perm[4] mode[1]
 *            "... it is an error if the file already exists" "the fid
 *            ... now represents the new file" "Directories are created by
 *            setting the DMDIR bit (0x80000000) in the perm."
 * read(5):   "For directories, read returns an integral number of directory
 *            entries exactly as in stat ... one for each member of the
 *            directory. The read request message must have offset equal to
 *            zero or the value of offset in the previous read on the
 *            directory, plus the number of bytes returned in the previous
 *            read. In other words, seeking other than to the beginning is
 *            illegal in a directory."
 * stat(5):   size[4] Tstat tag[2] fid[4]  size[4] Rstat tag[2] stat[n]
 *            size[4] Twstat tag[2] fid[4] stat[n]  size[4] Rwstat tag[2]
 *            "a wstat ... [with] ~0 (for integers) or the empty string (for
 *            strings) ... don't touch" "The name can be changed by anyone
 *            with write permission in the parent directory; it is an error
 *            to change the name to that of an existing file."
 *            "the length ... will truncate" "The directory bit cannot be
 *            changed" "if all the elements of the directory entry in a
 *            Twstat message are 'don't touch' ... the server [commits]
 *            the file to stable storage."
 * 9P2000.u:  Tcreate extension[s]: "the target of a symbolic link (DMSYMLINK),
 *            ... '%d\n' the fid of a hard link's target (DMLINK), or a
 *            device 'b|c major minor' (DMDEVICE)"; stat adds extension[s]
 *            n_uid[4] n_gid[4] n_muid[4]; Rerror adds errno[4].
 *
 * Each request maps onto the typed Handler: Topen -> lopen, Tcreate ->
 * lcreate / mkdir / symlink / link, Tstat -> getattr (+ readlink),
 * Twstat -> setattr + rename, a directory Tread -> readdir + walk/getattr
 * per entry. So every handler written for 9P2000.L serves all three dialects,
 * with its own checks (confinement included) on every path.
 */
import {
  DMAUTH,
  DMDEVICE,
  DMDIR,
  DMLINK,
  DMMOUNT,
  DMNAMEDPIPE,
  DMSETGID,
  DMSETUID,
  DMSETVTX,
  DMSOCKET,
  DMSYMLINK,
  IOHDRSZ,
  NONUNAME,
  OAPPEND,
  ORCLOSE,
  OTRUNC,
  P9_DOTL_APPEND,
  P9_DOTL_CREATE,
  P9_DOTL_EXCL,
  P9_DOTL_RDONLY,
  P9_DOTL_TRUNC,
  P9_GETATTR_BASIC,
  P9_SETATTR_ATIME,
  P9_SETATTR_ATIME_SET,
  P9_SETATTR_GID,
  P9_SETATTR_MODE,
  P9_SETATTR_MTIME,
  P9_SETATTR_MTIME_SET,
  P9_SETATTR_SIZE,
  P9_SETATTR_UID,
  QTDIR,
  QTSYMLINK,
  READDIRHDRSZ,
} from '../codec/constants.js';
import { encodeStat } from '../codec/stat.js';
import type { Dialect, Qid, Stat, Tcreate, Topen, Tread, Twstat } from '../codec/types.js';
import { ERRNO, errnoName } from '../channel/errno.js';
import { RemoteError } from '../channel/errors.js';
import { cutShort, tookNode, type ClassicFid, type DirRead, type FidEntry } from './fidtable.js';
import type { AttrReply, Awaitable, Handler, RequestContext, SetattrRequest } from './handler.js';

/** What the translation needs of the connection. */
export interface ClassicState<N> {
  handler: Handler<N>;
  dialect: Dialect;
  msize: number;
  /** The entry of a live fid (EBADF otherwise): for DMLINK's target. */
  fid(n: number): FidEntry<N>;
  release: (node: N) => Awaitable<void>;
  /** False once the connection is gone or a Tversion reset it (see tookNode). */
  alive: () => boolean;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const S_IFSOCK = 0o140000;
const U32 = 0xffffffff;
const U64 = 0xffffffffffffffffn;
/** Entries asked of the handler per readdir call (bytes of .L dirents). */
const MIN_BATCH = 4096;
/** readdir calls one Tread may make: a handler whose cookies go round in circles cannot hang it. */
const MAX_BATCHES = 64;

function fail(errno: number, why: string): never {
  throw RemoteError.reply(errno, `${errnoName(errno)}: ${why}`);
}

function missing(what: string): never {
  throw RemoteError.reply(ERRNO.EOPNOTSUPP, `EOPNOTSUPP: the handler has no ${what}`);
}

/** The classic state of an entry (every fid of a 9P2000/.u connection has one). */
export function classicOf<N>(e: FidEntry<N>): ClassicFid {
  if (e.classic === undefined) fail(ERRNO.EIO, 'fid has no 9P2000 state');
  return e.classic;
}

/** The names of the fid `wnames` walks to from `names`: '..' pops (staying at the root), '.' stays. */
export function walkedNames(names: readonly string[], wnames: readonly string[]): string[] {
  const out = [...names];
  for (const w of wnames) {
    if (w === '..') out.pop();
    else if (w !== '.') out.push(w);
  }
  return out;
}

/** Topen/Tcreate mode[1] as Linux open flags: OEXEC reads; OTRUNC; .u OAPPEND. */
export function openFlags(mode: number, ext: boolean): number {
  const acc = mode & 3;
  let flags = acc === 3 ? P9_DOTL_RDONLY : acc;
  if ((mode & OTRUNC) !== 0) flags |= P9_DOTL_TRUNC;
  if (ext && (mode & OAPPEND) !== 0) flags |= P9_DOTL_APPEND;
  return flags;
}

/** Permission bits of a 9P perm/mode (with the .u setuid/setgid/sticky bits) as a Unix mode. */
function unixPerm(perm: number, ext: boolean): number {
  let mode = perm & 0o777;
  if (ext) {
    if ((perm & DMSETUID) !== 0) mode |= 0o4000;
    if ((perm & DMSETGID) !== 0) mode |= 0o2000;
    if ((perm & DMSETVTX) !== 0) mode |= 0o1000;
  }
  return mode;
}

function u32Of(n: bigint): number {
  return n < 0n ? 0 : n > 0xffffffffn ? U32 : Number(n);
}

/** The stat(5) of a file from its 9P2000.L attributes. */
export function statFromAttr(a: AttrReply, name: string, extension: string, dialect: Dialect): Stat {
  const ext = dialect === '9P2000.u';
  const fmt = a.mode & S_IFMT;
  let mode = a.mode & 0o777;
  if (fmt === S_IFDIR) mode |= DMDIR;
  if (ext) {
    if (fmt === S_IFLNK) mode |= DMSYMLINK;
    else if (fmt === S_IFCHR || fmt === S_IFBLK) mode |= DMDEVICE;
    else if (fmt === S_IFIFO) mode |= DMNAMEDPIPE;
    else if (fmt === S_IFSOCK) mode |= DMSOCKET;
    if ((a.mode & 0o4000) !== 0) mode |= DMSETUID;
    if ((a.mode & 0o2000) !== 0) mode |= DMSETGID;
    if ((a.mode & 0o1000) !== 0) mode |= DMSETVTX;
  }
  // 9P2000 has no symlink qid bit: a link is shown as the file it is stored as.
  const qid: Qid = ext ? a.qid : { ...a.qid, type: a.qid.type & ~QTSYMLINK & 0xff };
  const uid = String(a.uid);
  const gid = String(a.gid);
  const st: Stat = {
    type: 0,
    dev: 0,
    qid,
    mode: mode >>> 0,
    atime: u32Of(a.atimeSec),
    mtime: u32Of(a.mtimeSec),
    // stat(5): directories have length 0.
    length: fmt === S_IFDIR ? 0n : a.size,
    name,
    uid,
    gid,
    muid: uid,
  };
  if (ext) {
    st.extension = extension;
    st.nUid = a.uid >>> 0;
    st.nGid = a.gid >>> 0;
    st.nMuid = a.uid >>> 0;
  }
  return st;
}

/** The .u extension of a file: a symlink's target, a device's "c|b major minor". */
async function extensionOf<N>(s: ClassicState<N>, node: N, a: AttrReply, ctx: RequestContext): Promise<string> {
  if (s.dialect !== '9P2000.u') return '';
  const fmt = a.mode & S_IFMT;
  if (fmt === S_IFLNK && s.handler.readlink !== undefined) return s.handler.readlink(node, ctx);
  if (fmt === S_IFCHR || fmt === S_IFBLK) {
    // Linux's dev_t encoding (huge_encode_dev): major in bits 8-19 and 32+, minor in 0-7 and 20-31.
    const r = a.rdev;
    const major = ((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn);
    const minor = (r & 0xffn) | ((r >> 12n) & ~0xffn);
    return `${fmt === S_IFCHR ? 'c' : 'b'} ${major} ${minor}`;
  }
  return '';
}

/** Tstat: the stat of the fid's file, named as it was walked ('/' for the root). */
export async function statOf<N>(s: ClassicState<N>, node: N, name: string, ctx: RequestContext): Promise<Stat> {
  if (s.handler.getattr === undefined) missing('getattr');
  const a = await s.handler.getattr(node, P9_GETATTR_BASIC, ctx);
  return statFromAttr(a, name, await extensionOf(s, node, a, ctx), s.dialect);
}

export function nameOf(c: ClassicFid): string {
  return c.names[c.names.length - 1] ?? '/';
}

/** Topen: lopen with the translated mode; remembers ORCLOSE and whether it is a directory. */
export async function open<N>(s: ClassicState<N>, e: FidEntry<N>, m: Topen, ctx: RequestContext): Promise<{ qid: Qid; iounit: number }> {
  const c = classicOf(e);
  const h = s.handler;
  if (h.lopen === undefined) missing('lopen');
  const r = await h.lopen(e.node, openFlags(m.mode, s.dialect === '9P2000.u'), ctx);
  if (!(await tookNode(s.release, s.alive, e, r.node))) cutShort();
  c.dir = (r.qid.type & QTDIR) !== 0;
  c.rclose = (m.mode & ORCLOSE) !== 0;
  c.dirRead = undefined;
  return { qid: r.qid, iounit: r.iounit };
}

/** Walks one name from `dir` (after a create): the new file's node. */
async function walkOne<N>(s: ClassicState<N>, dir: N, name: string, ctx: RequestContext): Promise<N> {
  const r = await s.handler.walk(dir, [name], ctx);
  if (r.qids.length !== 1 || r.node === undefined) fail(ERRNO.EIO, 'created file cannot be walked to');
  return r.node;
}

/**
 * Tcreate in the directory `e` names. Afterwards `e` names the new file,
 * opened (a symlink or hard link is not opened: reading it fails).
 */
export async function create<N>(s: ClassicState<N>, e: FidEntry<N>, m: Tcreate, ctx: RequestContext): Promise<{ qid: Qid; iounit: number }> {
  const c = classicOf(e);
  const h = s.handler;
  const ext = s.dialect === '9P2000.u';
  const perm = m.perm >>> 0;
  const dir = e.node;
  const { name } = m;
  // "." and ".." are never new names (handlers check the rest of the name).
  if (name === '.' || name === '..') fail(ERRNO.EEXIST, `cannot create ${name}`);
  const special = (perm & (DMSYMLINK | DMLINK | DMDEVICE | DMNAMEDPIPE | DMSOCKET | DMAUTH | DMMOUNT)) >>> 0;
  let qid: Qid;
  let iounit = 0;
  let node: N;
  let isDir = false;
  if ((perm & DMDIR) !== 0) {
    if (special !== 0) fail(ERRNO.EINVAL, 'DMDIR with another file type');
    if ((m.mode & 3) !== 0 || (m.mode & OTRUNC) !== 0) fail(ERRNO.EISDIR, 'a directory is created OREAD');
    if (h.mkdir === undefined) missing('mkdir');
    if (h.lopen === undefined) missing('lopen');
    await h.mkdir(dir, { name, mode: unixPerm(perm, ext), gid: NONUNAME }, ctx);
    const walked = await walkOne(s, dir, name, ctx);
    try {
      const r = await h.lopen(walked, P9_DOTL_RDONLY, ctx);
      node = r.node ?? walked;
      qid = r.qid;
      iounit = r.iounit;
    } catch (err) {
      await s.release(walked);
      throw err;
    }
    isDir = true;
  } else if (special !== 0) {
    if (!ext) fail(ERRNO.EPERM, 'special files need 9P2000.u');
    const target = m.extension ?? '';
    let made: Qid | undefined;
    if (special === DMSYMLINK) {
      if (h.symlink === undefined) missing('symlink');
      made = await h.symlink(dir, { name, target, gid: NONUNAME }, ctx);
    } else if (special === DMLINK) {
      // Linux sends the target's fid as "%d\n".
      const match = /^(\d{1,10})\n?$/.exec(target);
      if (match === null) fail(ERRNO.EINVAL, 'DMLINK extension is not a fid');
      const from = s.fid(Number(match[1]));
      if (h.link === undefined) missing('link');
      await h.link(dir, from.node, name, ctx);
    } else {
      // Devices, pipes and sockets: nothing here could open them safely.
      fail(ERRNO.EPERM, 'devices, named pipes and sockets cannot be created');
    }
    const r = await s.handler.walk(dir, [name], ctx);
    if (r.qids.length !== 1 || r.node === undefined) fail(ERRNO.EIO, 'created file cannot be walked to');
    node = r.node;
    qid = made ?? r.qids[0]!;
  } else {
    if (h.lcreate === undefined) missing('lcreate');
    const flags = openFlags(m.mode, ext) | P9_DOTL_CREATE | P9_DOTL_EXCL;
    const r = await h.lcreate(dir, { name, flags, mode: unixPerm(perm, ext), gid: NONUNAME }, ctx);
    node = r.node;
    qid = r.qid;
    iounit = r.iounit;
  }
  if (!(await tookNode(s.release, s.alive, e, node))) cutShort();
  c.names = [...c.names, name];
  c.dir = isDir;
  c.rclose = (m.mode & ORCLOSE) !== 0;
  c.dirRead = undefined;
  if (dir !== node) await s.release(dir);
  return { qid, iounit };
}

/** The stat bytes of entry `name` of directory `dir`, or undefined if it vanished meanwhile. */
async function entryStat<N>(s: ClassicState<N>, dir: N, name: string, ctx: RequestContext): Promise<Uint8Array | undefined> {
  let node: N | undefined;
  try {
    const r = await s.handler.walk(dir, [name], ctx);
    node = r.node;
    if (node === undefined || r.qids.length !== 1) return undefined;
    return encodeStat(await statOf(s, node, name, ctx), s.dialect);
  } catch (err) {
    const errno = err instanceof RemoteError ? err.errno : undefined;
    if (errno === ERRNO.ENOENT || errno === ERRNO.ESTALE) return undefined;
    throw err;
  } finally {
    if (node !== undefined) await s.release(node);
  }
}

/**
 * Tread on an opened directory: whole stat entries, at most `count` bytes,
 * from offset 0 or where the previous read ended (read(5)). "." and ".."
 * are not listed, as in Plan 9.
 */
export async function readDir<N>(s: ClassicState<N>, e: FidEntry<N>, m: Tread, ctx: RequestContext): Promise<Uint8Array> {
  const c = classicOf(e);
  const h = s.handler;
  if (h.readdir === undefined) missing('readdir');
  const count = Math.min(m.count, s.msize - IOHDRSZ);
  if (m.offset === 0n) c.dirRead = { offset: 0n, cookie: 0n, pending: [], at: 0, eof: false };
  const d: DirRead | undefined = c.dirRead;
  if (d === undefined || m.offset !== d.offset) fail(ERRNO.EINVAL, 'a directory is read from 0 or where the last read ended');
  const out = new Uint8Array(count);
  let at = 0;
  let batches = 0;
  for (;;) {
    let bytes = d.carry;
    if (bytes === undefined) {
      const next = d.pending[d.at];
      if (next === undefined) {
        if (d.eof || batches++ >= MAX_BATCHES) break;
        const batch = await h.readdir(e.node, d.cookie, Math.max(MIN_BATCH, s.msize - READDIRHDRSZ), ctx);
        const last = batch[batch.length - 1];
        // No entries, or a cookie that does not move: the end (never a loop).
        if (last === undefined || last.offset === d.cookie) {
          d.eof = true;
          break;
        }
        d.cookie = last.offset;
        d.pending = batch.filter((x) => x.name !== '.' && x.name !== '..');
        d.at = 0;
        continue;
      }
      d.at++;
      bytes = await entryStat(s, e.node, next.name, ctx);
      if (bytes === undefined) continue;
    }
    if (at + bytes.length > count) {
      d.carry = bytes;
      break;
    }
    out.set(bytes, at);
    at += bytes.length;
    d.carry = undefined;
  }
  if (at === 0 && d.carry !== undefined) fail(ERRNO.EINVAL, `count ${count} is too small for the next entry (${d.carry.length} bytes)`);
  d.offset += BigInt(at);
  return out.subarray(0, at);
}

function isDontTouchNumber(n: number, bits: 16 | 32): boolean {
  return n === (bits === 16 ? 0xffff : U32);
}

/** The Tsetattr a wstat asks for (valid 0: nothing), checking what cannot change. */
function setattrOf(st: Stat, cur: AttrReply, ext: boolean): SetattrRequest {
  const a: SetattrRequest = { valid: 0, mode: 0, uid: 0, gid: 0, size: 0n, atimeSec: 0n, atimeNsec: 0n, mtimeSec: 0n, mtimeNsec: 0n };
  // type, dev and qid cannot change: don't-touch or the values Tstat gives.
  if (!isDontTouchNumber(st.type, 16) && st.type !== 0) fail(ERRNO.EPERM, 'stat type cannot change');
  if (!isDontTouchNumber(st.dev, 32) && st.dev !== 0) fail(ERRNO.EPERM, 'stat dev cannot change');
  if (st.qid.path !== U64 && st.qid.path !== cur.qid.path) fail(ERRNO.EPERM, 'qid cannot change');
  const isDir = (cur.mode & S_IFMT) === S_IFDIR;
  if (!isDontTouchNumber(st.mode, 32)) {
    if (((st.mode & DMDIR) !== 0) !== isDir) fail(ERRNO.EPERM, 'the directory bit cannot change');
    a.valid |= P9_SETATTR_MODE;
    a.mode = unixPerm(st.mode, ext);
  }
  if (!isDontTouchNumber(st.atime, 32)) {
    a.valid |= P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET;
    a.atimeSec = BigInt(st.atime);
  }
  if (!isDontTouchNumber(st.mtime, 32)) {
    a.valid |= P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
    a.mtimeSec = BigInt(st.mtime);
  }
  if (st.length !== U64) {
    if (isDir) {
      if (st.length !== 0n) fail(ERRNO.EISDIR, 'a directory has no length to set');
    } else {
      a.valid |= P9_SETATTR_SIZE;
      a.size = st.length;
    }
  }
  const owner = (n: number | undefined, s: string, what: string): number | undefined => {
    if (ext && n !== undefined && n !== NONUNAME) return n;
    if (s === '') return undefined;
    // Only numeric names: no user database is consulted.
    if (!/^\d{1,10}$/.test(s) || Number(s) > U32) fail(ERRNO.EPERM, `${what} ${JSON.stringify(s)} is not a number`);
    return Number(s);
  };
  const uid = owner(st.nUid, st.uid, 'uid');
  const gid = owner(st.nGid, st.gid, 'gid');
  if (uid !== undefined && uid !== cur.uid) {
    a.valid |= P9_SETATTR_UID;
    a.uid = uid;
  }
  if (gid !== undefined && gid !== cur.gid) {
    a.valid |= P9_SETATTR_GID;
    a.gid = gid;
  }
  return a;
}

/** Walks one name; undefined where the handler refuses (handlers may throw synchronously). */
async function walkOrNothing<N>(h: Handler<N>, dir: N, name: string, ctx: RequestContext): Promise<{ qids: Qid[]; node?: N } | undefined> {
  try {
    return await h.walk(dir, [name], ctx);
  } catch {
    return undefined;
  }
}

/** The parent directory of the fid, walked again from a fresh attach (handlers cannot walk ".." from a file). */
async function parentOf<N>(s: ClassicState<N>, e: FidEntry<N>, c: ClassicFid, ctx: RequestContext): Promise<N> {
  const h = s.handler;
  const root = await h.attach({ uname: e.uname, aname: c.aname, nUname: e.nUname }, ctx);
  const dirNames = c.names.slice(0, -1);
  let node = root.node;
  try {
    for (let i = 0; i < dirNames.length; i += 16) {
      const chunk = dirNames.slice(i, i + 16);
      const r = await h.walk(node, chunk, ctx);
      if (r.node === undefined || r.qids.length !== chunk.length) fail(ERRNO.ENOENT, 'parent directory is gone');
      const prev = node;
      node = r.node;
      if (prev !== node) await s.release(prev);
    }
    return node;
  } catch (err) {
    await s.release(node);
    throw err;
  }
}

/**
 * Twstat: chmod (mode), truncate (length), times, owner (numbers only), and a
 * rename within the same directory (name). All the checks come first; the
 * rename is made last, after the attributes.
 */
export async function wstat<N>(s: ClassicState<N>, e: FidEntry<N>, m: Twstat, ctx: RequestContext): Promise<void> {
  const c = classicOf(e);
  const h = s.handler;
  const st = m.stat;
  if (h.getattr === undefined) missing('getattr');
  const cur = await h.getattr(e.node, P9_GETATTR_BASIC, ctx);
  const attr = setattrOf(st, cur, s.dialect === '9P2000.u');
  const oldName = c.names[c.names.length - 1];
  const rename = st.name !== '' && st.name !== oldName;
  if (rename && oldName === undefined) fail(ERRNO.EBUSY, 'the root cannot be renamed');
  if (rename && (st.name === '.' || st.name === '..' || st.name.includes('/'))) fail(ERRNO.EINVAL, `bad name ${JSON.stringify(st.name)}`);
  if (attr.valid === 0 && !rename) {
    // Every field "don't touch": a request to commit the file to stable storage.
    await h.fsync?.(e.node, 0, ctx);
    return;
  }
  let parent: N | undefined;
  try {
    if (rename) {
      if (h.rename === undefined && h.renameat === undefined) missing('rename');
      parent = await parentOf(s, e, c, ctx);
      // The parent walked again must still hold this very file under its old name.
      const here = await h.walk(parent, [oldName!], ctx);
      if (here.node !== undefined) await s.release(here.node);
      if (here.qids[0]?.path !== cur.qid.path) fail(ERRNO.ESTALE, 'the file moved since it was walked');
      const clash = await walkOrNothing(h, parent, st.name, ctx);
      if (clash?.node !== undefined) await s.release(clash.node);
      if (clash !== undefined && clash.qids.length === 1) fail(ERRNO.EEXIST, `${st.name} exists`);
    }
    if (attr.valid !== 0) {
      if (h.setattr === undefined) missing('setattr');
      await h.setattr(e.node, attr, ctx);
    }
    if (rename && parent !== undefined) {
      if (h.rename !== undefined) await h.rename(e.node, parent, st.name, ctx);
      else await h.renameat!(parent, oldName!, parent, st.name, ctx);
      c.names = [...c.names.slice(0, -1), st.name];
    }
  } finally {
    if (parent !== undefined) await s.release(parent);
  }
}
