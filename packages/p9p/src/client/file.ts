/*
 * An open fid: reads and writes split at iounit, directory listing.
 *
 * open(5): "The iounit field returned by open and create may be zero. If it
 *   is not, it is the maximum number of bytes that are guaranteed to be read
 *   from or written to the file without breaking the I/O transfer into
 *   multiple 9P messages".
 * read(5): "size[4] Tread tag[2] fid[4] offset[8] count[4]
 *           size[4] Rread tag[2] count[4] data[count]"
 *   "If the offset field is greater than or equal to the number of bytes in
 *   the file, a count of zero will be returned."
 * diod protocol.md (readdir): "size[4] Treaddir tag[2] fid[4] offset[8]
 *   count[4]  size[4] Rreaddir tag[2] count[4] data[count]"
 *
 * One message moves at most iounit bytes (msize - IOHDRSZ when iounit is 0,
 * and never more than that). A server that returns more than was asked for,
 * or makes no progress, is refused rather than looped on.
 */
import { IOHDRSZ, READDIRHDRSZ } from '../codec/constants.js';
import { decodeDirents } from '../codec/dirent.js';
import { P9Error } from '../codec/errors.js';
import { decodeStats } from '../codec/stat.js';
import type { Dirent, Qid } from '../codec/types.js';
import { ChannelError } from '../channel/errors.js';
import type { Fid } from './fid.js';

/** The pieces as one buffer: one allocation, one copy of each piece. */
function join(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface ReadOptions {
  offset: number | bigint;
  /** Bytes wanted; split into several Treads as needed. */
  count: number;
  signal?: AbortSignal;
}

export class File {
  constructor(
    /** The fid, opened. */
    readonly fid: Fid,
    readonly qid: Qid,
    /** The server's iounit (0: none given). */
    readonly iounit: number,
  ) {}

  /** The most bytes one Tread or Twrite carries. */
  get chunk(): number {
    const room = this.fid.session.msize - IOHDRSZ;
    return this.iounit > 0 ? Math.min(this.iounit, room) : room;
  }

  /** Reads up to `count` bytes at `offset`; fewer only at end of file. */
  async read(opts: ReadOptions): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let offset = BigInt(opts.offset);
    let left = opts.count;
    let total = 0;
    while (left > 0) {
      const want = Math.min(left, this.chunk);
      const r = await this.fid.session.rpc(
        { type: 'Tread', fid: this.fid.fid, offset, count: want },
        { signal: opts.signal },
      );
      if (r.data.length > want) {
        throw new ChannelError('protocol', `Rread of ${r.data.length} bytes to a Tread of ${want}`);
      }
      if (r.data.length === 0) break;
      parts.push(r.data);
      total += r.data.length;
      left -= r.data.length;
      offset += BigInt(r.data.length);
    }
    return parts.length === 1 && parts[0] !== undefined ? parts[0] : join(parts, total);
  }

  /** Reads to end of file from `offset`. Throws EFBIG past `maxBytes` (default 1 GiB). */
  async readAll(opts: { offset?: number | bigint; maxBytes?: number; signal?: AbortSignal } = {}): Promise<Uint8Array> {
    const max = opts.maxBytes ?? 1 << 30;
    const parts: Uint8Array[] = [];
    let offset = BigInt(opts.offset ?? 0);
    let total = 0;
    for (;;) {
      const data = await this.read({ offset, count: this.chunk, signal: opts.signal });
      if (data.length === 0) break;
      total += data.length;
      if (total > max) throw new P9Error('EFBIG', `file exceeds ${max} bytes`);
      parts.push(data);
      offset += BigInt(data.length);
    }
    return join(parts, total);
  }

  /** Writes all of `data` at `offset` (several Twrites as needed); resolves with the bytes written. */
  async write(opts: { offset: number | bigint; data: Uint8Array; signal?: AbortSignal }): Promise<number> {
    let offset = BigInt(opts.offset);
    let done = 0;
    const { data } = opts;
    while (done < data.length) {
      const piece = data.subarray(done, done + this.chunk);
      const r = await this.fid.session.rpc(
        { type: 'Twrite', fid: this.fid.fid, offset, data: piece },
        { signal: opts.signal },
      );
      if (r.count === 0 || r.count > piece.length) {
        throw new P9Error('EIO', `Rwrite of ${r.count} bytes to a Twrite of ${piece.length}`);
      }
      done += r.count;
      offset += BigInt(r.count);
    }
    return done;
  }

  /**
   * Every entry of the directory (9P2000.L Treaddir; 9P2000/.u: the stats it
   * reads, as dirents). Throws E2BIG past `maxEntries` (default 1,000,000).
   */
  async readdir(opts: { maxEntries?: number; signal?: AbortSignal } = {}): Promise<Dirent[]> {
    const max = opts.maxEntries ?? 1_000_000;
    const out: Dirent[] = [];
    const s = this.fid.session;
    if (s.dialect !== '9P2000.L') {
      const data = await this.readAll({ signal: opts.signal, maxBytes: max * 64 });
      return decodeStats(data, s.dialect).map((st, i) => ({
        qid: st.qid,
        offset: BigInt(i + 1),
        type: (st.qid.type & 0x80) !== 0 ? 4 : (st.qid.type & 0x02) !== 0 ? 10 : 8,
        name: st.name,
      }));
    }
    let offset = 0n;
    const count = s.msize - READDIRHDRSZ;
    for (;;) {
      const r = await s.rpc({ type: 'Treaddir', fid: this.fid.fid, offset, count }, { signal: opts.signal });
      if (r.data.length === 0) break;
      if (r.data.length > count) throw new ChannelError('protocol', `Rreaddir of ${r.data.length} bytes to ${count}`);
      const entries = decodeDirents(r.data);
      const last = entries[entries.length - 1];
      if (last === undefined) break;
      out.push(...entries);
      if (out.length > max) throw new P9Error('E2BIG', `directory has over ${max} entries`);
      offset = last.offset;
    }
    return out;
  }

  /** Clunks the fid (released even if the server errs). */
  close(): Promise<void> {
    return this.fid.clunk();
  }
}
