/*
 * One request to the handler, one reply.
 *
 * walk(5): "If the full sequence
 *   of nwname elements is walked successfully, newfid will represent the
 *   file that results. If not, newfid (and fid) will be unaffected."
 * open(5): reads and writes need an opened fid.
 * remove(5): "... clunk the fid, even if the remove fails."
 * diod protocol.md: Tlopen, Tlcreate ("fid ... now refers to the new
 *   file"), Tgetattr ... Tunlinkat.
 *
 * Fid bookkeeping lives here; what a file is lives in the Handler. The
 * 9P2000/9P2000.u requests (Topen, Tcreate, Tstat, Twstat, directory
 * Treads) are translated onto the same Handler in classic.ts.
 */
import { IOHDRSZ, READDIRHDRSZ, HEADER_SIZE } from '../codec/constants.js';
import { direntLength, encodeDirentInto } from '../codec/dirent.js';
import type { Dialect, Fcall, Qid, Twalk } from '../codec/types.js';
import { RemoteError } from '../channel/errors.js';
import { ERRNO, errnoName } from '../channel/errno.js';
import * as classic from './classic.js';
import type { ClassicState } from './classic.js';
import { cutShort, tookNode, type FidEntry, type FidTable } from './fidtable.js';
import type { AttrReply, Awaitable, Handler, RequestContext } from './handler.js';
import { joinPieces, piecesLength } from './twrite.js';

export interface DispatchState<N> {
  handler: Handler<N>;
  fids: FidTable<N>;
  msize: number;
  /** The negotiated dialect. */
  dialect: Dialect;
  /** A buffer of at least `size` bytes for a reply frame (from the connection's pool when it has one). */
  frameBuffer?: (size: number) => Uint8Array;
  /** Hands a node to the handler's clunk hook, never throwing (a plain return when the hook is synchronous). */
  release: (node: N) => Awaitable<void>;
}

function fail(errno: number, why: string): never {
  throw RemoteError.reply(errno, `${errnoName(errno)}: ${why}`);
}

function missing(what: string): never {
  throw RemoteError.reply(ERRNO.EOPNOTSUPP, `EOPNOTSUPP: the handler has no ${what}`);
}

/** Where a request's AbortSignal comes from: made only if a handler asks (most never do). */
export interface SignalSource {
  readonly signal: AbortSignal;
}

/** A handler's RequestContext: `signal` is created on first use. */
class Context implements RequestContext {
  constructor(
    private readonly src: SignalSource,
    readonly uname: string,
    readonly nUname: number,
  ) {}

  get signal(): AbortSignal {
    return this.src.signal;
  }
}

function ctxOf<N>(e: FidEntry<N>, signal: SignalSource): RequestContext {
  return new Context(signal, e.uname, e.nUname);
}

function needOpen<N>(e: FidEntry<N>): void {
  if (!e.opened) fail(ERRNO.EBADF, 'fid not open');
}

function needClosed<N>(e: FidEntry<N>): void {
  if (e.opened) fail(ERRNO.EBADF, 'fid is open');
}

/** Stores a fid made by a request, unless the connection has gone meanwhile. */
function adopt<N>(s: DispatchState<N>, alive: () => boolean, fid: number, entry: FidEntry<N>): Awaitable<void> {
  if (alive()) {
    s.fids.set(fid, entry);
    return undefined;
  }
  s.fids.unreserve(fid);
  return s.release(entry.node);
}

type Reply = Fcall | InPlaceRread;

/** `f` of `v`: at once for a plain value, once it settles for a promise (or any thenable). */
function then<T, U>(v: Awaitable<T>, f: (t: T) => Awaitable<U>): Awaitable<U> {
  return isThenable(v) ? Promise.resolve(v).then(f) : f(v);
}

/** then(start(), f), where `undo` sees (and rethrows) whatever start or f throws or rejects with. */
function attempt<T, U>(start: () => Awaitable<T>, f: (t: T) => Awaitable<U>, undo: (e: unknown) => never): Awaitable<U> {
  try {
    const u = then(start(), f);
    return isThenable(u) ? Promise.resolve(u).catch(undo) : u;
  } catch (e) {
    return undo(e);
  }
}

export function isThenable<T>(v: Awaitable<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null | undefined)?.then === 'function';
}

/**
 * Answers `m` (a T-message other than Tversion/Tflush). Throws (or rejects)
 * for an error reply. `alive` turns false once the connection is gone or a
 * Tversion reset it: a fid made after that is released at once, never stored.
 *
 * Twalk, Tgetattr, Tlopen, Tclunk, Tread into the reply frame and Twrite
 * are answered with a plain value when the handler's method returns one
 * (LocalFs and MemoryFs do; LocalFs's reads and writes up to 128 KiB): no
 * promise and no microtask per request. The rest go through dispatchAsync.
 */
export function dispatch<N>(
  s: DispatchState<N>,
  m: Fcall,
  signal: SignalSource,
  alive: () => boolean,
  /** A Twrite's data in pieces (then m.data is empty): see twrite.ts. */
  pieces?: readonly Uint8Array[],
): Reply | Promise<Reply> {
  const h = s.handler;
  const tag = m.tag;
  switch (m.type) {
    case 'Twalk': {
      const from = s.fids.get(m.fid);
      // walk(5) forbids walking from an opened fid; diod (and its diodls -l)
      // does it in 9P2000.L, so it is allowed there: the new fid is never open.
      if (from.classic !== undefined && from.opened) fail(ERRNO.EBADF, 'walk from an open fid');
      const same = m.newfid === m.fid;
      if (!same) s.fids.reserve(m.newfid);
      const undo = (e: unknown): never => {
        if (!same) s.fids.unreserve(m.newfid);
        throw e;
      };
      return attempt(() => h.walk(from.node, m.wnames, ctxOf(from, signal)), (r) => walked(s, m, from, r, alive), undo);
    }
    case 'Tclunk': {
      const e = s.fids.take(m.fid);
      // open(5): ORCLOSE removes the file when the fid is clunked.
      if (e.classic?.rclose === true && e.opened) return removeThenRelease(s, e, signal).then(() => ({ type: 'Rclunk', tag }));
      return then(s.release(e.node), () => ({ type: 'Rclunk', tag }));
    }
    case 'Tlopen': {
      const e = s.fids.get(m.fid);
      needClosed(e);
      if (h.lopen === undefined) missing('lopen');
      return then(h.lopen(e.node, m.flags, ctxOf(e, signal)), (r) =>
        then(tookNode(s.release, alive, e, r.node), (ok): Fcall => (ok ? { type: 'Rlopen', tag, qid: r.qid, iounit: r.iounit } : cutShort())),
      );
    }
    case 'Tread': {
      const e = s.fids.get(m.fid);
      needOpen(e);
      if (e.classic?.dir === true || h.readInto === undefined) break;
      const count = Math.min(m.count, s.msize - IOHDRSZ);
      // The reply frame is allocated first and the handler reads into its
      // data field: size[4] type[1] tag[2] count[4] come before it.
      const frame = s.frameBuffer?.(RREAD_HEADER + count) ?? Buffer.allocUnsafe(RREAD_HEADER + count);
      return then(h.readInto(e.node, m.offset, frame.subarray(RREAD_HEADER, RREAD_HEADER + count), ctxOf(e, signal)), (n): InPlaceRread => {
        if (!Number.isInteger(n) || n < 0 || n > count) fail(ERRNO.EIO, 'handler read more than asked');
        return { type: 'Rread', tag, data: frame.subarray(RREAD_HEADER, RREAD_HEADER + n), frame };
      });
    }
    case 'Tgetattr': {
      const e = s.fids.get(m.fid);
      if (h.getattr === undefined) missing('getattr');
      return then(h.getattr(e.node, m.requestMask, ctxOf(e, signal)), (a) => rgetattr(tag, a));
    }
    case 'Twrite': {
      const e = s.fids.get(m.fid);
      needOpen(e);
      if (pieces !== undefined && h.writev !== undefined) {
        const len = piecesLength(pieces);
        return then(h.writev(e.node, m.offset, pieces, ctxOf(e, signal)), (n) => rwrite(tag, n, len));
      }
      if (h.write === undefined) missing('write');
      const data = pieces === undefined ? m.data : joinPieces(pieces);
      return then(h.write(e.node, m.offset, data, ctxOf(e, signal)), (n) => rwrite(tag, n, data.length));
    }
    default:
  }
  return dispatchAsync(s, m, signal, alive);
}

/** Twalk once the handler has walked: the new fid stored (or what the handler made released). */
function walked<N>(s: DispatchState<N>, m: Twalk, from: FidEntry<N>, r: { qids: Qid[]; node?: N }, alive: () => boolean): Awaitable<Fcall> {
  const qids: Qid[] = r.qids.slice(0, m.wnames.length);
  const reply: Fcall = { type: 'Rwalk', tag: m.tag, wqids: qids };
  const same = m.newfid === m.fid;
  if (qids.length < m.wnames.length) {
    if (!same) s.fids.unreserve(m.newfid);
    return then(r.node !== undefined ? s.release(r.node) : undefined, () => (qids.length === 0 ? fail(ERRNO.ENOENT, 'first name not walked') : reply));
  }
  if (r.node === undefined) fail(ERRNO.EIO, 'handler walked every name but gave no node');
  const entry: FidEntry<N> = { node: r.node, opened: false, uname: from.uname, nUname: from.nUname };
  if (from.classic !== undefined) {
    entry.classic = { aname: from.classic.aname, names: classic.walkedNames(from.classic.names, m.wnames), dir: false, rclose: false };
  }
  if (!same) return then(adopt(s, alive, m.newfid, entry), () => reply);
  if (alive() && s.fids.get(m.fid) === from) {
    s.fids.set(m.fid, entry);
    return then(r.node !== from.node ? s.release(from.node) : undefined, () => reply);
  }
  return then(s.release(r.node), () => reply);
}

/** The node's file removed (Tremove, ORCLOSE at clunk), then the node handed to the clunk hook whatever happened. */
async function removeThenRelease<N>(s: DispatchState<N>, e: FidEntry<N>, signal: SignalSource): Promise<void> {
  try {
    if (s.handler.remove === undefined) missing('remove');
    await s.handler.remove(e.node, ctxOf(e, signal));
  } finally {
    await s.release(e.node);
  }
}

/** Rwrite for a handler's count of `n` of the `len` bytes it was given (EIO for a count it cannot have written). */
function rwrite(tag: number, n: number, len: number): Fcall {
  if (!Number.isInteger(n) || n < 0 || n > len) fail(ERRNO.EIO, 'bad write count');
  return { type: 'Rwrite', tag, count: n };
}

/** Field by field: a spread of the handler's object is several times slower here. */
function rgetattr(tag: number, a: AttrReply): Fcall {
  return {
    type: 'Rgetattr',
    tag,
    valid: a.valid,
    qid: a.qid,
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    nlink: a.nlink,
    rdev: a.rdev,
    size: a.size,
    blksize: a.blksize,
    blocks: a.blocks,
    atimeSec: a.atimeSec,
    atimeNsec: a.atimeNsec,
    mtimeSec: a.mtimeSec,
    mtimeNsec: a.mtimeNsec,
    ctimeSec: a.ctimeSec,
    ctimeNsec: a.ctimeNsec,
    btimeSec: a.btimeSec,
    btimeNsec: a.btimeNsec,
    gen: a.gen,
    dataVersion: a.dataVersion,
  };
}

/** dispatch for the requests it does not answer itself. */
async function dispatchAsync<N>(
  s: DispatchState<N>,
  m: Fcall,
  signal: SignalSource,
  alive: () => boolean,
): Promise<Reply> {
  const h = s.handler;
  const tag = m.tag;
  switch (m.type) {
    case 'Tauth':
      // As diod does without authentication; diod's own clients (libnpclient)
      // take ENOENT to mean "attach without an afid" and give up on anything else.
      return fail(ERRNO.ENOENT, 'no authentication required');
    case 'Tattach': {
      s.fids.reserve(m.fid);
      try {
        const nUname = m.nUname ?? 0xffffffff;
        const r = await h.attach({ uname: m.uname, aname: m.aname, nUname }, new Context(signal, m.uname, nUname));
        const entry: FidEntry<N> = { node: r.node, opened: false, uname: m.uname, nUname };
        if (s.dialect !== '9P2000.L') entry.classic = { aname: m.aname, names: [], dir: false, rclose: false };
        await adopt(s, alive, m.fid, entry);
        return { type: 'Rattach', tag, qid: r.qid };
      } catch (e) {
        s.fids.unreserve(m.fid);
        throw e;
      }
    }
    case 'Tremove':
      await removeThenRelease(s, s.fids.take(m.fid), signal);
      return { type: 'Rremove', tag };
    case 'Tlcreate': {
      const e = s.fids.get(m.fid);
      needClosed(e);
      if (h.lcreate === undefined) missing('lcreate');
      const old = e.node;
      const r = await h.lcreate(e.node, { name: m.name, flags: m.flags, mode: m.mode, gid: m.gid }, ctxOf(e, signal));
      if (!(await tookNode(s.release, alive, e, r.node))) return cutShort();
      if (old !== r.node) await s.release(old);
      return { type: 'Rlcreate', tag, qid: r.qid, iounit: r.iounit };
    }
    case 'Tread': {
      const e = s.fids.get(m.fid);
      needOpen(e);
      if (e.classic?.dir === true) return { type: 'Rread', tag, data: await classic.readDir(classicState(s), e, m, ctxOf(e, signal)) };
      // A handler with readInto was answered by dispatch.
      const count = Math.min(m.count, s.msize - IOHDRSZ);
      if (h.read === undefined) missing('read');
      const data = await h.read(e.node, m.offset, count, ctxOf(e, signal));
      if (data.length > count) fail(ERRNO.EIO, 'handler read more than asked');
      return { type: 'Rread', tag, data };
    }
    case 'Treaddir': {
      const e = s.fids.get(m.fid);
      needOpen(e);
      if (h.readdir === undefined) missing('readdir');
      const count = Math.min(m.count, s.msize - READDIRHDRSZ);
      const entries = await h.readdir(e.node, m.offset, count, ctxOf(e, signal));
      const buf = new Uint8Array(count);
      let at = 0;
      for (const d of entries) {
        const n = direntLength(d);
        if (at + n > count) break;
        at += encodeDirentInto(d, buf, at);
      }
      if (at === 0 && entries.length > 0) fail(ERRNO.EINVAL, 'count too small for one entry');
      return { type: 'Rreaddir', tag, data: buf.subarray(0, at) };
    }
    case 'Tsetattr': {
      const e = s.fids.get(m.fid);
      if (h.setattr === undefined) missing('setattr');
      const { type: _t, tag: _g, fid: _f, ...attr } = m;
      await h.setattr(e.node, attr, ctxOf(e, signal));
      return { type: 'Rsetattr', tag };
    }
    case 'Tstatfs': {
      const e = s.fids.get(m.fid);
      if (h.statfs === undefined) missing('statfs');
      return { type: 'Rstatfs', tag, ...(await h.statfs(e.node, ctxOf(e, signal))) };
    }
    case 'Tmkdir': {
      const e = s.fids.get(m.dfid);
      if (h.mkdir === undefined) missing('mkdir');
      return { type: 'Rmkdir', tag, qid: await h.mkdir(e.node, { name: m.name, mode: m.mode, gid: m.gid }, ctxOf(e, signal)) };
    }
    case 'Tsymlink': {
      const e = s.fids.get(m.fid);
      if (h.symlink === undefined) missing('symlink');
      const qid = await h.symlink(e.node, { name: m.name, target: m.symtgt, gid: m.gid }, ctxOf(e, signal));
      return { type: 'Rsymlink', tag, qid };
    }
    case 'Tmknod': {
      const e = s.fids.get(m.dfid);
      if (h.mknod === undefined) missing('mknod');
      const { type: _t, tag: _g, dfid: _d, ...req } = m;
      return { type: 'Rmknod', tag, qid: await h.mknod(e.node, req, ctxOf(e, signal)) };
    }
    case 'Treadlink': {
      const e = s.fids.get(m.fid);
      if (h.readlink === undefined) missing('readlink');
      return { type: 'Rreadlink', tag, target: await h.readlink(e.node, ctxOf(e, signal)) };
    }
    case 'Tlink': {
      const d = s.fids.get(m.dfid);
      const e = s.fids.get(m.fid);
      if (h.link === undefined) missing('link');
      await h.link(d.node, e.node, m.name, ctxOf(e, signal));
      return { type: 'Rlink', tag };
    }
    case 'Trename': {
      const e = s.fids.get(m.fid);
      const d = s.fids.get(m.dfid);
      if (h.rename === undefined) missing('rename');
      await h.rename(e.node, d.node, m.name, ctxOf(e, signal));
      return { type: 'Rrename', tag };
    }
    case 'Trenameat': {
      const o = s.fids.get(m.olddirfid);
      const n = s.fids.get(m.newdirfid);
      if (h.renameat === undefined) missing('renameat');
      await h.renameat(o.node, m.oldname, n.node, m.newname, ctxOf(o, signal));
      return { type: 'Rrenameat', tag };
    }
    case 'Tunlinkat': {
      const e = s.fids.get(m.dirfd);
      if (h.unlinkat === undefined) missing('unlinkat');
      await h.unlinkat(e.node, m.name, m.flags, ctxOf(e, signal));
      return { type: 'Runlinkat', tag };
    }
    case 'Tfsync': {
      const e = s.fids.get(m.fid);
      if (h.fsync !== undefined) await h.fsync(e.node, m.datasync, ctxOf(e, signal));
      return { type: 'Rfsync', tag };
    }
    case 'Txattrwalk':
    case 'Txattrcreate':
    case 'Tlock':
    case 'Tgetlock':
      s.fids.get(m.fid);
      return missing(m.type);
    case 'Topen': {
      const e = s.fids.get(m.fid);
      needClosed(e);
      return { type: 'Ropen', tag, ...(await classic.open(classicState(s, alive), e, m, ctxOf(e, signal))) };
    }
    case 'Tcreate': {
      const e = s.fids.get(m.fid);
      needClosed(e);
      return { type: 'Rcreate', tag, ...(await classic.create(classicState(s, alive), e, m, ctxOf(e, signal))) };
    }
    case 'Tstat': {
      const e = s.fids.get(m.fid);
      const c = classic.classicOf(e);
      return { type: 'Rstat', tag, stat: await classic.statOf(classicState(s), e.node, classic.nameOf(c), ctxOf(e, signal)) };
    }
    case 'Twstat': {
      const e = s.fids.get(m.fid);
      await classic.wstat(classicState(s), e, m, ctxOf(e, signal));
      return { type: 'Rwstat', tag };
    }
    default:
      // R-messages reach here (decode keeps each dialect's messages to it).
      return fail(ERRNO.EPROTO, `${m.type} is not a request`);
  }
}

function classicState<N>(s: DispatchState<N>, alive: () => boolean = () => true): ClassicState<N> {
  return { handler: s.handler, dialect: s.dialect, msize: s.msize, fid: (n) => s.fids.get(n), release: s.release, alive };
}

/** size[4] type[1] tag[2] count[4]: where Rread's data starts in its frame. */
export const RREAD_HEADER = HEADER_SIZE + 4;

/** An Rread whose data already lies in `frame` at RREAD_HEADER: encoded there, not copied. */
export interface InPlaceRread {
  type: 'Rread';
  tag: number;
  data: Uint8Array;
  frame: Uint8Array;
}

/** Bytes the reply header takes (size, type, tag): what Rlerror needs at least. */
export const MIN_REPLY = HEADER_SIZE + 4;
