/*
 * An in-memory file tree served over 9P2000.L.
 *
 * intro(5): "qid ... path[8] ... unique among all files in the hierarchy
 *   ... version[4] ... incremented every time the file is modified".
 * diod protocol.md: getattr/setattr fields; readdir "offset ... of the next
 *   entry"; unlinkat "AT_REMOVEDIR"; statfs "type[4] bsize[4] blocks[8] ...".
 *
 * Directories, regular files and symlinks, with modes, owners and times but
 * no permission checks (every caller may do everything). Bounded: at most
 * `maxNodes` nodes and `maxBytes` bytes of file contents; past them, ENOSPC.
 * A removed node stays readable through fids that still hold it, as on Unix.
 */
import {
  P9_DOTL_AT_REMOVEDIR,
  P9_DOTL_EXCL,
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
  QTFILE,
  QTSYMLINK,
} from '../codec/constants.js';
import type { Dirent, Qid } from '../codec/types.js';
import { ERRNO, errnoName } from '../channel/errno.js';
import { RemoteError } from '../channel/errors.js';
import type { AttrReply, Handler, SetattrRequest, StatfsReply } from '../server/handler.js';

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const DT_DIR = 4;
const DT_REG = 8;
const DT_LNK = 10;
/** V9FS_MAGIC, what Linux's statfs reports for a 9p mount. */
const V9FS_MAGIC = 0x01021997;
const BLOCK = 4096;
const NAME_MAX = 255;
const PATH_MAX = 4096;

interface Times {
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
}

interface Base {
  ino: bigint;
  mode: number;
  uid: number;
  gid: number;
  version: number;
  /** Nanoseconds since the epoch. */
  t: Times;
  parent: Dir;
  /** 0 once unlinked. */
  nlink: number;
}
interface Dir extends Base {
  kind: 'dir';
  children: Map<string, MemNode>;
}
interface Reg extends Base {
  kind: 'file';
  data: Uint8Array;
  size: number;
}
interface Link extends Base {
  kind: 'symlink';
  target: string;
}
type MemNode = Dir | Reg | Link;
type Shape = { kind: 'dir'; children: Map<string, MemNode> } | { kind: 'file'; data: Uint8Array; size: number } | { kind: 'symlink'; target: string };

/** The value the server keeps per fid. */
export interface MemoryFid {
  node: MemNode;
  open: boolean;
  /** The open flags' access mode (0 read, 1 write, 2 both), once open. */
  access?: number;
}

export interface MemoryFsOptions {
  /** Most bytes of file contents in all (default 64 MiB). */
  maxBytes?: number;
  /** Most nodes, the root included (default 10,000). */
  maxNodes?: number;
  /** The iounit returned by open/create (default 0: the client uses msize - 24). */
  iounit?: number;
  /** Clock (default Date.now); tests may fix it. */
  now?: () => number;
}

function err(errno: number, why?: string): RemoteError {
  return RemoteError.reply(errno, why === undefined ? undefined : `${errnoName(errno)}: ${why}`);
}

/**
 * A bounded in-memory tree: a Handler for serve().
 *
 * @example
 *   const fs = new MemoryFs({ maxBytes: 1 << 20 });
 *   fs.writeFile('etc/motd', 'hello\n');
 *   serve({ stream: socket, handler: fs });
 */
export class MemoryFs implements Handler<MemoryFid> {
  readonly maxBytes: number;
  readonly maxNodes: number;
  private readonly iounit: number;
  private readonly now: () => number;
  private nextIno = 1n;
  private nodes = 0;
  private bytes = 0;
  readonly root: Dir;

  constructor(opts: MemoryFsOptions = {}) {
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.maxNodes = opts.maxNodes ?? 10_000;
    this.iounit = opts.iounit ?? 0;
    this.now = opts.now ?? Date.now;
    this.root = this.alloc({ kind: 'dir', children: new Map() }, S_IFDIR | 0o755, undefined) as Dir;
  }

  /** Nodes in the tree (the root included) and bytes of contents. */
  get usage(): { nodes: number; bytes: number } {
    return { nodes: this.nodes, bytes: this.bytes };
  }

  // ------------------------------------------------ host-side conveniences --

  /** Creates (or replaces the contents of) a file, making parent directories. For tests and seeding. */
  writeFile(path: string, contents: string | Uint8Array, mode = 0o644): void {
    const names = path.split('/').filter((s) => s !== '');
    const name = names.pop();
    if (name === undefined) throw err(ERRNO.EINVAL, 'empty path');
    let dir = this.root;
    for (const n of names) {
      const c = dir.children.get(n) ?? this.addChild(dir, n, this.alloc({ kind: 'dir', children: new Map() }, S_IFDIR | 0o755, dir));
      if (c.kind !== 'dir') throw err(ERRNO.ENOTDIR, n);
      dir = c;
    }
    const data = typeof contents === 'string' ? new TextEncoder().encode(contents) : contents;
    let f = dir.children.get(name);
    f ??= this.addChild(dir, name, this.alloc({ kind: 'file', data: new Uint8Array(0), size: 0 }, S_IFREG | mode, dir));
    if (f.kind !== 'file') throw err(ERRNO.EISDIR, name);
    this.truncate(f, 0);
    this.writeAt(f, 0, data);
  }

  /** A node's contents or listing, by path; undefined if absent. For tests. */
  lookup(path: string): { kind: 'dir'; names: string[] } | { kind: 'file'; data: Uint8Array } | { kind: 'symlink'; target: string } | undefined {
    let n: MemNode = this.root;
    for (const name of path.split('/').filter((s) => s !== '')) {
      if (n.kind !== 'dir') return undefined;
      const c = n.children.get(name);
      if (c === undefined) return undefined;
      n = c;
    }
    if (n.kind === 'dir') return { kind: 'dir', names: [...n.children.keys()] };
    if (n.kind === 'file') return { kind: 'file', data: n.data.slice(0, n.size) };
    return { kind: 'symlink', target: n.target };
  }

  // ------------------------------------------------------------- Handler --

  attach(): { qid: Qid; node: MemoryFid } {
    return { qid: qidOf(this.root), node: { node: this.root, open: false } };
  }

  walk(fid: MemoryFid, names: readonly string[]): { qids: Qid[]; node?: MemoryFid } {
    let n = fid.node;
    const qids: Qid[] = [];
    for (const name of names) {
      let next: MemNode | undefined;
      if (n.kind !== 'dir') next = undefined;
      else if (name === '..') next = n.parent;
      else if (name === '.') next = n;
      else next = n.children.get(name);
      if (next === undefined) {
        if (qids.length === 0) throw err(n.kind === 'dir' ? ERRNO.ENOENT : ERRNO.ENOTDIR, name);
        return { qids };
      }
      n = next;
      qids.push(qidOf(n));
    }
    return { qids, node: { node: n, open: false } };
  }

  lopen(fid: MemoryFid, flags: number): { qid: Qid; iounit: number; node: MemoryFid } {
    const n = fid.node;
    const acc = flags & 3;
    if (n.kind === 'dir' && acc !== 0) throw err(ERRNO.EISDIR);
    if (n.kind === 'symlink') throw err(ERRNO.ELOOP);
    if (n.kind === 'file' && (flags & P9_DOTL_TRUNC) !== 0 && acc !== 0) this.truncate(n, 0);
    return { qid: qidOf(n), iounit: this.iounit, node: { node: n, open: true, access: acc } };
  }

  lcreate(dirFid: MemoryFid, req: { name: string; flags: number; mode: number }): { qid: Qid; iounit: number; node: MemoryFid } {
    const dir = this.dirOf(dirFid);
    checkName(req.name);
    const existing = dir.children.get(req.name);
    if (existing !== undefined) {
      if ((req.flags & P9_DOTL_EXCL) !== 0) throw err(ERRNO.EEXIST, req.name);
      return this.lopen({ node: existing, open: false }, req.flags);
    }
    const f = this.addChild(dir, req.name, this.alloc({ kind: 'file', data: new Uint8Array(0), size: 0 }, S_IFREG | (req.mode & 0o7777), dir));
    return { qid: qidOf(f), iounit: this.iounit, node: { node: f, open: true, access: req.flags & 3 } };
  }

  read(fid: MemoryFid, offset: bigint, count: number): Uint8Array {
    const n = fid.node;
    if (n.kind !== 'file') throw err(ERRNO.EISDIR);
    if (fid.access === 1 || fid.access === 3) throw err(ERRNO.EBADF, 'not open for reading');
    n.t.atime = this.ns();
    if (offset >= BigInt(n.size)) return new Uint8Array(0);
    const at = Number(offset);
    return n.data.subarray(at, Math.min(n.size, at + count));
  }

  write(fid: MemoryFid, offset: bigint, data: Uint8Array): number {
    const n = fid.node;
    if (n.kind !== 'file') throw err(ERRNO.EISDIR);
    if (fid.access !== 1 && fid.access !== 2) throw err(ERRNO.EBADF, 'not open for writing');
    if (offset + BigInt(data.length) > BigInt(this.maxBytes)) throw err(ERRNO.EFBIG);
    this.writeAt(n, Number(offset), data);
    return data.length;
  }

  readdir(fid: MemoryFid, offset: bigint): Dirent[] {
    const n = fid.node;
    if (n.kind !== 'dir') throw err(ERRNO.ENOTDIR);
    const all: [string, MemNode][] = [['.', n], ['..', n.parent], ...n.children];
    // Cookies are positions: entry i carries offset i + 1, the next one's position.
    const start = offset > BigInt(all.length) ? all.length : Number(offset);
    // A page is bounded by count downstream; 512 entries is more than any msize holds.
    return all.slice(start, start + 512).map(([name, c], i) => ({
      qid: qidOf(c),
      offset: BigInt(start + i + 1),
      type: c.kind === 'dir' ? DT_DIR : c.kind === 'file' ? DT_REG : DT_LNK,
      name,
    }));
  }

  getattr(fid: MemoryFid): AttrReply {
    const n = fid.node;
    const size = n.kind === 'file' ? n.size : n.kind === 'symlink' ? new TextEncoder().encode(n.target).length : BLOCK;
    const ts = (t: bigint): [bigint, bigint] => [t / 1_000_000_000n, t % 1_000_000_000n];
    const [as, an] = ts(n.t.atime);
    const [ms, mn] = ts(n.t.mtime);
    const [cs, cn] = ts(n.t.ctime);
    return {
      valid: P9_GETATTR_BASIC,
      qid: qidOf(n),
      mode: n.mode,
      uid: n.uid,
      gid: n.gid,
      nlink: BigInt(n.kind === 'dir' ? 2 + [...n.children.values()].filter((c) => c.kind === 'dir').length : n.nlink),
      rdev: 0n,
      size: BigInt(size),
      blksize: BigInt(BLOCK),
      blocks: BigInt(Math.ceil(size / 512)),
      atimeSec: as,
      atimeNsec: an,
      mtimeSec: ms,
      mtimeNsec: mn,
      ctimeSec: cs,
      ctimeNsec: cn,
      btimeSec: 0n,
      btimeNsec: 0n,
      gen: 0n,
      dataVersion: BigInt(n.version),
    };
  }

  setattr(fid: MemoryFid, a: SetattrRequest): void {
    const n = fid.node;
    if ((a.valid & P9_SETATTR_SIZE) !== 0) {
      if (n.kind !== 'file') throw err(n.kind === 'dir' ? ERRNO.EISDIR : ERRNO.EINVAL);
      if (a.size > BigInt(this.maxBytes)) throw err(ERRNO.EFBIG);
      this.truncate(n, Number(a.size));
    }
    if ((a.valid & P9_SETATTR_MODE) !== 0) n.mode = (n.mode & S_IFMT) | (a.mode & 0o7777);
    if ((a.valid & P9_SETATTR_UID) !== 0) n.uid = a.uid;
    if ((a.valid & P9_SETATTR_GID) !== 0) n.gid = a.gid;
    const now = this.ns();
    if ((a.valid & P9_SETATTR_ATIME) !== 0) {
      n.t.atime = (a.valid & P9_SETATTR_ATIME_SET) !== 0 ? a.atimeSec * 1_000_000_000n + a.atimeNsec : now;
    }
    if ((a.valid & P9_SETATTR_MTIME) !== 0) {
      n.t.mtime = (a.valid & P9_SETATTR_MTIME_SET) !== 0 ? a.mtimeSec * 1_000_000_000n + a.mtimeNsec : now;
    }
    n.t.ctime = now;
    n.version = (n.version + 1) >>> 0;
  }

  statfs(): StatfsReply {
    const blocks = BigInt(Math.floor(this.maxBytes / BLOCK));
    const free = BigInt(Math.floor((this.maxBytes - this.bytes) / BLOCK));
    return {
      fsType: V9FS_MAGIC,
      bsize: BLOCK,
      blocks,
      bfree: free,
      bavail: free,
      files: BigInt(this.maxNodes),
      ffree: BigInt(this.maxNodes - this.nodes),
      fsid: 0n,
      namelen: NAME_MAX,
    };
  }

  mkdir(dirFid: MemoryFid, req: { name: string; mode: number }): Qid {
    const dir = this.dirOf(dirFid);
    this.checkFree(dir, req.name);
    return qidOf(this.addChild(dir, req.name, this.alloc({ kind: 'dir', children: new Map() }, S_IFDIR | (req.mode & 0o7777), dir)));
  }

  symlink(dirFid: MemoryFid, req: { name: string; target: string }): Qid {
    const dir = this.dirOf(dirFid);
    this.checkFree(dir, req.name);
    if (req.target.length > PATH_MAX) throw err(ERRNO.ENAMETOOLONG);
    return qidOf(this.addChild(dir, req.name, this.alloc({ kind: 'symlink', target: req.target }, S_IFLNK | 0o777, dir)));
  }

  readlink(fid: MemoryFid): string {
    if (fid.node.kind !== 'symlink') throw err(ERRNO.EINVAL, 'not a symlink');
    return fid.node.target;
  }

  rename(fid: MemoryFid, dirFid: MemoryFid, name: string): void {
    const n = fid.node;
    if (n === this.root || n.nlink === 0) throw err(ERRNO.EBUSY);
    const oldName = [...n.parent.children].find(([, c]) => c === n)?.[0];
    if (oldName === undefined) throw err(ERRNO.ENOENT);
    this.move(n.parent, oldName, this.dirOf(dirFid), name);
  }

  renameat(oldFid: MemoryFid, oldname: string, newFid: MemoryFid, newname: string): void {
    this.move(this.dirOf(oldFid), oldname, this.dirOf(newFid), newname);
  }

  unlinkat(dirFid: MemoryFid, name: string, flags: number): void {
    const dir = this.dirOf(dirFid);
    const n = dir.children.get(name);
    if (n === undefined) throw err(ERRNO.ENOENT, name);
    const rmdir = (flags & P9_DOTL_AT_REMOVEDIR) !== 0;
    if (rmdir && n.kind !== 'dir') throw err(ERRNO.ENOTDIR);
    if (!rmdir && n.kind === 'dir') throw err(ERRNO.EISDIR);
    this.unlink(dir, name, n);
  }

  remove(fid: MemoryFid): void {
    const n = fid.node;
    if (n === this.root) throw err(ERRNO.EBUSY);
    if (n.nlink === 0) throw err(ERRNO.ENOENT);
    const name = [...n.parent.children].find(([, c]) => c === n)?.[0];
    if (name === undefined) throw err(ERRNO.ENOENT);
    this.unlink(n.parent, name, n);
  }

  // ------------------------------------------------------------ internals --

  private ns(): bigint {
    return BigInt(Math.floor(this.now())) * 1_000_000n;
  }

  private alloc(shape: Shape, mode: number, parent: Dir | undefined): MemNode {
    if (this.nodes >= this.maxNodes) throw err(ERRNO.ENOSPC, `${this.maxNodes} nodes`);
    this.nodes++;
    const t = this.ns();
    const node = { ...shape, ino: this.nextIno++, mode, uid: 0, gid: 0, version: 0, t: { atime: t, mtime: t, ctime: t }, nlink: 1 } as MemNode;
    node.parent = parent ?? (node as Dir);
    return node;
  }

  private addChild(dir: Dir, name: string, n: MemNode): MemNode {
    dir.children.set(name, n);
    n.parent = dir;
    this.touch(dir);
    return n;
  }

  private unlink(dir: Dir, name: string, n: MemNode): void {
    if (n.kind === 'dir' && n.children.size > 0) throw err(ERRNO.ENOTEMPTY);
    dir.children.delete(name);
    n.nlink = 0;
    this.nodes--;
    if (n.kind === 'file') {
      this.bytes -= n.size;
      n.size = 0;
      n.data = new Uint8Array(0);
    }
    this.touch(dir);
  }

  private move(from: Dir, oldname: string, to: Dir, newname: string): void {
    const n = from.children.get(oldname);
    if (n === undefined) throw err(ERRNO.ENOENT, oldname);
    checkName(newname);
    for (let d: Dir = to; ; d = d.parent) {
      if (d === n) throw err(ERRNO.EINVAL, 'cannot move a directory into itself');
      if (d === d.parent) break;
    }
    const victim = to.children.get(newname);
    if (victim === n) return;
    if (victim !== undefined) {
      if (victim.kind === 'dir' && n.kind !== 'dir') throw err(ERRNO.EISDIR);
      if (victim.kind !== 'dir' && n.kind === 'dir') throw err(ERRNO.ENOTDIR);
      this.unlink(to, newname, victim);
    }
    from.children.delete(oldname);
    this.touch(from);
    this.addChild(to, newname, n);
    n.t.ctime = this.ns();
  }

  private touch(n: MemNode): void {
    n.t.mtime = n.t.ctime = this.ns();
    n.version = (n.version + 1) >>> 0;
  }

  private dirOf(fid: MemoryFid): Dir {
    if (fid.node.kind !== 'dir') throw err(ERRNO.ENOTDIR);
    if (fid.node.nlink === 0) throw err(ERRNO.ENOENT, 'directory removed');
    return fid.node;
  }

  private checkFree(dir: Dir, name: string): void {
    checkName(name);
    if (dir.children.has(name)) throw err(ERRNO.EEXIST, name);
  }

  /**
   * An unlinked file keeps no contents (unlink gives its bytes back to the tree): one still
   * open cannot grow again, or the bytes it took would be charged to the tree for good.
   */
  private checkLinked(f: Reg): void {
    if (f.nlink === 0) throw err(ERRNO.ENOENT, 'file removed');
  }

  private truncate(f: Reg, size: number): void {
    if (size > f.size) {
      this.checkLinked(f);
      this.reserveBytes(size - f.size);
      this.grow(f, size);
      f.data.fill(0, f.size, size);
    } else {
      this.bytes -= f.size - size;
      if (f.data.length > 2 * size + 4096) f.data = f.data.slice(0, size);
    }
    f.size = size;
    this.touch(f);
  }

  private writeAt(f: Reg, at: number, data: Uint8Array): void {
    const end = at + data.length;
    if (end > f.size) {
      this.checkLinked(f);
      this.reserveBytes(end - f.size);
      this.grow(f, end);
      f.data.fill(0, f.size, at);
      f.size = end;
    }
    f.data.set(data, at);
    this.touch(f);
  }

  private reserveBytes(n: number): void {
    if (this.bytes + n > this.maxBytes) throw err(ERRNO.ENOSPC, `${this.maxBytes} bytes`);
    this.bytes += n;
  }

  private grow(f: Reg, size: number): void {
    if (size <= f.data.length) return;
    const cap = Math.min(Math.max(size, f.data.length * 2, 256), Math.max(size, this.maxBytes));
    const next = new Uint8Array(cap);
    next.set(f.data.subarray(0, f.size));
    f.data = next;
  }
}

function qidOf(n: MemNode): Qid {
  return { type: n.kind === 'dir' ? QTDIR : n.kind === 'symlink' ? QTSYMLINK : QTFILE, version: n.version, path: n.ino };
}

function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/')) throw err(ERRNO.EINVAL, `bad name ${JSON.stringify(name)}`);
  if (new TextEncoder().encode(name).length > NAME_MAX) throw err(ERRNO.ENAMETOOLONG);
}
