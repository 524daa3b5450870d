/*
 * Encoding whole frames.
 *
 * intro(5): "size[4] ... is the size of the message in bytes, including the
 *   4-byte size field itself. type[1] ... tag[2]".
 *
 * The frame is sized first (which checks every string and count), so
 * encodeInto never writes past the room it checked. Numbers are range-checked
 * as they are written: on an EncodeError the bytes of the frame's room in
 * `buf` are unspecified.
 */
import { Writer } from './cursor.js';
import { HEADER_SIZE } from './constants.js';
import { EncodeError, P9Error } from './errors.js';
import { DIALECT_BIT } from './layout.js';
import { entryByName } from './table.js';
import type { Entry } from './table.js';
import type { Dialect, Fcall } from './types.js';

function entryFor(msg: Fcall, dialect: Dialect): Entry {
  const bit = DIALECT_BIT[dialect];
  if (bit === undefined) throw new P9Error('EINVAL', `unknown dialect ${String(dialect)}`);
  const entry = entryByName(msg.type);
  if (entry === undefined || (entry.layout.dialects & bit) === 0) {
    throw new EncodeError(`${String(msg.type)} is not a ${dialect} message`, { reason: 'wrong-dialect' });
  }
  return entry;
}

function frameLength(entry: Entry, msg: Fcall, ext: boolean): number {
  const len = HEADER_SIZE + entry.layout.size(msg, ext);
  if (len > 0xffffffff) {
    throw new EncodeError(`${msg.type}: ${len} bytes do not fit size[4]`, { reason: 'too-large', field: 'size' });
  }
  return len;
}

function writeFrame(
  entry: Entry,
  msg: Fcall,
  ext: boolean,
  len: number,
  buf: Uint8Array,
  offset: number,
  view?: DataView,
): void {
  const w = new Writer(buf, offset, view);
  w.u32(len, 'size');
  w.u8(entry.id, 'type');
  w.u16(msg.tag, 'tag');
  entry.layout.write(w, msg, ext);
  if (w.pos !== offset + len) {
    // The size and write halves of a layout disagree: a bug in this codec.
    throw new P9Error('EINTERNAL', `${msg.type}: sized ${len} bytes, wrote ${w.pos - offset}`);
  }
}

/** Bytes of the whole frame `encode` would produce. Throws EncodeError. */
export function encodedLength(msg: Fcall, dialect: Dialect): number {
  return frameLength(entryFor(msg, dialect), msg, dialect !== '9P2000');
}

/**
 * Writes the whole frame (size[4] type[1] tag[2] body) at `offset` of `buf`
 * and returns its length. Rread/Rreaddir data starts at offset + 11 and
 * Twrite data at offset + 23: data already there is not copied again.
 * Throws EncodeError (reason 'buffer-too-small' if it does not fit).
 *
 * @example
 *   const buf = new Uint8Array(msize);
 *   const n = encodeInto({ type: 'Rclunk', tag: 1 }, '9P2000.L', buf, 0);
 *   socket.write(buf.subarray(0, n));
 */
export function encodeInto(msg: Fcall, dialect: Dialect, buf: Uint8Array, offset = 0): number {
  const entry = entryFor(msg, dialect);
  const ext = dialect !== '9P2000';
  const len = frameLength(entry, msg, ext);
  if (!Number.isInteger(offset) || offset < 0 || len > buf.length - offset) {
    throw new EncodeError(`${msg.type}: ${len} bytes do not fit at offset ${offset} of ${buf.length}`, {
      reason: 'buffer-too-small',
    });
  }
  writeFrame(entry, msg, ext, len, buf, offset);
  return len;
}

// Most frames are small (Tclunk is 11 bytes, a three-name Twalk about 30).
// V8 keeps typed arrays of up to 64 bytes on its heap, where allocating one
// is cheap but giving it an ArrayBuffer (which a DataView needs) is not: so
// small frames are written here, through one long-lived DataView, and copied
// out. encode is synchronous, so nothing else can be using `scratch` meanwhile.
const SMALL = 64;
const scratch = new Uint8Array(SMALL);
const scratchView = new DataView(scratch.buffer);

/**
 * The whole frame of `msg` in `dialect`. Throws EncodeError.
 *
 * @example
 *   encode({ type: 'Tversion', tag: NOTAG, msize: 8192, version: '9P2000.L' }, '9P2000.L');
 */
export function encode(msg: Fcall, dialect: Dialect): Uint8Array {
  const entry = entryFor(msg, dialect);
  const ext = dialect !== '9P2000';
  const len = frameLength(entry, msg, ext);
  if (len <= SMALL) {
    writeFrame(entry, msg, ext, len, scratch, 0, scratchView);
    return scratch.slice(0, len);
  }
  const buf = new Uint8Array(len);
  writeFrame(entry, msg, ext, len, buf, 0);
  return buf;
}
