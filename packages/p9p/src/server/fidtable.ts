/*
 * A connection's fid table, bounded.
 *
 * intro(5): "All requests on a connection share the same fid space".
 * attach(5), walk(5): "newfid ... must not be in use".
 * clunk(5): "the fid is no longer valid" after Tclunk or Tremove.
 * version(5): Tversion "... clunks all fids".
 *
 * A slot is reserved when a request that creates a fid starts (so
 * concurrent requests cannot overrun the bound or claim the same number)
 * and filled, or freed, when it ends. Past `max` entries, EMFILE.
 */
import { RemoteError } from '../channel/errors.js';
import { ERRNO } from '../channel/errno.js';

export interface FidEntry<N> {
  node: N;
  opened: boolean;
  uname: string;
  nUname: number;
  /** 9P2000/9P2000.u only (absent under 9P2000.L): what those dialects keep per fid. */
  classic?: ClassicFid;
}

/** Per-fid state of the 9P2000/9P2000.u translation (src/server/classic.ts). */
export interface ClassicFid {
  /** The tree attached to, to find a fid's parent again (Twstat rename). */
  aname: string;
  /** Names walked from the attach root ('..' pops): the last is the stat name. */
  names: string[];
  /** Opened, and a directory: Tread returns stat entries. */
  dir: boolean;
  /** Opened with ORCLOSE: removed when clunked. */
  rclose: boolean;
  /** Where a directory read stands. */
  dirRead?: DirRead;
}

/** read(5) on a directory: offsets are bytes of stat entries returned so far. */
export interface DirRead {
  /** The only offset (besides 0) the next Tread may ask for. */
  offset: bigint;
  /** The handler's readdir cookie after the entries fetched so far. */
  cookie: bigint;
  /** Entries fetched and not yet returned. */
  pending: { name: string }[];
  at: number;
  /** A stat that did not fit in the last reply, returned first by the next. */
  carry?: Uint8Array;
  eof: boolean;
}

const RESERVED = Symbol('reserved');

export class FidTable<N> {
  private readonly fids = new Map<number, FidEntry<N> | typeof RESERVED>();
  /** The most entries (reserved ones included) ever held. */
  highWater = 0;

  constructor(readonly max: number) {}

  get size(): number {
    return this.fids.size;
  }

  /** The entry of a live fid; RemoteError EBADF otherwise. */
  get(fid: number): FidEntry<N> {
    const e = this.fids.get(fid);
    if (e === undefined || e === RESERVED) throw RemoteError.reply(ERRNO.EBADF, `EBADF: fid ${fid} is not in use`);
    return e;
  }

  /** Claims `fid` for a request that will create it: EBADF if in use, EMFILE past the bound. */
  reserve(fid: number): void {
    if (this.fids.has(fid)) throw RemoteError.reply(ERRNO.EBADF, `EBADF: fid ${fid} is already in use`);
    if (this.fids.size >= this.max) throw RemoteError.reply(ERRNO.EMFILE, `EMFILE: ${this.max} fids in use`);
    this.fids.set(fid, RESERVED);
    if (this.fids.size > this.highWater) this.highWater = this.fids.size;
  }

  /** Fills a reserved slot, or replaces a live entry (walk with newfid = fid). */
  set(fid: number, entry: FidEntry<N>): void {
    this.fids.set(fid, entry);
  }

  /** Frees a reservation that did not become a fid. */
  unreserve(fid: number): void {
    if (this.fids.get(fid) === RESERVED) this.fids.delete(fid);
  }

  /** Removes a live fid and returns its entry (RemoteError EBADF if none). */
  take(fid: number): FidEntry<N> {
    const e = this.get(fid);
    this.fids.delete(fid);
    return e;
  }

  /** Empties the table, returning the live entries. */
  drain(): FidEntry<N>[] {
    const out: FidEntry<N>[] = [];
    for (const e of this.fids.values()) if (e !== RESERVED) out.push(e);
    this.fids.clear();
    return out;
  }
}

/**
 * Puts on `e` the node a handler opened or created for it (Tlopen, Tlcreate, Topen,
 * Tcreate). If the connection went away or a Tversion emptied the fid table while the
 * handler ran, `e` was released already (with the node it had then) and nobody would
 * release the new one, an open file of the handler's: it is released here and the
 * request fails (its reply goes nowhere). True when `e` took it.
 */
/** What a request cut short by tookNode fails with (its reply goes nowhere). */
export function cutShort(): never {
  throw RemoteError.reply(ERRNO.ECANCELED, 'ECANCELED: connection closed or reset by Tversion');
}

export function tookNode<N>(
  release: (node: N) => void | PromiseLike<void>,
  alive: () => boolean,
  e: FidEntry<N>,
  node: N | undefined,
): boolean | Promise<boolean> {
  if (alive()) {
    if (node !== undefined) e.node = node;
    e.opened = true;
    return true;
  }
  if (node === undefined || node === e.node) return false;
  const r = release(node);
  return r !== undefined && typeof r.then === 'function' ? Promise.resolve(r).then(() => false) : false;
}
