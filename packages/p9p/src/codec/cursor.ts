/*
 * The field cursor: reads and writes the wire's primitive types. Internal.
 *
 * intro(5): "Two-, four-, and eight-byte fields hold unsigned integers
 *   represented in little-endian order (least significant byte first)."
 *   "Data items of larger or variable lengths are represented by a two-byte
 *   field specifying a count, n, followed by n bytes of data."
 *   "Text strings ... are not NUL-terminated: n counts the bytes of UTF-8 data,
 *   which include no final zero byte. The NUL character is illegal in all 9P
 *   text strings."
 *   qid: type[1] version[4] path[8]
 *
 * Every read checks the bytes it needs against `end` before touching the
 * buffer, so a hostile length can neither read out of bounds nor make us
 * allocate more than the frame already holds.
 */
import { EncodeError, ProtocolError } from './errors.js';
import type { ProtocolErrorReason } from './errors.js';
import type { Qid } from './types.js';

export const QID_SIZE = 13;

// fatal: refuse bad UTF-8 instead of substituting U+FFFD.
// ignoreBOM: keep a leading U+FEFF as part of the name instead of eating it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

export class Reader {
  pos: number;
  /** Exclusive bound of what may be read; narrowed while reading a stat. */
  end: number;
  private readonly view: DataView;

  /** The frame's tag and type, once known: every ProtocolError carries them. */
  tag: number | undefined;
  type: number | undefined;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    end: number,
  ) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
  }

  /** Throws the ProtocolError; `at` is where in the frame the bad field starts. */
  fail(reason: ProtocolErrorReason, message: string, at = this.pos): never {
    throw new ProtocolError(message, { reason, tag: this.tag, type: this.type, offset: at });
  }

  need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      this.fail('truncated', `${what}: needs ${n} bytes at offset ${this.pos}, ${this.end - this.pos} left`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    const v = this.view.getUint8(this.pos);
    this.pos += 1;
    return v;
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** name[s]: len[2] then len bytes of UTF-8 without NUL. */
  str(what: string): string {
    const len = this.u16(what);
    if (len === 0) return '';
    this.need(len, what);
    const start = this.pos;
    const end = start + len;
    this.pos = end;
    if (len <= 32) {
      // Short ASCII names (most of a walk) build faster by hand than through
      // TextDecoder; anything else falls through to the checked path.
      const b = this.buf;
      let s = '';
      let i = start;
      for (; i < end; i++) {
        const c = b[i] as number; // i < end <= buf.length: need() checked it
        if (c === 0 || c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === end) return s;
    }
    const bytes = this.buf.subarray(start, end);
    if (bytes.indexOf(0) !== -1) this.fail('bad-string', `${what}: NUL in string`, start);
    try {
      return utf8.decode(bytes);
    } catch {
      return this.fail('bad-string', `${what}: invalid UTF-8`, start);
    }
  }

  qid(what: string): Qid {
    this.need(QID_SIZE, what);
    const v = this.view;
    const p = this.pos;
    this.pos += QID_SIZE;
    return { type: v.getUint8(p), version: v.getUint32(p + 1, true), path: v.getBigUint64(p + 5, true) };
  }

  /** count[4] data[count], as a view into the frame (no copy). */
  data(what: string): Uint8Array {
    const count = this.u32(what);
    this.need(count, what);
    const start = this.pos;
    this.pos += count;
    return this.buf.subarray(start, start + count);
  }

  /** Refuse anything left before `end`. */
  done(what: string): void {
    if (this.pos !== this.end) {
      this.fail('trailing-bytes', `${what}: ${this.end - this.pos} bytes after the last field`);
    }
  }
}

function outOfRange(what: string, v: unknown, range: string): never {
  throw new EncodeError(`${what}: ${String(v)} is not ${range}`, { reason: 'out-of-range', field: what });
}

/**
 * UTF-8 length of a string that may go on the wire, checking what the wire
 * forbids: NUL, lone surrogates (TextEncoder would send U+FFFD in their place)
 * and more than 65535 bytes.
 */
export function strSize(s: string, what: string): number {
  if (typeof s !== 'string') outOfRange(what, s, 'a string');
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) throw new EncodeError(`${what}: NUL in string`, { reason: 'bad-string', field: what });
      n += 1;
    } else if (c < 0x800) {
      n += 2;
    } else if (c < 0xd800 || c > 0xdfff) {
      n += 3;
    } else {
      const d = s.charCodeAt(i + 1); // NaN past the end: fails the test below
      if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) {
        throw new EncodeError(`${what}: lone surrogate at index ${i}`, { reason: 'bad-string', field: what });
      }
      n += 4;
      i++;
    }
  }
  if (n > 0xffff) {
    throw new EncodeError(`${what}: ${n} UTF-8 bytes, the most is 65535`, { reason: 'bad-string', field: what });
  }
  return 2 + n;
}

/**
 * Writes fields from `pos`. The caller has sized the frame (and so checked
 * strings) first and made sure the buffer has room; numbers are range-checked
 * here, since DataView would silently wrap them.
 */
export class Writer {
  pos: number;
  private readonly view: DataView;

  constructor(
    readonly buf: Uint8Array,
    pos: number,
    view?: DataView,
  ) {
    this.view = view ?? new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
  }

  u8(v: number, what: string): void {
    if ((v & 0xff) !== v) outOfRange(what, v, 'an integer in [0, 255]');
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }

  u16(v: number, what: string): void {
    if ((v & 0xffff) !== v) outOfRange(what, v, 'an integer in [0, 65535]');
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }

  u32(v: number, what: string): void {
    if (v >>> 0 !== v) outOfRange(what, v, 'an integer in [0, 2^32)');
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  u64(v: bigint, what: string): void {
    if (typeof v !== 'bigint' || BigInt.asUintN(64, v) !== v) outOfRange(what, v, 'a bigint in [0, 2^64)');
    this.view.setBigUint64(this.pos, v, true);
    this.pos += 8;
  }

  /** A string already checked by strSize. */
  str(s: string): void {
    const b = this.buf;
    const start = this.pos;
    let p = start + 2;
    if (s.length > 64) {
      // Long strings: the native encoder is faster than the loop below. Room
      // was reserved by strSize, so `written` is the whole string.
      p += utf8Encoder.encodeInto(s, b.subarray(p)).written;
    } else {
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x80) {
          b[p++] = c;
        } else if (c < 0x800) {
          b[p++] = 0xc0 | (c >> 6);
          b[p++] = 0x80 | (c & 0x3f);
        } else if (c < 0xd800 || c > 0xdfff) {
          b[p++] = 0xe0 | (c >> 12);
          b[p++] = 0x80 | ((c >> 6) & 0x3f);
          b[p++] = 0x80 | (c & 0x3f);
        } else {
          // A surrogate pair (strSize refused lone ones).
          const cp = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
          b[p++] = 0xf0 | (cp >> 18);
          b[p++] = 0x80 | ((cp >> 12) & 0x3f);
          b[p++] = 0x80 | ((cp >> 6) & 0x3f);
          b[p++] = 0x80 | (cp & 0x3f);
        }
      }
    }
    this.view.setUint16(start, p - start - 2, true);
    this.pos = p;
  }

  qid(q: Qid, what: string): void {
    const { type, version, path } = q;
    if ((type & 0xff) !== type) outOfRange(`${what}.type`, type, 'an integer in [0, 255]');
    if (version >>> 0 !== version) outOfRange(`${what}.version`, version, 'an integer in [0, 2^32)');
    if (typeof path !== 'bigint' || BigInt.asUintN(64, path) !== path) {
      outOfRange(`${what}.path`, path, 'a bigint in [0, 2^64)');
    }
    const v = this.view;
    const p = this.pos;
    v.setUint8(p, type);
    v.setUint32(p + 1, version, true);
    v.setBigUint64(p + 5, path, true);
    this.pos = p + QID_SIZE;
  }

  /** Skip a size[2] to be filled in by patchSize once its contents are written. */
  reserveSize(): number {
    const at = this.pos;
    this.pos += 2;
    return at;
  }

  /** size[2] at `at`: the bytes written after it. */
  patchSize(at: number): void {
    this.view.setUint16(at, this.pos - at - 2, true);
  }

  /** count[4] data[count]. No copy when data already sits where it goes. */
  data(d: Uint8Array, what: string): void {
    this.u32(d.length, what);
    const b = this.buf;
    if (!(d.buffer === b.buffer && d.byteOffset === b.byteOffset + this.pos)) b.set(d, this.pos);
    this.pos += d.length;
  }
}
