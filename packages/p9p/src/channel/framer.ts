/*
 * Reassembling frames from a byte stream.
 *
 * intro(5): "size[4] ... is the size of the message in bytes, including the
 *   4-byte size field itself."
 * version(5): "msize ... the maximum length, in bytes, it will ever generate
 *   or expect to receive in a single 9P message."
 *
 * A frame that lies whole inside one chunk is handed on as a view of that
 * chunk (no copy). Only a frame split across chunks is copied, once, into a
 * buffer of exactly its size, allocated after its size[4] has been checked
 * against maxSize: a hostile prefix can never make us allocate more than the
 * negotiated msize.
 *
 * Optionally (`scatter`), a split frame of one chosen type (the server picks
 * Twrite: size[4] Twrite tag[2] fid[4] offset[8] count[4] data[count]) whose
 * first SCATTER_HEAD bytes lie in its first chunk is not copied at all: it is
 * handed on as that head plus the rest as the list of chunk views it arrived
 * in, which a handler can write with one writev. Pieces are bounded
 * (SCATTER_MAX_PIECES): a peer trickling bytes turns the frame back into one
 * copied buffer, so a frame never costs more than msize plus a few views.
 */
import { HEADER_SIZE } from '../codec/constants.js';
import { ChannelError } from './errors.js';

/** Bytes of a scattered frame's head: size[4] type[1] tag[2] fid[4] offset[8] count[4] (Twrite's fixed fields). */
export const SCATTER_HEAD = 23;
/** A scattered frame holding more pieces than this is copied into one buffer. */
export const SCATTER_MAX_PIECES = 64;
/** Smaller split frames are copied: a copy of a few KiB costs less than a list of views. */
export const SCATTER_MIN = 16 * 1024;

/**
 * Called with each whole frame. With `rest` (scatter only), `frame` is the
 * frame's first SCATTER_HEAD bytes and `rest` the remaining bytes, in order,
 * as views of the chunks they arrived in.
 */
export type FrameCallback = (frame: Uint8Array, rest?: readonly Uint8Array[]) => boolean | void;

export class FrameReader {
  /** The largest frame accepted (the negotiated msize). */
  maxSize: number;
  /** The type[1] of split frames handed on in pieces (see above); undefined: none. */
  readonly scatter: number | undefined;
  private readonly sizeBytes = new Uint8Array(4);
  private sizeFill = 0;
  private partial: Uint8Array | undefined;
  private partialFill = 0;
  /** A scattered frame being gathered: its head, its pieces, and the bytes still to come. */
  private head: Uint8Array | undefined;
  private pieces: Uint8Array[] = [];
  private missing = 0;

  constructor(maxSize: number, opts: { scatter?: number } = {}) {
    this.maxSize = maxSize;
    this.scatter = opts.scatter;
  }

  /** Bytes held of an incomplete frame. */
  get pending(): number {
    if (this.head !== undefined) return this.pieces.reduce((a, p) => a + p.length, this.head.length);
    return this.partial !== undefined ? this.partialFill : this.sizeFill;
  }

  /**
   * Feeds one chunk; calls `onFrame` for every frame it completes, in order,
   * and returns the bytes consumed: all of them, unless `onFrame` returned
   * false (stop: the caller keeps the rest and feeds it again later).
   * Throws ChannelError ('frame-too-large' or 'frame-too-small') on a bad
   * size[4]: the stream cannot be resynchronised, so the caller closes it.
   *
   * @example
   *   const frames = new FrameReader(8192);
   *   socket.on('data', (chunk) => frames.push(chunk, (f) => handle(f)));
   */
  push(chunk: Uint8Array, onFrame: FrameCallback): number {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      if (this.head !== undefined) {
        const take = Math.min(this.missing, n - pos);
        // A view: nothing reuses a chunk's memory once it has been handed to us.
        this.pieces.push(chunk.subarray(pos, pos + take));
        this.missing -= take;
        pos += take;
        if (this.missing === 0) {
          const head = this.head;
          const rest = this.pieces;
          this.head = undefined;
          this.pieces = [];
          if (onFrame(head, rest) === false) return pos;
        } else if (this.pieces.length >= SCATTER_MAX_PIECES) {
          this.gather();
        }
        continue;
      }
      if (this.partial !== undefined) {
        const take = Math.min(this.partial.length - this.partialFill, n - pos);
        this.partial.set(chunk.subarray(pos, pos + take), this.partialFill);
        this.partialFill += take;
        pos += take;
        if (this.partialFill === this.partial.length) {
          const frame = this.partial;
          this.partial = undefined;
          this.partialFill = 0;
          if (onFrame(frame) === false) return pos;
        }
        continue;
      }
      if (this.sizeFill > 0 || n - pos < 4) {
        // size[4] itself is split across chunks.
        const take = Math.min(4 - this.sizeFill, n - pos);
        this.sizeBytes.set(chunk.subarray(pos, pos + take), this.sizeFill);
        this.sizeFill += take;
        pos += take;
        if (this.sizeFill < 4) continue;
        const size = this.check(readU32(this.sizeBytes, 0));
        this.sizeFill = 0;
        this.partial = uninitialized(size);
        this.partial.set(this.sizeBytes, 0);
        this.partialFill = 4;
        continue;
      }
      const size = this.check(readU32(chunk, pos));
      if (n - pos >= size) {
        const frame = chunk.subarray(pos, pos + size);
        pos += size;
        if (onFrame(frame) === false) return pos;
      } else if (this.scatter !== undefined && size >= SCATTER_MIN && n - pos >= SCATTER_HEAD && chunk[pos + 4] === this.scatter) {
        this.head = chunk.subarray(pos, pos + SCATTER_HEAD);
        if (n - pos > SCATTER_HEAD) this.pieces.push(chunk.subarray(pos + SCATTER_HEAD, n));
        this.missing = size - (n - pos);
        pos = n;
      } else {
        this.partial = uninitialized(size);
        this.partial.set(chunk.subarray(pos, n), 0);
        this.partialFill = n - pos;
        pos = n;
      }
    }
    return pos;
  }

  /** Too many pieces: the scattered frame so far is copied into one buffer and completed as any split frame. */
  private gather(): void {
    const head = this.head!;
    const size = head.length + this.pieces.reduce((a, p) => a + p.length, 0) + this.missing;
    const buf = uninitialized(size);
    buf.set(head, 0);
    let at = head.length;
    for (const p of this.pieces) {
      buf.set(p, at);
      at += p.length;
    }
    this.head = undefined;
    this.pieces = [];
    this.missing = 0;
    this.partial = buf;
    this.partialFill = at;
  }

  private check(size: number): number {
    if (size > this.maxSize) {
      throw new ChannelError('frame-too-large', `frame of ${size} bytes exceeds msize ${this.maxSize}`);
    }
    if (size < HEADER_SIZE) {
      throw new ChannelError('frame-too-small', `frame of ${size} bytes is shorter than a ${HEADER_SIZE}-byte header`);
    }
    return size;
  }
}

/**
 * A buffer for a split frame, not zero-filled (up to msize bytes: zeroing a
 * 1 MiB frame costs as much as copying it). Safe because a frame is handed on
 * only once every one of its bytes has been copied in from the stream.
 */
function uninitialized(size: number): Uint8Array {
  return size < 4096 ? new Uint8Array(size) : Buffer.allocUnsafeSlow(size);
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at] ?? 0) | ((b[at + 1] ?? 0) << 8) | ((b[at + 2] ?? 0) << 16)) + (b[at + 3] ?? 0) * 0x1000000;
}
