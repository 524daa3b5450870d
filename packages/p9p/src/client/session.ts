/*
 * A 9P client session: negotiation, attach, and the file helpers.
 *
 * version(5): "size[4] Tversion tag[2] msize[4] version[s]" (tag NOTAG).
 * attach(5):  "size[4] Tattach tag[2] fid[4] afid[4] uname[s] aname[s]
 *              (.u, .L: n_uname[4])  size[4] Rattach tag[2] qid[13]"
 * walk(5):    "size[4] Twalk tag[2] fid[4] newfid[4] nwname[2] nwname*(wname[s])
 *              size[4] Rwalk tag[2] nwqid[2] nwqid*(wqid[13])"
 *   "If the first element cannot be walked for any reason, Rerror is
 *   returned. Otherwise, the walk will return an Rwalk message containing
 *   nwqid qids ... if nwqid is less than nwname ... newfid ... is not
 *   affected." "To simplify the implementation of the servers, a maximum of
 *   sixteen name elements or qids may be packed in a single message."
 * diod protocol.md: Tlopen, Tlcreate, Tgetattr, Tsetattr, Treaddir, Tmkdir,
 *   Trenameat, Tsymlink, Treadlink, Tstatfs.
 *
 * Walks of more than sixteen names are sent as several Twalks; a partial
 * walk fails with ENOENT and leaves no fid behind.
 */
import { userInfo } from 'node:os';
import type { Duplex } from 'node:stream';
import {
  NOFID,
  NONUNAME,
  OREAD,
  ORDWR,
  OTRUNC,
  OWRITE,
  DMDIR,
  DMSYMLINK,
  IOHDRSZ,
  P9_DOTL_CREATE,
  P9_DOTL_RDONLY,
  P9_DOTL_TRUNC,
  P9_DOTL_WRONLY,
  P9_GETATTR_ALL,
} from '../codec/constants.js';
import { P9Error } from '../codec/errors.js';
import { dontTouchStat } from '../codec/stat.js';
import type { Dialect, Dirent, Fcall, Qid, Stat } from '../codec/types.js';
import { ERRNO } from '../channel/errno.js';
import { ChannelError, RemoteError } from '../channel/errors.js';
import { clientAccepts } from '../channel/version.js';
import type { Attr, SetAttr, Statfs } from './attr.js';
import { setattrFields } from './attr.js';
import { Fid } from './fid.js';
import { FidPool } from './fids.js';
import { File } from './file.js';
import { Mux } from './mux.js';
import { walkThen } from './pipeline.js';
import type { PipelineHost } from './pipeline.js';
import type { ReplyTo, Request } from './mux.js';
import { splitParent, splitPath, walkChunks, walkShort } from './path.js';

export interface ConnectOptions {
  /** The connection: a socket from dial(), or one end of duplexPair(). */
  stream: Duplex;
  /** msize to ask for (default 131072); the server may lower it. */
  msize?: number;
  /** Dialect to ask for (default '9P2000.L'); a lesser one the server answers is accepted. */
  version?: Dialect;
  /** User name to attach as (default: this process's user). */
  uname?: string;
  /** Tree to attach to (default ''). */
  aname?: string;
  /** Numeric uid for 9P2000.u/.L (default: this process's uid). */
  nUname?: number;
  /** Requests in flight at once (default 256). */
  maxTags?: number;
  /** Fids held at once (default 4096). */
  maxFids?: number;
  /**
   * Send each helper's requests at once (walk, open, write, clunk, ...: one
   * round trip for writeFile, stat, mkdir, remove, ...) instead of waiting
   * for each reply (default false). Only for servers that run the requests
   * naming one fid in the order they arrive, as p9p's serve() does; 9P does
   * not promise it, and diod or other servers may run them out of order.
   */
  pipeline?: boolean;
  signal?: AbortSignal;
}

/** Options every helper takes. */
export interface PathOptions {
  /** '/'-separated, relative to the attach root. */
  path: string;
  signal?: AbortSignal;
}

function defaultUser(): { uname: string; nUname: number } {
  try {
    const u = userInfo();
    return { uname: u.username, nUname: u.uid >= 0 ? u.uid : NONUNAME };
  } catch {
    return { uname: 'nobody', nUname: NONUNAME };
  }
}

/** Linux open flags to a 9P2000 Topen mode. */
function classicMode(flags: number): number {
  const acc = flags & 3;
  const mode = acc === P9_DOTL_WRONLY ? OWRITE : acc === 2 ? ORDWR : OREAD;
  return mode | ((flags & P9_DOTL_TRUNC) !== 0 ? OTRUNC : 0);
}

export class Session {
  private readonly fids: FidPool;
  /** The attach point's fid. */
  readonly root: Fid;
  /** What walkThen needs of this session (the `pipeline` option). */
  private readonly host: PipelineHost;

  private constructor(
    private readonly mux: Mux,
    maxFids: number,
    rootFid: number,
    readonly rootQid: Qid,
    /** Helpers send their requests at once (ConnectOptions.pipeline). */
    readonly pipeline: boolean,
  ) {
    this.fids = new FidPool(maxFids);
    this.fids.acquire(); // rootFid is 0, the first number lent
    this.root = new Fid(this, rootFid, rootQid);
    this.host = { rpc: (m, o) => this.rpc(m, o), fids: this.fids, from: rootFid };
  }

  /**
   * Negotiates the version and attaches.
   *
   * @example
   *   const session = await Session.connect({ stream: await dial({ address: 'tcp!127.0.0.1!564' }), msize: 65536 });
   *   await session.writeFile({ path: 'hello.txt', data: new TextEncoder().encode('hi') });
   *   await session.close();
   */
  static async connect(opts: ConnectOptions): Promise<Session> {
    const asked = { msize: opts.msize ?? 131072, version: opts.version ?? '9P2000.L' };
    const mux = new Mux({ stream: opts.stream, msize: asked.msize, maxTags: opts.maxTags ?? 256 });
    const onAbort = (): void => mux.close();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const reply = await mux.version(asked.msize, asked.version);
      const { msize, dialect } = clientAccepts({ asked, reply });
      mux.channel.maxSize = msize;
      mux.dialect = dialect;
      const user = defaultUser();
      const r = await mux.call({
        type: 'Tattach',
        fid: 0,
        afid: NOFID,
        uname: opts.uname ?? user.uname,
        aname: opts.aname ?? '',
        nUname: opts.nUname ?? user.nUname,
      });
      return new Session(mux, opts.maxFids ?? 4096, 0, r.qid, opts.pipeline ?? false);
    } catch (e) {
      mux.close();
      throw e;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  get msize(): number {
    return this.mux.msize;
  }

  get dialect(): Dialect {
    return this.mux.dialect;
  }

  /** Requests awaiting a reply. */
  get inFlight(): number {
    return this.mux.inFlight;
  }

  /** Fids held (the root included). */
  get fidsInUse(): number {
    return this.fids.inUse;
  }

  /** Resolves when the connection closes, with the reason. */
  get closed(): Promise<Error> {
    return this.mux.channel.closed;
  }

  /**
   * Sends one request and resolves with its reply (low level). Rlerror and
   * Rerror reject with RemoteError; aborting `signal` sends Tflush.
   *
   * @example
   *   const r = await session.rpc({ type: 'Tgetattr', fid: session.root.fid, requestMask: P9_GETATTR_ALL });
   */
  rpc<M extends Request>(msg: M, opts: { signal?: AbortSignal } = {}): Promise<ReplyTo<M>> {
    return this.mux.call(msg, opts);
  }

  /** @internal Called by Fid when its number is free again. */
  releaseFid(fid: number): void {
    this.fids.release(fid);
  }

  /**
   * Walks `path` from `from` (default the root) to a new fid. More than 16
   * names take several Twalks. Throws RemoteError ENOENT on a partial walk,
   * with no fid left behind.
   *
   * @example
   *   const fid = await session.walk({ path: 'etc/hostname' });
   *   await fid.clunk();
   */
  async walk(opts: PathOptions & { from?: Fid }): Promise<Fid> {
    return this.walkNames(splitPath(opts.path), opts.from ?? this.root, opts.signal);
  }

  private async walkNames(names: string[], from: Fid, signal?: AbortSignal): Promise<Fid> {
    const newfid = this.fids.acquire();
    const chunks = names.length === 0 ? [[]] : walkChunks(names);
    let created = false;
    let qid: Qid | undefined = names.length === 0 ? from.qid : undefined;
    try {
      for (const [i, wnames] of chunks.entries()) {
        const r = await this.rpc({ type: 'Twalk', fid: i === 0 ? from.fid : newfid, newfid, wnames }, { signal });
        const short = walkShort(names, i, wnames.length, r.wqids.length);
        if (short !== undefined) throw short;
        created = true;
        qid = r.wqids[r.wqids.length - 1] ?? qid;
      }
    } catch (e) {
      const f = new Fid(this, newfid, undefined);
      if (created) await f.clunk().catch(() => {});
      else f.forget();
      throw e;
    }
    return new Fid(this, newfid, qid);
  }

  /**
   * One request on a fid walked to `path`, then clunked: three round trips,
   * or one with `pipeline`.
   */
  private async onPath<M extends Request>(path: string | string[], signal: AbortSignal | undefined, step: (fid: number) => M): Promise<ReplyTo<M>> {
    const names = typeof path === 'string' ? splitPath(path) : path;
    if (!this.pipeline) return this.withFid(names, signal, (f) => this.rpc(step(f.fid), { signal }));
    const [r] = await walkThen(this.host, names, (fid) => [step(fid)], signal);
    return r as ReplyTo<M>;
  }

  /** Runs `fn` on a fid walked to `path`, clunking it afterwards. */
  private async withFid<T>(path: string | string[], signal: AbortSignal | undefined, fn: (f: Fid) => Promise<T>): Promise<T> {
    const f = await this.walkNames(typeof path === 'string' ? splitPath(path) : path, this.root, signal);
    try {
      return await fn(f);
    } finally {
      await f.clunk().catch(() => {});
    }
  }

  /**
   * Opens a file. `flags` are Linux open flags (P9_DOTL_*; default read only).
   *
   * @example
   *   const file = await session.open({ path: 'log', flags: P9_DOTL_RDONLY });
   *   const head = await file.read({ offset: 0, count: 100 });
   *   await file.close();
   */
  async open(opts: PathOptions & { flags?: number }): Promise<File> {
    const f = await this.walk(opts);
    try {
      return await this.openFid(f, opts.flags ?? P9_DOTL_RDONLY, opts.signal);
    } catch (e) {
      await f.clunk().catch(() => {});
      throw e;
    }
  }

  private async openFid(f: Fid, flags: number, signal?: AbortSignal): Promise<File> {
    if (this.dialect === '9P2000.L') {
      const r = await this.rpc({ type: 'Tlopen', fid: f.fid, flags }, { signal });
      return new File(f, r.qid, r.iounit);
    }
    const r = await this.rpc({ type: 'Topen', fid: f.fid, mode: classicMode(flags) }, { signal });
    return new File(f, r.qid, r.iounit);
  }

  /**
   * Creates and opens a file (Tlcreate; 9P2000/.u: Tcreate).
   *
   * @example
   *   const file = await session.create({ path: 'out.bin', mode: 0o644 });
   */
  async create(opts: PathOptions & { flags?: number; mode?: number; gid?: number }): Promise<File> {
    const { dir, name } = splitParent(opts.path);
    const f = await this.walkNames(dir, this.root, opts.signal);
    try {
      const flags = opts.flags ?? P9_DOTL_WRONLY;
      const mode = opts.mode ?? 0o644;
      if (this.dialect === '9P2000.L') {
        const r = await this.rpc(
          { type: 'Tlcreate', fid: f.fid, name, flags: flags | P9_DOTL_CREATE, mode, gid: opts.gid ?? NONUNAME },
          { signal: opts.signal },
        );
        return new File(f, r.qid, r.iounit);
      }
      const r = await this.rpc(
        { type: 'Tcreate', fid: f.fid, name, perm: mode & 0o777, mode: classicMode(flags), extension: '' },
        { signal: opts.signal },
      );
      return new File(f, r.qid, r.iounit);
    } catch (e) {
      await f.clunk().catch(() => {});
      throw e;
    }
  }

  /**
   * Attributes of `path` (Tgetattr with every field asked for).
   *
   * @example
   *   const { size, mode } = await session.stat({ path: 'a.txt' });
   */
  async stat(opts: PathOptions & { mask?: bigint }): Promise<Attr> {
    this.needDotL('stat');
    const { type: _t, tag: _g, ...attr } = await this.onPath(opts.path, opts.signal, (fid) => ({ type: 'Tgetattr', fid, requestMask: opts.mask ?? P9_GETATTR_ALL }));
    return attr;
  }

  /**
   * Changes attributes: chmod (`mode`), chown (`uid`, `gid`), truncate (`size`), times.
   *
   * @example
   *   await session.setattr({ path: 'a.txt', mode: 0o600, size: 0 });
   */
  async setattr(opts: PathOptions & SetAttr): Promise<void> {
    if (this.dialect !== '9P2000.L') return this.setattrClassic(opts);
    await this.onPath(opts.path, opts.signal, (fid) => ({ type: 'Tsetattr', fid, ...setattrFields(opts) }));
  }

  /** setattr through Twstat (one message: every change or none). 'now' is this machine's clock. */
  private async setattrClassic(opts: PathOptions & SetAttr): Promise<void> {
    const st: Partial<Stat> = {};
    const secs = (t: Date | 'now'): number => Math.floor((t === 'now' ? Date.now() : t.getTime()) / 1000);
    if (opts.mode !== undefined) {
      // The directory bit must be sent as it is.
      const cur = await this.dirstat({ path: opts.path, signal: opts.signal });
      st.mode = ((cur.mode & DMDIR) | (opts.mode & 0o777)) >>> 0;
    }
    if (opts.size !== undefined) st.length = BigInt(opts.size);
    if (opts.atime !== undefined) st.atime = secs(opts.atime);
    if (opts.mtime !== undefined) st.mtime = secs(opts.mtime);
    if (opts.uid !== undefined) {
      st.uid = String(opts.uid);
      st.nUid = opts.uid;
    }
    if (opts.gid !== undefined) {
      st.gid = String(opts.gid);
      st.nGid = opts.gid;
    }
    await this.wstat({ path: opts.path, stat: st, signal: opts.signal });
  }

  /**
   * The 9P2000/9P2000.u stat of `path` (Tstat). 9P2000.L has no Tstat: use stat().
   *
   * @example
   *   const { length, mode, extension } = await session.dirstat({ path: 'a.txt' });
   */
  async dirstat(opts: PathOptions): Promise<Stat> {
    this.needClassic('dirstat');
    return (await this.onPath(opts.path, opts.signal, (fid) => ({ type: 'Tstat', fid }))).stat;
  }

  /**
   * Twstat of `path`: the fields given change, the rest are sent as "don't
   * touch" (stat(5)). `name` renames within the same directory, `length`
   * truncates. 9P2000/9P2000.u only: under 9P2000.L use setattr()/rename().
   *
   * @example
   *   await session.wstat({ path: 'a.txt', stat: { name: 'b.txt', length: 0n } });
   */
  async wstat(opts: PathOptions & { stat: Partial<Stat> }): Promise<void> {
    this.needClassic('wstat');
    const stat: Stat = { ...dontTouchStat(), ...opts.stat };
    await this.onPath(opts.path, opts.signal, (fid) => ({ type: 'Twstat', fid, stat }));
  }

  /**
   * Entries of a directory ("." and ".." as the server lists them).
   *
   * @example
   *   for (const e of await session.readdir({ path: '' })) console.log(e.name);
   */
  async readdir(opts: PathOptions & { maxEntries?: number }): Promise<Dirent[]> {
    const file = await this.open({ path: opts.path, flags: P9_DOTL_RDONLY, signal: opts.signal });
    try {
      return await file.readdir(opts);
    } finally {
      await file.close().catch(() => {});
    }
  }

  /**
   * The whole contents of a file. Throws EFBIG past `maxBytes` (default 1 GiB).
   *
   * @example
   *   const text = new TextDecoder().decode(await session.readFile({ path: 'etc/hostname' }));
   */
  async readFile(opts: PathOptions & { maxBytes?: number }): Promise<Uint8Array> {
    if (this.pipeline && this.dialect === '9P2000.L') {
      const got = await this.readSmall(opts);
      if (got !== undefined) return got;
    }
    const file = await this.open({ path: opts.path, flags: P9_DOTL_RDONLY, signal: opts.signal });
    try {
      return await file.readAll(opts);
    } finally {
      await file.close().catch(() => {});
    }
  }

  /**
   * Replaces (or creates, with `mode`) a file's contents.
   *
   * @example
   *   await session.writeFile({ path: 'a.txt', data: new TextEncoder().encode('hello') });
   */
  async writeFile(opts: PathOptions & { data: Uint8Array; mode?: number }): Promise<void> {
    if (this.pipeline && this.dialect === '9P2000.L') return this.writeAtOnce(opts);
    let file: File;
    try {
      file = await this.open({ path: opts.path, flags: P9_DOTL_WRONLY | P9_DOTL_TRUNC, signal: opts.signal });
    } catch (e) {
      if (!(e instanceof RemoteError) || e.errno !== ERRNO.ENOENT) throw e;
      file = await this.create({ path: opts.path, flags: P9_DOTL_WRONLY | P9_DOTL_TRUNC, mode: opts.mode, signal: opts.signal });
    }
    try {
      await file.write({ offset: 0, data: opts.data, signal: opts.signal });
    } finally {
      await file.close().catch(() => {});
    }
  }

  /**
   * writeFile with `pipeline`, as writeFile does it but each attempt at once:
   * walk to the file, Tlopen with P9_DOTL_TRUNC, every Twrite and Tclunk;
   * if the file is not there (ENOENT), walk to the directory, Tlcreate, the
   * Twrites and Tclunk. One round trip for a file that exists, two for a new
   * one. (Opening first, not Tlcreate without P9_DOTL_EXCL, also suits
   * servers whose files can be opened for writing but not created or
   * truncated by create: datakit's control files.) A write the server makes
   * short is finished afterwards through a new open (rare: a local file is
   * written whole).
   */
  private async writeAtOnce(opts: PathOptions & { data: Uint8Array; mode?: number }): Promise<void> {
    const { dir, name } = splitParent(opts.path);
    const chunk = this.msize - IOHDRSZ;
    const { data, signal } = opts;
    const pieces: { offset: number; data: Uint8Array }[] = [];
    for (let at = 0; at < data.length; at += chunk) pieces.push({ offset: at, data: data.subarray(at, at + chunk) });
    const writes = (fid: number): Request[] => pieces.map((p): Request => ({ type: 'Twrite', fid, offset: BigInt(p.offset), data: p.data }));
    let replies: Fcall[];
    try {
      replies = await walkThen(this.host, [...dir, name], (fid) => [{ type: 'Tlopen', fid, flags: P9_DOTL_WRONLY | P9_DOTL_TRUNC }, ...writes(fid)], signal);
    } catch (e) {
      if (!(e instanceof RemoteError) || e.errno !== ERRNO.ENOENT) throw e;
      const flags = P9_DOTL_WRONLY | P9_DOTL_TRUNC | P9_DOTL_CREATE;
      replies = await walkThen(
        this.host,
        dir,
        (fid) => [{ type: 'Tlcreate', fid, name, flags, mode: opts.mode ?? 0o644, gid: NONUNAME }, ...writes(fid)],
        signal,
      );
    }
    const rest: { offset: number; data: Uint8Array }[] = [];
    for (const [i, p] of pieces.entries()) {
      const n = (replies[i + 1] as ReplyTo<{ type: 'Twrite' }>).count;
      if (n === 0 || n > p.data.length) throw new P9Error('EIO', `Rwrite of ${n} bytes to a Twrite of ${p.data.length}`);
      if (n < p.data.length) rest.push({ offset: p.offset + n, data: p.data.subarray(n) });
    }
    if (rest.length === 0) return;
    const file = await this.open({ path: opts.path, flags: P9_DOTL_WRONLY, signal });
    try {
      for (const r of rest) await file.write({ ...r, signal });
    } finally {
      await file.close().catch(() => {});
    }
  }

  /**
   * readFile with `pipeline`: walk, Tlopen, a Tread at 0 and one at `chunk`,
   * and Tclunk, at once. Enough when a read came back empty (the file ends
   * within the first chunk, as the empty read that ends readAll shows);
   * undefined otherwise, and the caller reads the file the ordinary way.
   */
  private async readSmall(opts: PathOptions & { maxBytes?: number }): Promise<Uint8Array | undefined> {
    const chunk = this.msize - IOHDRSZ;
    let replies: Fcall[];
    try {
      replies = await walkThen(
        this.host,
        splitPath(opts.path),
        (fid) => [
          { type: 'Tlopen', fid, flags: P9_DOTL_RDONLY },
          { type: 'Tread', fid, offset: 0n, count: chunk },
          { type: 'Tread', fid, offset: BigInt(chunk), count: chunk },
        ],
        opts.signal,
      );
    } catch (e) {
      // Some servers refuse a read past the end of a file (datakit: EINVAL, "Offset beyond
      // end-of-file") where most answer 0 bytes: read it the ordinary way, which also
      // reports any other EINVAL as it is.
      if (e instanceof RemoteError && e.errno === ERRNO.EINVAL) return undefined;
      throw e;
    }
    const [, first, second] = replies as [unknown, ReplyTo<{ type: 'Tread' }>, ReplyTo<{ type: 'Tread' }>];
    const n = first.data.length;
    if (n > chunk) throw new ChannelError('protocol', `Rread of ${n} bytes to a Tread of ${chunk}`);
    if (n > 0 && second.data.length > 0) return undefined;
    const max = opts.maxBytes ?? 1 << 30;
    if (n > max) throw new P9Error('EFBIG', `file exceeds ${max} bytes`);
    return first.data;
  }

  /**
   * Makes a directory; resolves with its qid.
   *
   * @example
   *   await session.mkdir({ path: 'a/b', mode: 0o755 });
   */
  async mkdir(opts: PathOptions & { mode?: number; gid?: number }): Promise<Qid> {
    const { dir, name } = splitParent(opts.path);
    const mode = opts.mode ?? 0o755;
    if (this.dialect !== '9P2000.L') {
      const file = await this.createClassicDir(dir, name, mode, opts.signal);
      return file;
    }
    return (await this.onPath(dir, opts.signal, (dfid) => ({ type: 'Tmkdir', dfid, name, mode, gid: opts.gid ?? NONUNAME }))).qid;
  }

  private async createClassicDir(dir: string[], name: string, mode: number, signal?: AbortSignal): Promise<Qid> {
    return (await this.onPath(dir, signal, (fid) => ({ type: 'Tcreate', fid, name, perm: (DMDIR | (mode & 0o777)) >>> 0, mode: OREAD, extension: '' }))).qid;
  }

  /**
   * Removes a file or an empty directory (Tremove).
   *
   * @example
   *   await session.remove({ path: 'a.txt' });
   */
  async remove(opts: PathOptions): Promise<void> {
    if (this.pipeline) {
      await walkThen(this.host, splitPath(opts.path), (fid) => [{ type: 'Tremove', fid }], opts.signal);
      return;
    }
    const f = await this.walk(opts);
    await f.remove();
  }

  /**
   * Renames `from` to `to` (Trenameat; Trename where the server lacks it).
   *
   * @example
   *   await session.rename({ from: 'a.txt', to: 'dir/b.txt' });
   */
  async rename(opts: { from: string; to: string; signal?: AbortSignal }): Promise<void> {
    const { signal } = opts;
    const src = splitParent(opts.from);
    const dst = splitParent(opts.to);
    if (this.dialect !== '9P2000.L') {
      // Twstat renames within one directory only (stat(5)).
      if (src.dir.join('/') !== dst.dir.join('/')) throw new RemoteError(ERRNO.EXDEV, `EXDEV: ${this.dialect} renames within a directory only`);
      return this.wstat({ path: opts.from, stat: { name: dst.name }, signal });
    }
    await this.withFid(src.dir, signal, (od) =>
      this.withFid(dst.dir, signal, async (nd) => {
        try {
          await this.rpc({ type: 'Trenameat', olddirfid: od.fid, oldname: src.name, newdirfid: nd.fid, newname: dst.name }, { signal });
        } catch (e) {
          if (!(e instanceof RemoteError) || (e.errno !== ERRNO.ENOSYS && e.errno !== ERRNO.EOPNOTSUPP)) throw e;
          await this.withFid([...src.dir, src.name], signal, (f) =>
            this.rpc({ type: 'Trename', fid: f.fid, dfid: nd.fid, name: dst.name }, { signal }),
          );
        }
      }),
    );
  }

  /**
   * Makes a symbolic link at `path` pointing to `target`.
   *
   * @example
   *   await session.symlink({ path: 'latest', target: 'v1.2.3' });
   */
  async symlink(opts: PathOptions & { target: string; gid?: number }): Promise<Qid> {
    const { dir, name } = splitParent(opts.path);
    if (this.dialect === '9P2000.u') {
      // 9P2000.u: Tcreate with DMSYMLINK and the target as the extension.
      return (await this.onPath(dir, opts.signal, (fid) => ({ type: 'Tcreate', fid, name, perm: (DMSYMLINK | 0o777) >>> 0, mode: OREAD, extension: opts.target }))).qid;
    }
    this.needDotL('symlink');
    return (await this.onPath(dir, opts.signal, (fid) => ({ type: 'Tsymlink', fid, name, symtgt: opts.target, gid: opts.gid ?? NONUNAME }))).qid;
  }

  /**
   * The target of a symbolic link.
   *
   * @example
   *   const target = await session.readlink({ path: 'latest' });
   */
  async readlink(opts: PathOptions): Promise<string> {
    if (this.dialect === '9P2000.u') {
      const st = await this.dirstat(opts);
      if ((st.mode & DMSYMLINK) === 0) throw new RemoteError(ERRNO.EINVAL, 'EINVAL: not a symlink');
      return st.extension ?? '';
    }
    this.needDotL('readlink');
    return (await this.onPath(opts.path, opts.signal, (fid) => ({ type: 'Treadlink', fid }))).target;
  }

  /**
   * File system statistics (Tstatfs) of the tree holding `path` (default the root).
   *
   * @example
   *   const { bsize, bfree } = await session.statfs({});
   */
  async statfs(opts: { path?: string; signal?: AbortSignal } = {}): Promise<Statfs> {
    this.needDotL('statfs');
    const { type: _t, tag: _g, ...st } = await this.onPath(opts.path ?? '', opts.signal, (fid) => ({ type: 'Tstatfs', fid }));
    return st;
  }

  /** Clunks the root and closes the connection. Pending requests reject. */
  async close(): Promise<void> {
    if (!this.mux.channel.isClosed && !this.root.isReleased) {
      await this.root.clunk().catch(() => {});
    }
    this.mux.close();
  }

  private needClassic(what: string): void {
    if (this.dialect === '9P2000.L') {
      throw new RemoteError(ERRNO.EOPNOTSUPP, `EOPNOTSUPP: ${what} needs 9P2000 or 9P2000.u, the session speaks 9P2000.L`);
    }
  }

  private needDotL(what: string): void {
    if (this.dialect !== '9P2000.L') {
      throw new RemoteError(ERRNO.EOPNOTSUPP, `EOPNOTSUPP: ${what} needs 9P2000.L, the session speaks ${this.dialect}`);
    }
  }
}
