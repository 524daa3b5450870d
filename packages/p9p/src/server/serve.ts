/*
 * Serving one connection.
 *
 * version(5): "The version request ... must be the first message sent on
 *   the 9P connection ... A successful version request initializes the
 *   connection. All outstanding I/O on the connection is aborted; all active
 *   fids are freed ('clunked') automatically."
 * flush(5): "If it recognizes oldtag as the tag of a pending transaction,
 *   it should abort any pending response and discard that tag. In either
 *   case, it should respond with an Rflush echoing the tag (not oldtag) of
 *   the Tflush message." "The server ... must answer the flush with Rflush
 *   after the reply to the original message, if any" (the client may see the
 *   reply, then the Rflush, and never the reverse).
 * intro(5): "... the server may respond to any other request with an
 *   Rerror." (9P2000.L: Rlerror; 9P2000.u: Rerror with errno[4]).
 * version(5): "If the server does not understand the client's version
 *   string, it should respond with an Rversion message (not Rerror) with
 *   the version string the 7 characters unknown."
 *
 * The dialect is the one Tversion asked for: "9P2000.L", "9P2000.u" or
 * "9P2000" (other "9P2000.x" fall back to "9P2000", anything else is
 * "unknown"). 9P2000/.u requests are translated onto the same Handler
 * (dispatch.ts, classic.ts).
 *
 * Requests run concurrently and are answered as they finish, except that
 * requests naming the same fid run in arrival order where one of them
 * changes what the fid is (fidorder.ts): a client may send walk, open,
 * write and clunk at once. A flushed request's handler sees its signal
 * abort; its reply is sent (before the Rflush) only if it completed anyway,
 * and an error it ends with is dropped. A request still waiting for an
 * earlier one on its fid when flushed never runs, and is answered at once.
 * At most `maxInflight` requests run, wait for their fid, or have replies
 * waiting to be written at once: past that the connection stops reading,
 * so a client that sends without reading cannot make the server queue
 * without bound. A frame that cannot be decoded is answered Rlerror(EPROTO)
 * with its tag; an oversize or undersized size[4] closes the connection. When the
 * connection ends every fid is handed to the handler's clunk hook.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { NOTAG } from '../codec/constants.js';
import { decode } from '../codec/decode.js';
import { encode, encodedLength, encodeInto } from '../codec/encode.js';
import { ProtocolError } from '../codec/errors.js';
import type { Dialect, Fcall } from '../codec/types.js';
import { Channel } from '../channel/channel.js';
import { ERRNO, errnoText } from '../channel/errno.js';
import { ChannelError } from '../channel/errors.js';
import { MAX_MSIZE, serverVersion } from '../channel/version.js';
import { dispatch, isThenable } from './dispatch.js';
import type { DispatchState, InPlaceRread, SignalSource } from './dispatch.js';
import { errnoOf } from './errno-of.js';
import { claimsOf, mustFollow } from './fidorder.js';
import type { FidClaim } from './fidorder.js';
import { FidTable } from './fidtable.js';
import type { FidEntry } from './fidtable.js';
import type { Awaitable, Handler } from './handler.js';
import { decodeScatteredWrite, TWRITE } from './twrite.js';

export interface ServeOptions<N> {
  /** The connection (a socket, or one end of duplexPair()). */
  stream: Duplex;
  handler: Handler<N>;
  /** The largest msize agreed to (default 1 MiB). */
  msize?: number;
  /** Fids per connection (default 4096); past it, EMFILE. */
  maxFids?: number;
  /** Requests run at once before the connection stops reading (default 64). */
  maxInflight?: number;
}

export interface ServerConnection {
  /** Resolves once the connection is closed and every fid has been released. */
  readonly done: Promise<ChannelError>;
  /** Live fids now. */
  readonly fidCount: number;
  /** The most fids (reserved slots included) ever held at once. */
  readonly fidHighWater: number;
  readonly inFlight: number;
  readonly msize: number;
  readonly dialect: Dialect | undefined;
  close(): void;
}

/** A request's abort state; its AbortSignal is made only when a handler reads ctx.signal. */
class Abort implements SignalSource {
  private ac: AbortController | undefined;
  private reason: unknown;
  private aborted = false;

  get signal(): AbortSignal {
    if (this.ac === undefined) {
      this.ac = new AbortController();
      if (this.aborted) this.ac.abort(this.reason);
    }
    return this.ac.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.ac?.abort(reason);
  }
}

type Reply = Fcall | InPlaceRread;

interface Running {
  ac: Abort;
  flushed: boolean;
  /** Set by Tversion: no reply at all, not even a success. */
  cancelled: boolean;
  /** The fids it names (fidorder.ts). */
  claims: readonly FidClaim[];
  /** Waiting for earlier requests on its fids; it has not started. */
  queued: boolean;
  /** It arrived behind earlier requests on its fids (pipelined): later changes of them wait for it. */
  ordered: boolean;
  /** It has finished (run, failed or been skipped): later requests on its fids may go. */
  ended: boolean;
  /** Called once it has ended: later requests waiting for it (made only when one has to). */
  waiters: (() => void)[] | undefined;
  /** Settles once its reply has been handed to the stream, or once it is known none will be. */
  done: Promise<void>;
}

/** Resolves once every request of `before` has ended. */
function allEnded(before: readonly Running[]): Promise<void> {
  let left = before.length;
  return new Promise((resolve) => {
    const one = (): void => {
      if (--left === 0) resolve();
    };
    for (const b of before) {
      if (b.ended) one();
      else (b.waiters ??= []).push(one);
    }
  });
}

function end(r: Running): void {
  r.ended = true;
  const w = r.waiters;
  r.waiters = undefined;
  if (w !== undefined) for (const f of w) f();
}

const DONE: Promise<void> = Promise.resolve();

const DIALECTS: readonly Dialect[] = ['9P2000.L', '9P2000.u', '9P2000'];

/** A reply waiting for the end of the event-loop turn. */
interface Outgoing {
  frame: Uint8Array;
  /** Called once the stream is done with the frame's memory. */
  written: (() => void) | undefined;
  /** Settles send(): the stream has taken the frame (or the connection is gone). Only when asked for. */
  resolve: (() => void) | undefined;
}

/**
 * Replies are not written the moment they are ready but together: with
 * several connections open, at the end of the event-loop turn (setImmediate:
 * libuv's check phase, right after the poll phase has run every socket and
 * file callback that was ready), for every connection at once. Each write to
 * a loopback or virtio socket wakes the peer; written one by one between the
 * handling of the next requests, the replies of one turn wake a client
 * process (and then this server) once each, and on a busy 2-core machine
 * those wake-ups cost more CPU than the requests (measured: see
 * BENCHMARKS.md). Written together, the peer wakes once and finds them all;
 * several replies for one connection become one writev.
 *
 * With one connection open there is nothing to gather from other sockets, and
 * the extra trip into JavaScript for the check phase costs more than it saves
 * there: its replies are written once the microtasks of the callback that
 * made them have run (which still puts the replies to one chunk of requests
 * into one writev).
 */
class ReplyBatch {
  // Measured (stat = walk+getattr+clunk, server CPU per stat, medians): 16
  // clients, end of turn 56-62 us, after each callback's microtasks 69-72 us
  // (74-78 us writing each reply at once); 1 client, end of turn 97 us and
  // 5000/s, after the microtasks 92 us and 5330/s.
  private pending: (() => void)[] = [];
  /** Connections served now, over every serve() of this process. */
  connections = 0;

  schedule(flush: () => void): void {
    if (this.pending.push(flush) === 1) {
      if (this.connections > 1) nextTurn(this.run);
      // A reaction on a settled promise: the same place in the microtask
      // queue as queueMicrotask, without the AsyncResource Node's
      // queueMicrotask makes (and enters and leaves) for every call.
      else void settled.then(this.run);
    }
  }

  private readonly run = (): void => {
    const fns = this.pending;
    this.pending = [];
    for (const f of fns) f();
  };
}

/** The real setImmediate, even where a test framework fakes timers after this module loaded. */
const nextTurn = setImmediate;
const settled = Promise.resolve();
const replies = new ReplyBatch();

/**
 * Small Rread frames (a 4 KiB read is a 4107-byte frame, just past what
 * Buffer.allocUnsafe takes from Node's own slab) are cut from 64 KiB slabs
 * instead of each getting an ArrayBuffer (a malloc and an external-memory
 * record) of its own; in a profile of walk+open+read+clunk the garbage
 * collector took 7 % of the server's CPU. Memory is never handed out twice: a
 * slab is dropped once full and freed when its last frame is. Used only on a
 * net.Socket, whose frames are copied into the kernel and not kept, so a
 * client keeping a small read cannot pin a whole slab (see reusable below).
 */
class Slices {
  private slab: Buffer = Buffer.alloc(0);
  private at = 0;

  take(size: number): Buffer {
    if (this.at + size > this.slab.length) {
      this.slab = Buffer.allocUnsafeSlow(SLAB);
      this.at = 0;
    }
    const b = this.slab.subarray(this.at, this.at + size);
    this.at = (this.at + size + 7) & ~7; // the next frame 8-byte aligned
    return b;
  }
}

const SLAB = 64 * 1024;
/** Frames up to this size come from Slices. */
const SLICED = 8 * 1024 + 64;
const slices = new Slices();

/**
 * Serves 9P2000.L, 9P2000.u or 9P2000 (as the client's Tversion asks) on
 * `stream` from `handler` until the stream ends.
 *
 * @example
 *   const server = await listen({
 *     address: 'tcp!127.0.0.1!5640',
 *     onConnection: (socket) => serve({ stream: socket, handler: new MemoryFs() }),
 *   });
 */
export function serve<N>(opts: ServeOptions<N>): ServerConnection {
  const maxMsize = Math.min(opts.msize ?? 1 << 20, MAX_MSIZE);
  const maxInflight = opts.maxInflight ?? 64;
  const handler = opts.handler;
  const fids = new FidTable<N>(opts.maxFids ?? 4096);
  replies.connections++;
  const running = new Map<number, Running>();
  /** Flushed while waiting for their fid: answered and out of `running`, counted until those they waited for end. */
  let parked = 0;
  let dialect: Dialect | undefined;
  let msize = maxMsize;
  let live = true;
  let paused = false;

  const release = (node: N): Awaitable<void> => {
    // A failing clunk hook still frees the fid.
    try {
      const r = handler.clunk?.(node);
      if (isThenable(r)) return Promise.resolve(r).catch(() => {});
    } catch {
      // (as above)
    }
  };
  /** A fid the connection drops (Tversion, close): ORCLOSE still removes its file. */
  const drop = async (e: FidEntry<N>): Promise<void> => {
    if (e.classic?.rclose === true && e.opened) {
      try {
        await handler.remove?.(e.node, { signal: AbortSignal.abort(), uname: e.uname, nUname: e.nUname });
      } catch {
        // Best effort: the fid is going away whatever happens.
      }
    }
    await release(e.node);
  };
  /*
   * Rread frames of 64 KiB and more come from a few reusable buffers of
   * msize bytes: allocating (and page-faulting in) a fresh 128 KiB-1 MiB
   * buffer per Tread cost more than the read itself. A buffer goes back only
   * once the stream is done with it, and at most POOL wait here. Only on a
   * plain net.Socket (TCP, Unix), whose write copies the bytes into the
   * kernel before calling back: another Duplex (a subclass included) may
   * hand the very buffer on (duplexPair gives it to its reader, who may keep
   * views of it).
   */
  const POOL = 2;
  const POOLED = 64 * 1024;
  const reusable = Object.getPrototypeOf(opts.stream) === Socket.prototype;
  let pool: Uint8Array[] = [];
  const frameBuffer = (size: number): Uint8Array => {
    if (!reusable || size > msize) return Buffer.allocUnsafe(size);
    if (size <= SLICED) return slices.take(size);
    if (size < POOLED) return Buffer.allocUnsafe(size);
    const b = pool.pop();
    return b !== undefined && b.length >= size ? b : Buffer.allocUnsafeSlow(msize);
  };
  const recycle = (b: Uint8Array): void => {
    if (b.length === msize && b.byteOffset === 0 && pool.length < POOL && live) pool.push(b);
  };
  const state: DispatchState<N> = {
    handler,
    fids,
    frameBuffer,
    get msize() {
      return msize;
    },
    get dialect() {
      return dialect ?? '9P2000.L';
    },
    release,
  };

  // Twrites that arrive split are handed on in pieces, not copied (twrite.ts).
  const channel = new Channel({
    stream: opts.stream,
    maxSize: maxMsize,
    scatter: TWRITE,
    onFrame: (f, rest) => onFrame(f, rest),
    onClose: () => shutdown(),
  });
  let resolveDone!: (e: ChannelError) => void;
  const done = new Promise<ChannelError>((r) => (resolveDone = r));

  /** Replies written but not yet taken by the stream (bounded with running requests). */
  let queued = 0;

  /**
   * Requests a Tversion cancelled whose handlers have not finished: out of `running` (their
   * tags are free) but still holding what they hold (a read buffer, a pool thread).
   */
  let cancelledBusy = 0;

  function flow(): void {
    // Requests running (or parked, or cancelled but still working) and replies the stream has
    // not taken share one bound: a client that sends without reading holds at most maxInflight.
    const full = running.size + parked + cancelledBusy + queued >= maxInflight;
    if (full && !paused && live) {
      paused = true;
      channel.pause();
    } else if (!full && paused && live) {
      paused = false;
      channel.resume();
    }
  }

  /** Writes a reply; with `wait`, the promise returned resolves once the stream has taken it. */
  function send(m: Fcall | InPlaceRread, wait = false): Promise<void> | undefined {
    let frame: Uint8Array;
    let reuse: Uint8Array | undefined;
    try {
      if ('frame' in m) {
        // Rread read straight into its frame: only the header is written here.
        frame = m.frame.subarray(0, encodeInto(m, dialect ?? '9P2000.L', m.frame, 0));
        reuse = m.frame;
      } else {
        // Into Node's shared slab below 4 KiB (Buffer.allocUnsafe): no
        // ArrayBuffer of its own per reply, and a Buffer the stream takes as is.
        const d = dialect ?? '9P2000.L';
        frame = Buffer.allocUnsafe(encodedLength(m, d));
        encodeInto(m, d, frame, 0);
      }
      if (frame.length > msize) throw new RangeError(`${m.type} of ${frame.length} bytes exceeds msize`);
    } catch {
      // The handler produced something unsendable: answer EIO instead.
      frame = encode(error(m.tag, ERRNO.EIO), dialect ?? '9P2000.L');
    }
    queued++;
    flow();
    const full = reuse;
    const o: Outgoing = { frame, written: full === undefined ? undefined : () => recycle(full), resolve: undefined };
    const taken = wait ? new Promise<void>((resolve) => (o.resolve = resolve)) : undefined;
    const n = outq.push(o);
    // No more than maxInflight wait for the turn's end: past that they are
    // offered to the stream now, and its backpressure applies as before.
    if (n >= maxInflight) flushReplies();
    else if (n === 1) replies.schedule(flushReplies);
    return taken;
  }

  /** Replies made during this event-loop turn, written together at its end (see ReplyBatch). */
  let outq: Outgoing[] = [];

  function flushReplies(): void {
    const q = outq;
    outq = [];
    const stream = opts.stream;
    // Several replies for one connection go out in one writev.
    const cork = q.length > 1 && !channel.isClosed;
    if (cork) stream.cork();
    let taken = 0;
    for (const o of q) {
      // Taken at once unless the stream is full: then no promise is made.
      const later = channel.offer(o.frame, o.written);
      if (later === undefined) {
        taken++;
        o.resolve?.();
        continue;
      }
      later.then(
        () => {
          queued--;
          flow();
          o.resolve?.();
        },
        () => {
          queued--;
          o.resolve?.();
        },
      );
    }
    if (cork) stream.uncork();
    if (taken > 0) {
      queued -= taken;
      flow();
    }
  }

  /** The error reply of the dialect: Rlerror, Rerror with errno (.u), Rerror (9P2000). */
  function error(tag: number, errno: number): Fcall {
    if (dialect === undefined || dialect === '9P2000.L') return { type: 'Rlerror', tag, ecode: errno };
    return dialect === '9P2000.u' ? { type: 'Rerror', tag, ename: errnoText(errno), errno } : { type: 'Rerror', tag, ename: errnoText(errno) };
  }

  type Work = (signal: SignalSource, alive: () => boolean) => Reply | Promise<Reply | undefined>;

  function start(tag: number, claims: readonly FidClaim[], work: Work): void {
    const r: Running = { ac: new Abort(), claims, flushed: false, cancelled: false, queued: false, ordered: false, ended: false, waiters: undefined, done: DONE };
    // The earlier requests still running that name one of its fids, where either changes it (fidorder.ts).
    let before: Running[] | undefined;
    if (claims.length > 0 && running.size > 0) {
      for (const o of running.values()) if (!o.ended && mustFollow(claims, o.claims, o.ordered)) (before ??= []).push(o);
    }
    running.set(tag, r);
    flow();
    if (before === undefined) {
      r.done = run(r, tag, work) ?? DONE;
      return;
    }
    const wait = before;
    r.ordered = true;
    r.done = (async () => {
      // Behind earlier requests on the same fid (fidorder.ts): run once they have ended.
      r.queued = true;
      await allEnded(wait);
      r.queued = false;
      // Flushed or cancelled while it waited, or the connection gone: it never runs.
      if (r.flushed || r.cancelled || !live) finish(r, tag, undefined, false);
      else await run(r, tag, work);
    })();
  }

  /**
   * Runs a request. A handler that answers with a plain value (LocalFs's
   * walk, getattr, lopen, clunk, small reads and writes) is answered at
   * once, with no promise; otherwise the promise returned settles once the
   * reply has been handed to the stream.
   */
  function run(r: Running, tag: number, work: Work): Promise<void> | undefined {
    let out: Reply | undefined | Promise<Reply | undefined>;
    try {
      out = work(r.ac, () => live && !r.cancelled);
    } catch (e) {
      out = failed(r, tag, e);
    }
    if (!isThenable(out)) {
      finish(r, tag, out, false);
      return undefined;
    }
    return out.then(
      (reply) => finish(r, tag, reply, true),
      (e: unknown) => finish(r, tag, failed(r, tag, e), true),
    );
  }

  /** A flushed request that failed (most likely because it was aborted) is not answered. */
  function failed(r: Running, tag: number, e: unknown): Fcall | undefined {
    return r.flushed ? undefined : error(tag, errnoOf(e));
  }

  /**
   * A request has ended: its reply is queued and its tag is free (replies go
   * out in queue order, so a later Rflush still follows it): the client may
   * reuse the tag as soon as it reads the reply, which can be before the
   * stream calls back. A Tflush for it still waits for the write (r.done, when
   * it ran asynchronously), and queued replies count against maxInflight, so
   * a client that does not read still stops us reading.
   */
  function finish(r: Running, tag: number, reply: Reply | undefined, wait: boolean): Promise<void> | undefined {
    end(r);
    const sent = reply !== undefined && live && !r.cancelled && !(r.flushed && reply.type === 'Rlerror') ? send(reply, wait) : undefined;
    if (running.get(tag) === r) running.delete(tag);
    flow();
    return sent;
  }

  function onFrame(frame: Uint8Array, rest?: readonly Uint8Array[]): void {
    let m: Fcall;
    try {
      m = rest === undefined ? decode(frame, dialect ?? '9P2000.L', { maxSize: msize }) : decodeScatteredWrite(frame, rest, dialect ?? '9P2000.L');
    } catch (e) {
      const tag = e instanceof ProtocolError ? e.tag : undefined;
      if (tag === undefined || running.has(tag)) {
        channel.close(new ChannelError('protocol', 'undecodable frame whose tag cannot be answered'));
      } else void send(error(tag, ERRNO.EPROTO));
      return;
    }
    if (m.type === 'Tversion') {
      version(m.tag, m.msize, m.version);
      return;
    }
    if (dialect === undefined) {
      void send(error(m.tag, ERRNO.EPROTO));
      return;
    }
    if (running.has(m.tag) || m.tag === NOTAG) {
      // The client reused a tag still in flight: answering would be ambiguous.
      channel.close(new ChannelError('protocol', `tag ${m.tag} reused while in flight`));
      return;
    }
    if (m.type === 'Tflush') {
      const oldtag = m.oldtag;
      const target = running.get(oldtag);
      const tag = m.tag;
      start(tag, [], async () => {
        if (target !== undefined) {
          target.flushed = true;
          target.ac.abort(new ChannelError('closed', 'flushed'));
          if (target.queued) {
            // It never ran and never will: no reply, and its tag is free now.
            // What comes after it waits only for the requests still running
            // (those before it included); it counts against maxInflight until
            // those it waited for have ended.
            if (running.get(oldtag) === target) running.delete(oldtag);
            parked++;
            void allEnded([target]).then(() => {
              parked--;
              flow();
            });
          } else await target.done;
        }
        return { type: 'Rflush', tag };
      });
      return;
    }
    const msg = m;
    start(msg.tag, claimsOf(msg), (signal, alive) => dispatch(state, msg, signal, alive, rest));
  }

  function version(tag: number, asked: number, askedVersion: string): void {
    // Abort everything outstanding and free every fid, then answer.
    for (const r of running.values()) {
      r.flushed = true;
      r.cancelled = true;
      r.ac.abort(new ChannelError('closed', 'Tversion'));
      if (!r.ended) {
        cancelledBusy++;
        const ended = (): void => {
          cancelledBusy--;
          flow();
        };
        void r.done.then(ended, ended);
      }
    }
    running.clear();
    for (const e of fids.drain()) void drop(e);
    const v = serverVersion({ msize: asked, version: askedVersion, maxMsize, dialects: DIALECTS });
    if (v.version === 'unknown') {
      dialect = undefined;
    } else {
      dialect = v.version;
      msize = v.msize;
      pool = [];
      channel.maxSize = msize;
    }
    // version(5): the tag "should be NOTAG"; the reply carries the request's, whatever it was.
    void send({ type: 'Rversion', tag, msize: v.msize, version: v.version });
  }

  function shutdown(): void {
    if (!live) return;
    live = false;
    replies.connections--;
    const pending = [...running.values()];
    for (const r of pending) r.ac.abort(channel.reason);
    const releasing = fids.drain().map((e) => drop(e));
    void Promise.allSettled([...pending.map((r) => r.done), ...releasing]).then(() => {
      // Anything made while the last requests finished was released by adopt().
      for (const e of fids.drain()) void drop(e);
      resolveDone(channel.reason ?? new ChannelError('closed', 'closed'));
    });
  }

  return {
    done,
    get fidCount() {
      return fids.size;
    },
    get fidHighWater() {
      return fids.highWater;
    },
    get inFlight() {
      return running.size;
    },
    get msize() {
      return msize;
    },
    get dialect() {
      return dialect;
    },
    close: () => channel.close(),
  };
}
