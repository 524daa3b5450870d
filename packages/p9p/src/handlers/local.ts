/*
 * A host directory served (in every dialect serve() speaks), confined to that directory.
 *
 * diod protocol.md: lopen, lcreate, symlink, mknod, rename, readlink,
 *   getattr ("size[4] Rgetattr tag[2] valid[8] qid[13] mode[4] uid[4] gid[4]
 *   nlink[8] rdev[8] size[8] blksize[8] blocks[8] atime_sec[8] ..."),
 *   setattr, readdir ("offset ... of the next entry"), fsync, link, mkdir,
 *   renameat, unlinkat ("AT_REMOVEDIR"), statfs.
 * walk(5): "'..' in the root directory ... is equivalent to a walk with no
 *   name elements."
 *
 * Every host call goes through the root's directory fd, component by
 * component, never following a symlink (see local/resolve.ts): a guest can
 * make symlinks with any target, but the server never follows one, so no
 * request reaches outside the root. What a fid walked is re-checked (device
 * and inode) when it is opened, so a directory or file swapped on disk
 * between Twalk and Tlopen is refused (ESTALE) rather than opened. Linux
 * only: /proc/self/fd stands in for openat(2), which Node lacks.
 */
import { execFile } from 'node:child_process';
import { constants as C, fchmod, fdatasync, fsync, fstatSync, openSync, closeSync, read, readSync, write, writeSync, writev, writevSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { promisify } from 'node:util';
import {
  P9_DOTL_AT_REMOVEDIR,
  P9_DOTL_EXCL,
  P9_GETATTR_BASIC,
  P9_GETATTR_BTIME,
  P9_SETATTR_ATIME,
  P9_SETATTR_ATIME_SET,
  P9_SETATTR_GID,
  P9_SETATTR_MODE,
  P9_SETATTR_MTIME,
  P9_SETATTR_MTIME_SET,
  P9_SETATTR_SIZE,
  P9_SETATTR_UID,
  QTDIR,
  QTFILE,
  QTSYMLINK,
} from '../codec/constants.js';
import type { Dirent, Qid } from '../codec/types.js';
import { ERRNO } from '../channel/errno.js';
import type { AttrReply, Handler, SetattrRequest, StatfsReply } from '../server/handler.js';
import { hostFlags, mutates } from './local/flags.js';
import { at, checkName, closeFd, closeQuiet, DIR_STEP, err, fstatBig, inDir, kindOf, lstatAt, lstatBig, NODE_REF, openFd, PATH_MAX, sameFile, withDir } from './local/resolve.js';
import type { Kind } from './local/resolve.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFIFO = 0o010000;
const NAME_MAX = 255;
const NS = 1_000_000_000n;

/**
 * Reads and writes up to 128 KiB (an msize of 128 KiB, Linux's default for
 * virtio) are made synchronously: from the page cache they take tens of
 * microseconds, while a trip through libuv's pool adds two thread handoffs
 * (measured: 25-30 % more server CPU per MiB at msize 128 KiB). Larger
 * transfers go through the pool, so that a cold read or a write waiting on
 * the kernel's dirty-page throttling stalls one pool thread, not every
 * connection.
 */
const SYNC_READ = 128 * 1024;
const SYNC_WRITE = 128 * 1024;
const readFd = (fd: number, buf: Uint8Array, len: number, pos: number): number | Promise<number> =>
  len <= SYNC_READ
    ? readSync(fd, buf, 0, len, pos)
    : new Promise((resolve, reject) => read(fd, buf, 0, len, pos, (e, n) => (e === null ? resolve(n) : reject(e))));
const writeFd = (fd: number, buf: Uint8Array, pos: number): number | Promise<number> =>
  buf.length <= SYNC_WRITE
    ? writeSync(fd, buf, 0, buf.length, pos)
    : new Promise((resolve, reject) => write(fd, buf, 0, buf.length, pos, (e, n) => (e === null ? resolve(n) : reject(e))));
/** One positional writev of a Twrite's pieces (pwritev(2)); synchronous up to SYNC_WRITE bytes, as writeFd. */
const writevFd = (fd: number, pieces: readonly Uint8Array[], len: number, pos: number): number | Promise<number> =>
  len <= SYNC_WRITE
    ? writevSync(fd, pieces as Uint8Array[], pos)
    : new Promise((resolve, reject) => writev(fd, pieces as Uint8Array[], pos, (e, n) => (e === null ? resolve(n) : reject(e))));
const fchmodFd = promisify(fchmod);
const fsyncFd = promisify(fsync);
const fdatasyncFd = promisify(fdatasync);
const run = promisify(execFile);

export interface LocalFsOptions {
  /** The host directory to export. Symlinks in `root` itself are resolved once, here. */
  root: string;
  /** Refuse every change with EROFS (default false). */
  readOnly?: boolean;
  /**
   * Owner every file is reported with (default: the host's). Setting an
   * owner through setattr then succeeds only as a no-op to this same value
   * (EPERM otherwise). Files are always created owned by the server process.
   */
  uid?: number;
  /** Group every file is reported with, as `uid`. */
  gid?: number;
  /**
   * Owners as the guest sees them, as a user namespace's uid_map: guest ids `guest` ..
   * `guest + count - 1` are host ids `host` .. (count defaults to 1). Reported owners are
   * mapped host to guest (a host id not mapped is reported as `overflowId`); setattr's owner
   * is mapped guest to host, and one not mapped is refused (EINVAL, as chown(2) in a user
   * namespace). Files are still created owned by the server's user. Not with `uid`.
   */
  uidMap?: readonly IdRange[];
  /** Groups as the guest sees them, as `uidMap`. Not with `gid`. */
  gidMap?: readonly IdRange[];
  /** The owner reported for a host id no range maps (default 65534, Linux's overflowuid). */
  overflowId?: number;
  /** Files and directories held open by fids at once, over all connections (default 1024); past it EMFILE. */
  maxOpenFiles?: number;
  /** The iounit returned by open/create (default 0: the client uses msize - 24). */
  iounit?: number;
  /**
   * Bytes the directory listings kept for open directory fids may take, over all
   * connections (default 32 MiB; each entry counted as its name's bytes + 64). Past it
   * the oldest listings are dropped: a fid whose listing was dropped takes a new one at
   * its next Treaddir, and its cookies then count in that new listing.
   */
  maxListingBytes?: number;
}

/** Ids `guest` .. `guest + count - 1` in the guest are `host` .. in the host. */
export interface IdRange {
  guest: number;
  host: number;
  /** Default 1. */
  count?: number;
}

/** Most ranges in a map (Linux's uid_map allows 340). */
const MAX_RANGES = 340;
/** (uid_t) -1 means "unchanged" to chown(2): never a mapped id. */
const ID_MAX = 0xfffffffe;

/** A checked uid or gid map: ranges that overlap on neither side, and lookups both ways. */
class IdMap {
  private readonly ranges: { guest: number; host: number; count: number }[];

  constructor(what: string, ranges: readonly IdRange[]) {
    if (ranges.length === 0 || ranges.length > MAX_RANGES) throw new RangeError(`${what}: 1 to ${MAX_RANGES} ranges, not ${ranges.length}`);
    this.ranges = ranges.map((r) => {
      const count = r.count ?? 1;
      for (const [k, v] of [['guest', r.guest], ['host', r.host], ['count', count]] as const) {
        if (!Number.isInteger(v) || v < (k === 'count' ? 1 : 0) || v > ID_MAX) throw new RangeError(`${what}: ${k} ${String(v)} is not an id`);
      }
      if (r.guest + count - 1 > ID_MAX || r.host + count - 1 > ID_MAX) throw new RangeError(`${what}: range ${r.guest}:${r.host}:${count} runs past ${ID_MAX}`);
      return { guest: r.guest, host: r.host, count };
    });
    for (const side of ['guest', 'host'] as const) {
      const sorted = [...this.ranges].sort((a, b) => a[side] - b[side]);
      for (let i = 1; i < sorted.length; i++) {
        const a = sorted[i - 1] as { guest: number; host: number; count: number };
        const b = sorted[i] as { guest: number; host: number; count: number };
        if (a[side] + a.count > b[side]) throw new RangeError(`${what}: ${side} ids ${b[side]}.. are in two ranges`);
      }
    }
  }

  toGuest(host: number): number | undefined {
    for (const r of this.ranges) if (host >= r.host && host < r.host + r.count) return r.guest + (host - r.host);
    return undefined;
  }

  toHost(guest: number): number | undefined {
    for (const r of this.ranges) if (guest >= r.guest && guest < r.guest + r.count) return r.host + (guest - r.guest);
    return undefined;
  }
}

interface DirEntryRef {
  name: string;
  type: number;
}

/** The value the server keeps per fid. */
export interface LocalFid {
  /** Components from the root. */
  path: string[];
  /** What was walked: the inode an open must find. */
  ino: bigint;
  dev: bigint;
  kind: Kind;
  /** The host fd once opened (closed by clunk). */
  fd?: number;
  access?: number;
  /** A directory's listing, taken when read from cookie 0. */
  listing?: DirEntryRef[];
  /** Operations using `fd` that have not finished (reads and writes in the thread pool, readdir, fsync). */
  uses?: number;
  /** Clunked while `uses` > 0: the fd the last of them closes (until then no other open can be given its number). */
  closing?: number;
}

/**
 * Serves the host directory `root` (a Handler for serve()).
 *
 * @example
 *   const fs = new LocalFs({ root: '/srv/share', readOnly: true });
 *   await listen({ address: 'unix!/run/share.sock', onConnection: (s) => void serve({ stream: s, handler: fs }) });
 */
export class LocalFs implements Handler<LocalFid> {
  readonly root: string;
  readonly readOnly: boolean;
  readonly maxOpenFiles: number;
  private readonly rootFd: number;
  private readonly rootIno: bigint;
  private readonly rootDev: bigint;
  private readonly uid: number | undefined;
  private readonly gid: number | undefined;
  private readonly uidMap: IdMap | undefined;
  private readonly gidMap: IdMap | undefined;
  private readonly overflowId: number;
  private readonly iounit: number;
  private open = 0;
  private readonly maxListingBytes: number;
  /** Fids holding a listing, oldest first, with what each is counted as. */
  private readonly listings = new Map<LocalFid, number>();
  private listingBytes = 0;

  constructor(opts: LocalFsOptions) {
    this.root = opts.root;
    this.readOnly = opts.readOnly ?? false;
    this.maxOpenFiles = opts.maxOpenFiles ?? 1024;
    this.uid = opts.uid;
    this.gid = opts.gid;
    if (opts.uidMap !== undefined && opts.uid !== undefined) throw new RangeError('LocalFs: uid and uidMap exclude each other');
    if (opts.gidMap !== undefined && opts.gid !== undefined) throw new RangeError('LocalFs: gid and gidMap exclude each other');
    this.uidMap = opts.uidMap === undefined ? undefined : new IdMap('uidMap', opts.uidMap);
    this.gidMap = opts.gidMap === undefined ? undefined : new IdMap('gidMap', opts.gidMap);
    this.overflowId = opts.overflowId ?? 65534;
    if (!Number.isInteger(this.overflowId) || this.overflowId < 0 || this.overflowId > ID_MAX) throw new RangeError(`LocalFs: overflowId ${String(opts.overflowId)} is not an id`);
    this.iounit = opts.iounit ?? 0;
    this.maxListingBytes = opts.maxListingBytes ?? 32 * 1024 * 1024;
    // The one path resolved by the kernel as given: the operator's choice of root.
    this.rootFd = openSync(opts.root, C.O_RDONLY | C.O_DIRECTORY);
    const st = fstatSync(this.rootFd, { bigint: true });
    this.rootIno = st.ino;
    this.rootDev = st.dev;
  }

  /** Files held open by fids now. */
  get openFiles(): number {
    return this.open;
  }

  /** Closes the root fd; the handler is unusable afterwards. */
  close(): void {
    closeSync(this.rootFd);
  }

  // ------------------------------------------------------------- Handler --

  attach(req: { aname: string }): { qid: Qid; node: LocalFid } {
    if (req.aname !== '' && req.aname !== '/' && req.aname !== this.root) throw err(ERRNO.ENOENT, `no tree ${JSON.stringify(req.aname)}`);
    return { qid: { type: QTDIR, version: 0, path: this.rootIno }, node: { path: [], ino: this.rootIno, dev: this.rootDev, kind: 'dir' } };
  }

  /*
   * walk, clunk, lopen, getattr and small reads and writes are synchronous
   * from end to end (the Handler allows plain values): a stat from a client
   * is three of them, and each await of an already settled promise still
   * costs a microtask turn and an allocation.
   */
  walk(fid: LocalFid, names: readonly string[]): { qids: Qid[]; node?: LocalFid } {
    if (names.length === 0) return { qids: [], node: { path: [...fid.path], ino: fid.ino, dev: fid.dev, kind: fid.kind } };
    if (fid.kind !== 'dir') throw err(ERRNO.ENOTDIR);
    const path = [...fid.path];
    // chain[i] is the O_PATH fd of path[0..i]; the root's fd is below it.
    const chain: number[] = [];
    const qids: Qid[] = [];
    let ino = fid.ino;
    let dev = fid.dev;
    let kind: Kind = fid.kind;
    try {
      // Directories of the starting path, opened the safe way.
      for (const name of path) chain.push(openSync(at(chain[chain.length - 1] ?? this.rootFd, name), DIR_STEP));
      for (let i = 0; i < names.length; i++) {
        const name = names[i]!;
        if (kind !== 'dir') throw err(ERRNO.ENOTDIR, name);
        const top = chain[chain.length - 1] ?? this.rootFd;
        if (name === '..') {
          if (path.length > 0) {
            path.pop();
            closeQuiet(chain.pop()!);
          }
          const st = fstatSync(chain[chain.length - 1] ?? this.rootFd, { bigint: true });
          ino = st.ino;
          dev = st.dev;
          kind = 'dir';
        } else if (name !== '.') {
          if (name === '' || name.includes('/') || name.includes('\0')) throw err(ERRNO.ENOENT, `bad name ${JSON.stringify(name)}`);
          if (Buffer.byteLength(name) > NAME_MAX) throw err(ERRNO.ENAMETOOLONG);
          let st: BigIntStats | undefined;
          if (i < names.length - 1) {
            // A directory on the way is opened first (O_NOFOLLOW: never through a
            // symlink) and what was opened is stat'ed: one call fewer than
            // lstat + open + fstat, and no window between them.
            const fd = openDirOrNot(at(top, name));
            if (fd !== undefined) {
              chain.push(fd);
              st = fstatSync(fd, { bigint: true });
            }
          }
          st ??= lstatAt(top, name);
          path.push(name);
          ino = st.ino;
          dev = st.dev;
          kind = kindOf(st);
        }
        qids.push(qidOf(kind, ino));
      }
    } catch (e) {
      if (qids.length === 0) throw e;
      return { qids };
    } finally {
      for (const fd of chain) closeQuiet(fd);
    }
    return { qids, node: { path, ino, dev, kind } };
  }

  clunk(fid: LocalFid): void {
    const fd = fid.fd;
    if (fd === undefined) return;
    fid.fd = undefined;
    this.dropListing(fid);
    if ((fid.uses ?? 0) > 0) {
      // A read, write or readdir on it is still running (in the thread pool, with the fd's
      // number): closing now would let the next open anywhere take that number and the
      // pending operation read or write that file instead. The last one closes it.
      fid.closing = fd;
      return;
    }
    this.open--;
    closeSync(fd);
  }

  /** Counts `r`, when it is pending, as a use of the fid's fd until it settles (see clunk). */
  private held<T>(fid: LocalFid, r: T | Promise<T>): T | Promise<T> {
    if (!(r instanceof Promise)) return r;
    fid.uses = (fid.uses ?? 0) + 1;
    return r.finally(() => {
      fid.uses = (fid.uses ?? 1) - 1;
      const fd = fid.closing;
      if (fid.uses === 0 && fd !== undefined) {
        fid.closing = undefined;
        this.open--;
        closeQuiet(fd);
      }
    });
  }

  lopen(fid: LocalFid, flags: number): { qid: Qid; iounit: number; node: LocalFid } {
    if (this.readOnly && mutates(flags)) throw err(ERRNO.EROFS);
    if (fid.kind === 'symlink') throw err(ERRNO.ELOOP);
    if (fid.kind === 'dir' && (flags & 3) !== 0) throw err(ERRNO.EISDIR);
    const hf = hostFlags(flags);
    if (this.open >= this.maxOpenFiles) throw err(ERRNO.EMFILE, `${this.maxOpenFiles} files open`);
    // The root itself is opened as '.' of its fd, which (unlike a trailing /proc magic link) O_NOFOLLOW accepts.
    const n = fid.path.length - 1;
    const fd = n < 0 ? openSync(at(this.rootFd, '.'), hf) : inDir(this.rootFd, fid.path, n, (d) => openSync(at(d, fid.path[n]!), hf));
    this.open++;
    try {
      const st = fstatSync(fd, { bigint: true });
      if (!sameFile(st, fid.ino, fid.dev)) throw err(ERRNO.ESTALE, 'replaced since walked');
      return { qid: qidOf(kindOf(st), st.ino), iounit: this.iounit, node: { ...this.plain(fid), fd, access: flags & 3 } };
    } catch (e) {
      this.open--;
      closeQuiet(fd);
      throw e;
    }
  }

  async lcreate(dir: LocalFid, req: { name: string; flags: number; mode: number }): Promise<{ qid: Qid; iounit: number; node: LocalFid }> {
    this.writable();
    checkName(req.name);
    const { name } = req;
    const mode = req.mode & 0o7777;
    const fd = await this.reserveFd(() =>
      withDir(this.rootFd, this.dirPath(dir), async (d) => {
        try {
          const fd = await openFd(at(d, name), hostFlags(req.flags | P9_DOTL_EXCL, true), mode);
          // Created here: set the mode the guest asked for, whatever our umask.
          await fchmodFd(fd, mode).catch(() => {});
          return fd;
        } catch (e) {
          if ((e as { code?: string }).code !== 'EEXIST' || (req.flags & P9_DOTL_EXCL) !== 0) throw e;
          return openFd(at(d, name), hostFlags(req.flags));
        }
      }),
    );
    try {
      const st = await fstatBig(fd);
      const kind = kindOf(st);
      if (kind === 'dir') throw err(ERRNO.EISDIR, name);
      return { qid: qidOf(kind, st.ino), iounit: this.iounit, node: { path: [...dir.path, name], ino: st.ino, dev: st.dev, kind, fd, access: req.flags & 3 } };
    } catch (e) {
      this.open--;
      await closeFd(fd).catch(() => {});
      throw e;
    }
  }

  async read(fid: LocalFid, offset: bigint, count: number): Promise<Uint8Array> {
    const buf = Buffer.allocUnsafe(count);
    return buf.subarray(0, await this.readInto(fid, offset, buf));
  }

  /** Reads into the reply frame the server hands over (no copy afterwards). */
  readInto(fid: LocalFid, offset: bigint, buf: Uint8Array): number | Promise<number> {
    const fd = this.openFd(fid);
    if (fid.kind === 'dir') throw err(ERRNO.EISDIR);
    if (fid.access === 1) throw err(ERRNO.EBADF, 'not open for reading');
    return this.held(fid, readFd(fd, buf, buf.length, position(offset)));
  }

  write(fid: LocalFid, offset: bigint, data: Uint8Array): number | Promise<number> {
    const fd = this.openFd(fid);
    if (this.readOnly) throw err(ERRNO.EROFS);
    if (fid.access !== 1 && fid.access !== 2) throw err(ERRNO.EBADF, 'not open for writing');
    return this.held(fid, writeFd(fd, data, position(offset)));
  }

  /** A Twrite that arrived in pieces: written as they are, with one pwritev (no copy into one buffer). */
  writev(fid: LocalFid, offset: bigint, data: readonly Uint8Array[]): number | Promise<number> {
    const fd = this.openFd(fid);
    if (this.readOnly) throw err(ERRNO.EROFS);
    if (fid.access !== 1 && fid.access !== 2) throw err(ERRNO.EBADF, 'not open for writing');
    let len = 0;
    for (const p of data) len += p.length;
    return this.held(fid, writevFd(fd, data, len, position(offset)));
  }

  readdir(fid: LocalFid, offset: bigint, count: number): Promise<Dirent[]> {
    const fd = this.openFd(fid);
    if (fid.kind !== 'dir') throw err(ERRNO.ENOTDIR);
    return this.held(fid, this.readdirAt(fid, fd, offset, count)) as Promise<Dirent[]>;
  }

  private async readdirAt(fid: LocalFid, fd: number, offset: bigint, count: number): Promise<Dirent[]> {
    // Cookies are positions in a listing taken at cookie 0 (rewinddir), so
    // they stay stable however the directory changes while it is read.
    let all = fid.listing;
    if (offset === 0n || all === undefined) {
      const ents = await fsp.readdir(at(fd), { withFileTypes: true });
      all = [{ name: '.', type: DT_DIR }, { name: '..', type: DT_DIR }, ...ents.map((e) => ({ name: e.name, type: dtOf(e) }))];
      // Kept for the next Treaddir, unless the fid was clunked meanwhile.
      if (fid.fd === fd) this.keepListing(fid, all);
    }
    const start = offset > BigInt(all.length) ? all.length : Number(offset);
    // Only the entries that can fit (qid[13] offset[8] type[1] name[s] each) are looked up.
    const page: DirEntryRef[] = [];
    for (let i = start, room = count; i < all.length; i++) {
      const e = all[i]!;
      room -= 24 + Buffer.byteLength(e.name);
      if (room < 0) break;
      page.push(e);
    }
    const inos = await Promise.all(
      page.map(async (e) => {
        if (e.name === '.') return fid.ino;
        if (e.name === '..' && fid.path.length === 0) return this.rootIno;
        return (await lstatBig(at(fd, e.name)).catch(() => undefined))?.ino ?? 0n;
      }),
    );
    return page.map((e, i) => ({
      qid: { type: e.type === DT_DIR ? QTDIR : e.type === DT_LNK ? QTSYMLINK : QTFILE, version: 0, path: inos[i] ?? 0n },
      offset: BigInt(start + i + 1),
      type: e.type,
      name: e.name,
    }));
  }

  getattr(fid: LocalFid): AttrReply {
    const st = this.stat(fid);
    const as = st.atimeNs / NS;
    const an = st.atimeNs % NS;
    const ms = st.mtimeNs / NS;
    const mn = st.mtimeNs % NS;
    const cs = st.ctimeNs / NS;
    const cn = st.ctimeNs % NS;
    const bs = st.birthtimeNs / NS;
    const bn = st.birthtimeNs % NS;
    return {
      valid: P9_GETATTR_BASIC | P9_GETATTR_BTIME,
      qid: qidOf(kindOf(st), st.ino),
      mode: Number(st.mode),
      uid: this.uid ?? this.reported(this.uidMap, Number(st.uid)),
      gid: this.gid ?? this.reported(this.gidMap, Number(st.gid)),
      nlink: st.nlink,
      rdev: st.rdev,
      size: st.size,
      blksize: st.blksize,
      blocks: st.blocks,
      atimeSec: as,
      atimeNsec: an,
      mtimeSec: ms,
      mtimeNsec: mn,
      ctimeSec: cs,
      ctimeNsec: cn,
      btimeSec: bs,
      btimeNsec: bn,
      gen: 0n,
      dataVersion: 0n,
    };
  }

  async setattr(fid: LocalFid, a: SetattrRequest): Promise<void> {
    this.writable();
    let uid = -1;
    let gid = -1;
    if ((a.valid & P9_SETATTR_UID) !== 0) uid = this.owner(a.uid, this.uid, this.uidMap, 'uid');
    if ((a.valid & P9_SETATTR_GID) !== 0) gid = this.owner(a.gid, this.gid, this.gidMap, 'gid');
    const times = (a.valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME)) !== 0;
    await this.atNode(fid, async (dirFd, name) => {
      const ref = await openFd(at(dirFd, name), NODE_REF);
      try {
        const st = await fstatBig(ref);
        if (!sameFile(st, fid.ino, fid.dev)) throw err(ERRNO.ESTALE, 'replaced since walked');
        if (st.isSymbolicLink()) {
          // Never through the link: lchown/lutimes on the name, chmod/truncate refused as Linux does.
          if ((a.valid & P9_SETATTR_MODE) !== 0) throw err(ERRNO.EOPNOTSUPP, 'chmod of a symlink');
          if ((a.valid & P9_SETATTR_SIZE) !== 0) throw err(ERRNO.EINVAL, 'truncate of a symlink');
          if (uid !== -1 || gid !== -1) await fsp.lchown(at(dirFd, name), uid, gid);
          if (times) await fsp.lutimes(at(dirFd, name), ...timesOf(a, st));
          return;
        }
        // /proc/self/fd/<O_PATH fd> names exactly the inode checked above.
        const self = at(ref);
        if ((a.valid & P9_SETATTR_SIZE) !== 0) {
          if (st.isDirectory()) throw err(ERRNO.EISDIR);
          if (!st.isFile()) throw err(ERRNO.EINVAL);
          await fsp.truncate(self, position(a.size));
        }
        if ((a.valid & P9_SETATTR_MODE) !== 0) await fsp.chmod(self, (Number(st.mode) & S_IFMT) | (a.mode & 0o7777));
        if (uid !== -1 || gid !== -1) await fsp.chown(self, uid, gid);
        if (times) await fsp.utimes(self, ...timesOf(a, st));
      } finally {
        await closeFd(ref).catch(() => {});
      }
    });
  }

  async statfs(): Promise<StatfsReply> {
    const s = await fsp.statfs(at(this.rootFd), { bigint: true });
    return {
      fsType: Number(s.type & 0xffffffffn),
      bsize: Number(s.bsize),
      blocks: s.blocks,
      bfree: s.bfree,
      bavail: s.bavail,
      files: s.files,
      ffree: s.ffree,
      fsid: 0n,
      namelen: NAME_MAX,
    };
  }

  async mkdir(dir: LocalFid, req: { name: string; mode: number }): Promise<Qid> {
    this.writable();
    checkName(req.name);
    return withDir(this.rootFd, this.dirPath(dir), async (d) => {
      await fsp.mkdir(at(d, req.name), { mode: req.mode & 0o7777 });
      const ref = await openFd(at(d, req.name), DIR_STEP);
      try {
        await fsp.chmod(at(ref), req.mode & 0o7777).catch(() => {});
        return qidOf('dir', (await fstatBig(ref)).ino);
      } finally {
        await closeFd(ref).catch(() => {});
      }
    });
  }

  async symlink(dir: LocalFid, req: { name: string; target: string }): Promise<Qid> {
    this.writable();
    checkName(req.name);
    if (req.target === '') throw err(ERRNO.ENOENT, 'empty target');
    if (req.target.includes('\0')) throw err(ERRNO.EINVAL, 'NUL in target');
    if (Buffer.byteLength(req.target) >= PATH_MAX) throw err(ERRNO.ENAMETOOLONG);
    return withDir(this.rootFd, this.dirPath(dir), async (d) => {
      // The target is stored, never resolved by this server.
      await fsp.symlink(req.target, at(d, req.name));
      return qidOf('symlink', (await fsp.lstat(at(d, req.name), { bigint: true })).ino);
    });
  }

  async mknod(dir: LocalFid, req: { name: string; mode: number }): Promise<Qid> {
    this.writable();
    checkName(req.name);
    const type = req.mode & S_IFMT;
    const perm = req.mode & 0o7777;
    return withDir(this.rootFd, this.dirPath(dir), async (d) => {
      if (type === S_IFREG || type === 0) {
        const fd = await openFd(at(d, req.name), C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, perm);
        await fchmodFd(fd, perm).finally(() => closeFd(fd));
      } else if (type === S_IFIFO) {
        // Node has no mkfifo(3); the tool gets our directory fd's /proc name (its own /proc/self differs).
        await run('mkfifo', ['-m', perm.toString(8), `/proc/${process.pid}/fd/${d}/${req.name}`]).catch((e: unknown) => {
          throw err(ERRNO.EIO, `mkfifo: ${(e as Error).message}`);
        });
      } else {
        throw err(ERRNO.EPERM, 'only regular files and FIFOs');
      }
      const st = await fsp.lstat(at(d, req.name), { bigint: true });
      return qidOf(kindOf(st), st.ino);
    });
  }

  async readlink(fid: LocalFid): Promise<string> {
    if (fid.kind !== 'symlink') throw err(ERRNO.EINVAL, 'not a symlink');
    return this.atNode(fid, (d, name) => fsp.readlink(at(d, name)));
  }

  async link(dir: LocalFid, fid: LocalFid, name: string): Promise<void> {
    this.writable();
    checkName(name);
    if (fid.kind === 'dir') throw err(ERRNO.EPERM, 'hard link to a directory');
    // link(2) does not follow a symlink at oldpath: the link is to the node itself.
    await this.atNode(fid, (sd, sname) => withDir(this.rootFd, this.dirPath(dir), (d) => fsp.link(at(sd, sname), at(d, name))));
  }

  async rename(fid: LocalFid, dir: LocalFid, name: string): Promise<void> {
    this.writable();
    if (fid.path.length === 0) throw err(ERRNO.EBUSY, 'the root');
    const oldname = fid.path[fid.path.length - 1]!;
    await this.renameat({ ...fid, path: fid.path.slice(0, -1), kind: 'dir' }, oldname, dir, name);
    fid.path = [...dir.path, name];
  }

  async renameat(olddir: LocalFid, oldname: string, newdir: LocalFid, newname: string): Promise<void> {
    this.writable();
    checkName(oldname);
    checkName(newname);
    await withDir(this.rootFd, this.dirPath(olddir), (o) => withDir(this.rootFd, this.dirPath(newdir), (n) => fsp.rename(at(o, oldname), at(n, newname))));
  }

  async unlinkat(dir: LocalFid, name: string, flags: number): Promise<void> {
    this.writable();
    checkName(name);
    await withDir(this.rootFd, this.dirPath(dir), (d) => ((flags & P9_DOTL_AT_REMOVEDIR) !== 0 ? fsp.rmdir(at(d, name)) : fsp.unlink(at(d, name))));
  }

  async remove(fid: LocalFid): Promise<void> {
    this.writable();
    if (fid.path.length === 0) throw err(ERRNO.EBUSY, 'the root');
    await this.atNode(fid, async (d, name) => {
      const st = await fsp.lstat(at(d, name));
      await (st.isDirectory() ? fsp.rmdir(at(d, name)) : fsp.unlink(at(d, name)));
    });
  }

  async fsync(fid: LocalFid, datasync: number): Promise<void> {
    const sync = datasync !== 0 ? fdatasyncFd : fsyncFd;
    if (fid.fd !== undefined) return this.held(fid, sync(fid.fd));
    const fd = await this.atNode(fid, (d, name) => openFd(at(d, name), C.O_RDONLY | C.O_NOFOLLOW | C.O_NONBLOCK));
    await sync(fd).finally(() => closeFd(fd));
  }

  // ------------------------------------------------------------ internals --

  /** Bytes the listings of open directories are counted as now (see maxListingBytes). */
  get listingMemory(): number {
    return this.listingBytes;
  }

  private keepListing(fid: LocalFid, listing: DirEntryRef[]): void {
    this.dropListing(fid);
    let cost = 0;
    for (const e of listing) cost += 64 + Buffer.byteLength(e.name);
    // One listing past the whole budget is not kept (its fid re-lists at each Treaddir):
    // kept, it would push out every other fid's, and two such fids would take turns.
    if (cost > this.maxListingBytes) return;
    fid.listing = listing;
    this.listings.set(fid, cost);
    this.listingBytes += cost;
    // The oldest go first; the one just taken stays.
    for (const [old, c] of this.listings) {
      if (this.listingBytes <= this.maxListingBytes || old === fid) break;
      old.listing = undefined;
      this.listings.delete(old);
      this.listingBytes -= c;
    }
  }

  private dropListing(fid: LocalFid): void {
    fid.listing = undefined;
    const c = this.listings.get(fid);
    if (c === undefined) return;
    this.listings.delete(fid);
    this.listingBytes -= c;
  }

  private writable(): void {
    if (this.readOnly) throw err(ERRNO.EROFS);
  }

  private plain(fid: LocalFid): LocalFid {
    return { path: [...fid.path], ino: fid.ino, dev: fid.dev, kind: fid.kind };
  }

  private dirPath(fid: LocalFid): string[] {
    if (fid.kind !== 'dir') throw err(ERRNO.ENOTDIR);
    return fid.path;
  }

  private openFd(fid: LocalFid): number {
    if (fid.fd === undefined) throw err(ERRNO.EBADF, 'fid not open');
    return fid.fd;
  }

  /**
   * Runs `fn` with the node's parent directory fd and its name; for the
   * root, with the root fd and '.', which (unlike a trailing /proc magic
   * link) O_NOFOLLOW accepts.
   */
  private atNode<T>(fid: LocalFid, fn: (dirFd: number, name: string) => Promise<T>): Promise<T> {
    const name = fid.path[fid.path.length - 1];
    if (name === undefined) return fn(this.rootFd, '.');
    return withDir(this.rootFd, fid.path.slice(0, -1), (d) => fn(d, name));
  }

  /** The node's attributes now: from its open fd, else an lstat of its name in its directory (reached the safe way). */
  private stat(fid: LocalFid): BigIntStats {
    if (fid.fd !== undefined) return fstatSync(fid.fd, { bigint: true });
    const n = fid.path.length - 1;
    if (n < 0) return lstatAt(this.rootFd, '.');
    return inDir(this.rootFd, fid.path, n, (d) => lstatAt(d, fid.path[n]!));
  }

  /** Counts an fd a fid will hold; EMFILE past the bound. */
  private async reserveFd(opener: () => Promise<number>): Promise<number> {
    if (this.open >= this.maxOpenFiles) throw err(ERRNO.EMFILE, `${this.maxOpenFiles} files open`);
    this.open++;
    try {
      return await opener();
    } catch (e) {
      this.open--;
      throw e;
    }
  }

  /** The host id setattr sets for the guest's `asked` (-1: leave as it is). */
  private owner(asked: number, fixed: number | undefined, map: IdMap | undefined, what: string): number {
    if (map !== undefined) {
      const host = map.toHost(asked);
      if (host === undefined) throw err(ERRNO.EINVAL, `${what} ${asked} is not mapped`);
      return host;
    }
    if (fixed === undefined) return asked;
    if (asked === fixed) return -1;
    throw err(ERRNO.EPERM, 'owners are mapped');
  }

  /** A host owner as the guest sees it. */
  private reported(map: IdMap | undefined, host: number): number {
    return map === undefined ? host : (map.toGuest(host) ?? this.overflowId);
  }
}

const DT_FIFO = 1;
const DT_CHR = 2;
const DT_DIR = 4;
const DT_BLK = 6;
const DT_REG = 8;
const DT_LNK = 10;
const DT_SOCK = 12;

function dtOf(e: { isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): number {
  if (e.isDirectory()) return DT_DIR;
  if (e.isFile()) return DT_REG;
  if (e.isSymbolicLink()) return DT_LNK;
  if (e.isFIFO()) return DT_FIFO;
  if (e.isSocket()) return DT_SOCK;
  if (e.isCharacterDevice()) return DT_CHR;
  if (e.isBlockDevice()) return DT_BLK;
  return 0;
}

/** Opens a directory on a walk's way (O_PATH|O_DIRECTORY|O_NOFOLLOW); undefined when the name is not one (a file, a symlink). */
function openDirOrNot(path: string): number | undefined {
  try {
    return openSync(path, DIR_STEP);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOTDIR' || code === 'ELOOP') return undefined; // not a directory: qid from lstat, the next name fails
    throw e;
  }
}

function qidOf(kind: Kind, ino: bigint): Qid {
  return { type: kind === 'dir' ? QTDIR : kind === 'symlink' ? QTSYMLINK : QTFILE, version: 0, path: ino };
}

/** A file offset as the number Node's fs calls take (a bigint position is not honoured by fs.write). */
function position(offset: bigint): number {
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw err(ERRNO.EFBIG);
  return Number(offset);
}

/** The [atime, mtime] to set, in seconds: SET takes the request's, NOW the clock, and an absent one is kept. */
function timesOf(a: SetattrRequest, st: BigIntStats): [number, number] {
  const now = Date.now() / 1000;
  const sec = (s: bigint, ns: bigint): number => Number(s) + Number(ns) / 1e9;
  const keep = (ns: bigint): number => Number(ns / 1000n) / 1e6;
  const atime =
    (a.valid & P9_SETATTR_ATIME) === 0 ? keep(st.atimeNs) : (a.valid & P9_SETATTR_ATIME_SET) !== 0 ? sec(a.atimeSec, a.atimeNsec) : now;
  const mtime =
    (a.valid & P9_SETATTR_MTIME) === 0 ? keep(st.mtimeNs) : (a.valid & P9_SETATTR_MTIME_SET) !== 0 ? sec(a.mtimeSec, a.mtimeNsec) : now;
  return [atime, mtime];
}
