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
 */
import { HEADER_SIZE } from '../codec/constants.js';
import { ChannelError } from './errors.js';

export class FrameReader {
  /** The largest frame accepted (the negotiated msize). */
  maxSize: number;
  private readonly sizeBytes = new Uint8Array(4);
  private sizeFill = 0;
  private partial: Uint8Array | undefined;
  private partialFill = 0;

  constructor(maxSize: number) {
    this.maxSize = maxSize;
  }

  /** Bytes held of an incomplete frame. */
  get pending(): number {
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
  push(chunk: Uint8Array, onFrame: (frame: Uint8Array) => boolean | void): number {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
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
      } else {
        this.partial = uninitialized(size);
        this.partial.set(chunk.subarray(pos, n), 0);
        this.partialFill = n - pos;
        pos = n;
      }
    }
    return pos;
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
