/**
 * One 9P connection's view of the datakit filesystem: a p9p `Handler` over `Node`s.
 *
 * diod protocol.md: Tlopen, Tlcreate, Treaddir ("offset ... of the next entry"),
 * Tgetattr, Tsetattr (only size, and mode's executable bit, mean anything here;
 * owners and times are accepted and ignored), Tmkdir, Tsymlink, Treadlink,
 * Trenameat, Tunlinkat ("AT_REMOVEDIR"), Tremove, Tstatfs.
 *
 * A fid holds the path of nodes from the root (so ".." and remove know the parent)
 * and, once opened, its OpenFile. Errors: a FsError's errno; a store error that
 * escapes is mapped here (a missing object is ENOENT, a lock held too long EBUSY),
 * anything else is EIO and goes to `log`.
 */
import {
  P9_DOTL_AT_REMOVEDIR,
  P9_DOTL_TRUNC,
  P9_GETATTR_BASIC,
  P9_SETATTR_MODE,
  P9_SETATTR_SIZE,
} from '@kitbox/p9p';
import type { AttrReply, Dirent, Handler, Qid, RequestContext, SetattrRequest, StatfsReply } from '@kitbox/p9p';
import { DatakitError } from '../errors.js';
import { FsError, noEntry, readOnlyDir, readOnlyFile } from './errors.js';
import type { Node, OpenFile } from './node.js';
import { qidOf } from './qid.js';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const DT_DIR = 4;
const DT_REG = 8;
const DT_LNK = 10;
const V9FS_MAGIC = 0x01021997;
/** Files here are small; an offset past this is refused rather than turned into a huge buffer. */
const MAX_OFFSET = 2 ** 40;
/** Names in a path from the root, and its length (PATH_MAX): see walk. */
const MAX_DEPTH = 256;
const MAX_PATH_BYTES = 4096;

function pathBytes(path: readonly Node[]): number {
  let n = 0;
  for (let i = 1; i < path.length; i++) n += Buffer.byteLength((path[i] as Node).name) + 1;
  return n;
}

export interface FidState {
  /** Root first, this fid's node last. */
  path: Node[];
  open?: OpenFile;
  /** The open's access mode: 0 read, 1 write, 2 both. */
  access?: number;
  /** The listing taken when a readdir starts at cookie 0. */
  listing?: readonly Dirent[];
}

function last(f: FidState): Node {
  const n = f.path[f.path.length - 1];
  if (n === undefined) throw new FsError('EIO', 'empty fid path');
  return n;
}

/** Store and library errors, in errno terms. */
export function toFsError(err: unknown): unknown {
  if (err instanceof FsError) return err;
  if (err instanceof DatakitError) {
    if (err.code === 'INVALID_BRANCH' || err.code === 'INVALID_NAME' || err.code === 'INVALID_HASH') return new FsError('EINVAL', err.message);
    if (err.code === 'CONFLICT' || err.code === 'LOCKED') return new FsError('EBUSY', err.message);
    if (err.code === 'CORRUPT_OBJECT' || err.code === 'CORRUPT_REF') return new FsError('EIO', err.message);
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'NotFoundError') return new FsError('ENOENT', (err as Error).message);
  return err;
}

export interface ConnectionOptions {
  root: Node;
  /** Called when the connection ends (drops its transactions). */
  onClose?: () => void;
  /** Called as each request starts (before any of its lookups). */
  onRequest?: () => void;
  /** Unexpected errors (answered EIO). */
  log?: (message: string) => void;
}

export class DatakitConnection implements Handler<FidState> {
  private readonly root: Node;
  private readonly log: (message: string) => void;
  private readonly started = BigInt(Math.floor(Date.now() / 1000));

  constructor(private readonly opts: ConnectionOptions) {
    this.root = opts.root;
    this.log = opts.log ?? (() => undefined);
  }

  /** Drops this connection's transactions. */
  close(): void {
    this.opts.onClose?.();
  }

  private async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.opts.onRequest?.();
    try {
      return await fn();
    } catch (err) {
      const e = toFsError(err);
      if (!(e instanceof FsError) && !(typeof (e as { code?: unknown }).code === 'string' && /^E[A-Z]+$/.test((e as { code: string }).code))) {
        this.log(`datakit: ${what}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
      throw e;
    }
  }

  attach(): { qid: Qid; node: FidState } {
    return { qid: qidOf('dir', this.root.key), node: { path: [this.root] } };
  }

  walk(fid: FidState, names: readonly string[]): Promise<{ qids: Qid[]; node?: FidState }> {
    return this.run('walk', async () => {
      const path = [...fid.path];
      const qids: Qid[] = [];
      // PATH_MAX's bound on a path from the root, in names and in bytes: a fid walked again
      // and again (newfid = fid) into watch/'s a.node/b.node/... would otherwise grow without
      // end, and every node's key repeats its whole path.
      let bytes = pathBytes(path);
      for (const name of names) {
        const size = Buffer.byteLength(name) + 1;
        if (name !== '..' && name !== '.' && (path.length >= MAX_DEPTH || bytes + size > MAX_PATH_BYTES)) {
          if (qids.length === 0) throw new FsError('ENAMETOOLONG', `Paths are limited to ${MAX_DEPTH} names and ${MAX_PATH_BYTES} bytes`);
          return { qids };
        }
        let next: Node | undefined;
        const cur = path[path.length - 1];
        try {
          if (cur === undefined || cur.kind !== 'dir' || cur.lookup === undefined) throw new FsError('ENOTDIR', 'Is not a directory');
          if (name === '..') {
            if (path.length > 1) bytes -= Buffer.byteLength((path.pop() as Node).name) + 1;
            next = path[path.length - 1];
          } else if (name === '.') next = cur;
          else {
            next = await cur.lookup(name);
            path.push(next);
            bytes += size;
          }
        } catch (err) {
          if (qids.length === 0) throw err;
          return { qids };
        }
        if (next === undefined) throw noEntry(name);
        qids.push(qidOf(next.kind, next.key));
      }
      return { qids, node: { path } };
    });
  }

  clunk(fid: FidState): void {
    fid.open?.close?.();
  }

  lopen(fid: FidState, flags: number): Promise<{ qid: Qid; iounit: number; node: FidState }> {
    return this.run('lopen', async () => {
      const n = last(fid);
      const acc = flags & 3;
      if (n.kind === 'dir') {
        if (acc !== 0) throw new FsError('EISDIR', 'Is a directory');
        await n.stat();
        return { qid: qidOf(n.kind, n.key), iounit: 0, node: { path: fid.path } };
      }
      if (n.kind === 'symlink') throw new FsError('ELOOP', 'Is a symbolic link');
      if (n.open === undefined) throw readOnlyFile();
      const open = await n.open({ write: acc === 1 || acc === 2, truncate: (flags & P9_DOTL_TRUNC) !== 0 });
      return { qid: qidOf(n.kind, n.key), iounit: 0, node: { path: fid.path, open, access: acc } };
    });
  }

  lcreate(dir: FidState, req: { name: string; flags: number; mode: number }): Promise<{ qid: Qid; iounit: number; node: FidState }> {
    return this.run('lcreate', async () => {
      const d = last(dir);
      if (d.kind !== 'dir') throw new FsError('ENOTDIR', 'Is not a directory');
      if (d.create === undefined) throw readOnlyDir();
      const n = await d.create(req.name, req.mode);
      if (n.open === undefined) throw readOnlyFile();
      const acc = req.flags & 3;
      const open = await n.open({ write: acc === 1 || acc === 2, truncate: false });
      return { qid: qidOf(n.kind, n.key), iounit: 0, node: { path: [...dir.path, n], open, access: acc } };
    });
  }

  read(fid: FidState, offset: bigint, count: number, ctx: RequestContext): Promise<Uint8Array> {
    return this.run('read', async () => {
      if (fid.open === undefined) throw new FsError('EISDIR', 'Is a directory');
      if (fid.access === 1) throw new FsError('EBADF', 'Not open for reading');
      if (offset > BigInt(MAX_OFFSET)) return new Uint8Array(0);
      return fid.open.read(Number(offset), count, ctx.signal);
    });
  }

  write(fid: FidState, offset: bigint, data: Uint8Array): Promise<number> {
    return this.run('write', async () => {
      if (fid.open === undefined) throw new FsError('EISDIR', 'Is a directory');
      if (fid.access !== 1 && fid.access !== 2) throw new FsError('EBADF', 'Not open for writing');
      if (offset + BigInt(data.length) > BigInt(MAX_OFFSET)) throw new FsError('EFBIG', 'File too large');
      return fid.open.write(Number(offset), data);
    });
  }

  readdir(fid: FidState, offset: bigint): Promise<readonly Dirent[]> {
    return this.run('readdir', async () => {
      const n = last(fid);
      if (n.kind !== 'dir' || n.list === undefined) throw new FsError('ENOTDIR', 'Is not a directory');
      if (offset === 0n || fid.listing === undefined) {
        const parent = fid.path[fid.path.length - 2] ?? n;
        const all: [string, Node][] = [['.', n], ['..', parent], ...(await n.list()).map((c): [string, Node] => [c.name, c])];
        fid.listing = all.map(([name, c], i) => ({
          qid: qidOf(c.kind, c.key),
          offset: BigInt(i + 1),
          type: c.kind === 'dir' ? DT_DIR : c.kind === 'symlink' ? DT_LNK : DT_REG,
          name,
        }));
      }
      const start = offset > BigInt(fid.listing.length) ? fid.listing.length : Number(offset);
      return fid.listing.slice(start, start + 512);
    });
  }

  getattr(fid: FidState): Promise<AttrReply> {
    return this.run('getattr', async () => {
      const n = last(fid);
      const st = await n.stat();
      const fmt = n.kind === 'dir' ? S_IFDIR : n.kind === 'symlink' ? S_IFLNK : S_IFREG;
      const size = BigInt(st.size);
      return {
        valid: P9_GETATTR_BASIC,
        qid: qidOf(n.kind, n.key, st.version),
        mode: fmt | st.perm,
        uid: 0,
        gid: 0,
        nlink: n.kind === 'dir' ? 2n : 1n,
        rdev: 0n,
        size,
        blksize: 4096n,
        blocks: (size + 511n) / 512n,
        atimeSec: this.started,
        atimeNsec: 0n,
        mtimeSec: this.started,
        mtimeNsec: 0n,
        ctimeSec: this.started,
        ctimeNsec: 0n,
        btimeSec: 0n,
        btimeNsec: 0n,
        gen: 0n,
        dataVersion: BigInt(st.version ?? 0),
      };
    });
  }

  setattr(fid: FidState, a: SetattrRequest): Promise<void> {
    return this.run('setattr', async () => {
      const n = last(fid);
      if ((a.valid & P9_SETATTR_SIZE) !== 0) {
        if (n.kind === 'dir') throw new FsError('EISDIR', 'Is a directory');
        if (n.truncate === undefined) throw readOnlyFile();
        if (a.size > BigInt(MAX_OFFSET)) throw new FsError('EFBIG', 'File too large');
        await n.truncate(Number(a.size));
      }
      if ((a.valid & P9_SETATTR_MODE) !== 0 && n.kind === 'file') {
        if (n.chmod === undefined) throw readOnlyFile();
        await n.chmod((a.mode & 0o111) !== 0);
      }
    });
  }

  statfs(): StatfsReply {
    return { fsType: V9FS_MAGIC, bsize: 4096, blocks: 0n, bfree: 0n, bavail: 0n, files: 0n, ffree: 0n, fsid: 0n, namelen: 255 };
  }

  mkdir(dir: FidState, req: { name: string }): Promise<Qid> {
    return this.run('mkdir', async () => {
      const d = last(dir);
      if (d.kind !== 'dir') throw new FsError('ENOTDIR', 'Is not a directory');
      if (d.mkdir === undefined) throw readOnlyDir();
      const n = await d.mkdir(req.name);
      return qidOf(n.kind, n.key);
    });
  }

  symlink(dir: FidState, req: { name: string; target: string }): Promise<Qid> {
    return this.run('symlink', async () => {
      const d = last(dir);
      if (d.symlink === undefined) throw readOnlyDir();
      const n = await d.symlink(req.name, req.target);
      return qidOf(n.kind, n.key);
    });
  }

  readlink(fid: FidState): Promise<string> {
    return this.run('readlink', async () => {
      const n = last(fid);
      if (n.readlink === undefined) throw new FsError('EINVAL', 'Not a symbolic link');
      return n.readlink();
    });
  }

  rename(fid: FidState, dir: FidState, name: string): Promise<void> {
    return this.run('rename', async () => {
      const parent = fid.path[fid.path.length - 2];
      if (parent === undefined) throw new FsError('EBUSY', 'Cannot rename the root');
      if (parent.rename === undefined) throw readOnlyDir();
      await parent.rename(last(fid).name, last(dir), name);
    });
  }

  renameat(olddir: FidState, oldname: string, newdir: FidState, newname: string): Promise<void> {
    return this.run('renameat', async () => {
      const d = last(olddir);
      if (d.rename === undefined) throw readOnlyDir();
      await d.rename(oldname, last(newdir), newname);
    });
  }

  unlinkat(dir: FidState, name: string, flags: number): Promise<void> {
    return this.run('unlinkat', async () => {
      const d = last(dir);
      if (d.unlink === undefined) throw readOnlyDir();
      await d.unlink(name, (flags & P9_DOTL_AT_REMOVEDIR) !== 0);
    });
  }

  remove(fid: FidState): Promise<void> {
    return this.run('remove', async () => {
      const parent = fid.path[fid.path.length - 2];
      if (parent === undefined) throw new FsError('EBUSY', 'Cannot remove the root');
      if (parent.unlink === undefined) throw readOnlyDir();
      const n = last(fid);
      await parent.unlink(n.name, n.kind === 'dir');
    });
  }
}
