/*
 * What a file tree implements to be served.
 *
 * intro(5): "The fid ... identifies a 'current file' on the server."
 * diod protocol.md: the 9P2000.L operations (lopen, lcreate, symlink, mknod,
 *   rename, readlink, getattr, setattr, readdir, fsync, link, mkdir,
 *   renameat, unlinkat, statfs) plus 9P2000's attach, walk, read, write,
 *   clunk, remove.
 *
 * The server owns the fid table and hands each method the handler's own
 * value for a fid (`N`, a "node": whatever the handler returned from attach,
 * walk or lcreate). Methods may be left out: the server answers EOPNOTSUPP
 * (ENOSYS for auth). A method fails by throwing: a P9Error, RemoteError or
 * Node error whose `code` names an errno ('ENOENT') is answered with that
 * errno, anything else with EIO. Every method gets a RequestContext whose
 * signal aborts when the request is flushed or the connection drops.
 */
import type { Dirent, Qid, Rgetattr, Rstatfs, Tsetattr } from '../codec/types.js';

export type Awaitable<T> = T | Promise<T>;

export interface RequestContext {
  /** Aborted on Tflush of this request, or when the connection closes. */
  signal: AbortSignal;
  /** The uname/n_uname the fid's tree was attached with. */
  uname: string;
  nUname: number;
}

/** Rgetattr's fields. */
export type AttrReply = Omit<Rgetattr, 'type' | 'tag'>;
/** Rstatfs's fields. */
export type StatfsReply = Omit<Rstatfs, 'type' | 'tag'>;
/** Tsetattr's fields. */
export type SetattrRequest = Omit<Tsetattr, 'type' | 'tag' | 'fid'>;

export interface Handler<N = unknown> {
  /** Tattach: the root of tree `aname` for this user. */
  attach(req: { uname: string; aname: string; nUname: number }, ctx: RequestContext): Awaitable<{ qid: Qid; node: N }>;
  /**
   * Twalk: walks `names` (at most 16) from `node`. Return the qids of the
   * names walked; `node` (the new fid's value) only when every name was
   * walked. names = [] is a clone: return a fresh node. Throw when not even
   * the first name can be walked.
   */
  walk(node: N, names: readonly string[], ctx: RequestContext): Awaitable<{ qids: Qid[]; node?: N }>;
  /** Tclunk, Tremove, and every fid left when the connection drops. */
  clunk?(node: N): Awaitable<void>;
  /** Tlopen. `node` may be returned to replace the fid's value (open state). */
  lopen?(node: N, flags: number, ctx: RequestContext): Awaitable<{ qid: Qid; iounit: number; node?: N }>;
  /** Tlcreate: creates `name` in directory `node` and opens it; the fid now names the new file. */
  lcreate?(
    node: N,
    req: { name: string; flags: number; mode: number; gid: number },
    ctx: RequestContext,
  ): Awaitable<{ qid: Qid; iounit: number; node: N }>;
  /** Tread on an opened fid: at most `count` bytes (the server refuses more). */
  read?(node: N, offset: bigint, count: number, ctx: RequestContext): Awaitable<Uint8Array>;
  /**
   * Tread on an opened fid, into `buf` (at most buf.length bytes at
   * `offset`); returns how many bytes it wrote there. `buf` is the data field
   * of the reply frame itself, so nothing is copied afterwards; its bytes
   * past the count returned are never sent. Used instead of `read` when
   * present (not for 9P2000/.u directory reads).
   */
  readInto?(node: N, offset: bigint, buf: Uint8Array, ctx: RequestContext): Awaitable<number>;
  /** Twrite on an opened fid: the bytes written. */
  write?(node: N, offset: bigint, data: Uint8Array, ctx: RequestContext): Awaitable<number>;
  /**
   * Twrite on an opened fid whose data arrived split across socket reads:
   * `data` is the bytes to write at `offset`, in order, as views of the
   * chunks they came in (not copied into one buffer; at most 64 pieces).
   * Returns the bytes written, as `write`. Used instead of `write` for such
   * Twrites when present; otherwise the pieces are joined and `write` gets them.
   */
  writev?(node: N, offset: bigint, data: readonly Uint8Array[], ctx: RequestContext): Awaitable<number>;
  /**
   * Treaddir on an opened directory: entries after cookie `offset` (0: from
   * the start). The server sends as many as fit in `count`; each entry's
   * `offset` is the cookie of the next.
   */
  readdir?(node: N, offset: bigint, count: number, ctx: RequestContext): Awaitable<readonly Dirent[]>;
  getattr?(node: N, mask: bigint, ctx: RequestContext): Awaitable<AttrReply>;
  setattr?(node: N, attr: SetattrRequest, ctx: RequestContext): Awaitable<void>;
  statfs?(node: N, ctx: RequestContext): Awaitable<StatfsReply>;
  mkdir?(dir: N, req: { name: string; mode: number; gid: number }, ctx: RequestContext): Awaitable<Qid>;
  symlink?(dir: N, req: { name: string; target: string; gid: number }, ctx: RequestContext): Awaitable<Qid>;
  mknod?(
    dir: N,
    req: { name: string; mode: number; major: number; minor: number; gid: number },
    ctx: RequestContext,
  ): Awaitable<Qid>;
  readlink?(node: N, ctx: RequestContext): Awaitable<string>;
  link?(dir: N, node: N, name: string, ctx: RequestContext): Awaitable<void>;
  /** Trename: moves `node` into `dir` as `name`. */
  rename?(node: N, dir: N, name: string, ctx: RequestContext): Awaitable<void>;
  renameat?(olddir: N, oldname: string, newdir: N, newname: string, ctx: RequestContext): Awaitable<void>;
  /** Tunlinkat; flags may hold AT_REMOVEDIR (0x200). */
  unlinkat?(dir: N, name: string, flags: number, ctx: RequestContext): Awaitable<void>;
  /** Tremove (the server clunks the fid whatever happens). */
  remove?(node: N, ctx: RequestContext): Awaitable<void>;
  fsync?(node: N, datasync: number, ctx: RequestContext): Awaitable<void>;
}
