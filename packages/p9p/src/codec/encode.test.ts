// Encoding refuses values the wire cannot carry, instead of wrapping them.
import { describe, expect, it } from 'vitest';
import { decode } from './decode.js';
import { encode, encodeInto, encodedLength } from './encode.js';
import { EncodeError } from './errors.js';
import type { EncodeErrorReason } from './errors.js';
import { toHex } from './hex.js';
import type { Fcall, Stat } from './types.js';

function expectEncodeError(f: () => unknown, reason: EncodeErrorReason, field?: string): EncodeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(EncodeError);
    const err = e as EncodeError;
    expect(err.reason, err.message).toBe(reason);
    expect(err.code).toBe('EINVAL');
    if (field !== undefined) expect(err.data.field).toBe(field);
    return err;
  }
  throw new Error('encoded without complaint');
}

const clunk = (fid: number): Fcall => ({ type: 'Tclunk', tag: 1, fid });

describe('encode: integers', () => {
  it('refuses 4-byte fields outside [0, 2^32) and non-integers', () => {
    for (const fid of [-1, 2 ** 32, 1.5, NaN, Infinity]) {
      expectEncodeError(() => encode(clunk(fid), '9P2000'), 'out-of-range', 'Tclunk.fid');
    }
    expect(toHex(encode(clunk(0xffffffff), '9P2000'))).toBe('0b00000078' + '0100' + 'ffffffff');
  });

  it('refuses 1- and 2-byte fields out of range', () => {
    expectEncodeError(() => encode({ type: 'Topen', tag: 1, fid: 1, mode: 256 }, '9P2000'), 'out-of-range', 'Topen.mode');
    expectEncodeError(() => encode({ type: 'Tflush', tag: 1, oldtag: 65536 }, '9P2000'), 'out-of-range', 'Tflush.oldtag');
    expectEncodeError(() => encode({ type: 'Tflush', tag: -1, oldtag: 1 }, '9P2000'), 'out-of-range', 'tag');
    expectEncodeError(() => encode({ type: 'Rlock', tag: 1, status: -1 }, '9P2000.L'), 'out-of-range', 'Rlock.status');
  });

  it('refuses 8-byte fields outside [0, 2^64) and numbers in place of bigints', () => {
    const read = (offset: bigint): Fcall => ({ type: 'Tread', tag: 1, fid: 1, offset, count: 1 });
    expectEncodeError(() => encode(read(-1n), '9P2000'), 'out-of-range', 'Tread.offset');
    expectEncodeError(() => encode(read(2n ** 64n), '9P2000'), 'out-of-range', 'Tread.offset');
    expectEncodeError(() => encode(read(5 as unknown as bigint), '9P2000'), 'out-of-range', 'Tread.offset');
    expect(toHex(encode(read(2n ** 64n - 1n), '9P2000')).slice(22, 38)).toBe('ffffffffffffffff');
  });

  it('range-checks every part of a qid', () => {
    const attach = (qid: { type: number; version: number; path: bigint }): Fcall => ({ type: 'Rattach', tag: 1, qid });
    expectEncodeError(() => encode(attach({ type: 256, version: 0, path: 0n }), '9P2000'), 'out-of-range', 'Rattach.qid.type');
    expectEncodeError(() => encode(attach({ type: 0, version: -1, path: 0n }), '9P2000'), 'out-of-range', 'Rattach.qid.version');
    expectEncodeError(() => encode(attach({ type: 0, version: 0, path: -1n }), '9P2000'), 'out-of-range', 'Rattach.qid.path');
  });
});

describe('encode: strings', () => {
  const rerror = (ename: string): Fcall => ({ type: 'Rerror', tag: 1, ename });

  it('takes 65535 UTF-8 bytes and refuses 65536', () => {
    expect(encodedLength(rerror('a'.repeat(65535)), '9P2000')).toBe(7 + 2 + 65535);
    expectEncodeError(() => encode(rerror('a'.repeat(65536)), '9P2000'), 'bad-string', 'Rerror.ename');
    // 32768 two-byte characters are 65536 bytes
    expectEncodeError(() => encode(rerror('\u00e9'.repeat(32768)), '9P2000'), 'bad-string');
  });

  it('refuses NUL and lone surrogates', () => {
    for (const s of ['a\u0000b', '\u0000', '\ud800', '\udc00', 'a\ud800b', '\udc00\ud800', 'x\ud83d']) {
      expectEncodeError(() => encode(rerror(s), '9P2000'), 'bad-string', 'Rerror.ename');
    }
  });

  it('encodes long strings (the TextEncoder path) byte for byte like short ones', () => {
    for (const s of ['\u00fc'.repeat(100), '\u{1f4c1}'.repeat(40), 'a'.repeat(64) + '\u20ac', 'x'.repeat(65)]) {
      const frame = encode(rerror(s), '9P2000');
      const utf8 = new TextEncoder().encode(s);
      expect(frame.length).toBe(7 + 2 + utf8.length);
      expect(toHex(frame.subarray(9))).toBe(toHex(utf8));
      expect(decode(frame, '9P2000')).toEqual(rerror(s));
    }
  });
});

describe('encode: counts and sizes', () => {
  it('refuses more than 16 wnames or wqids', () => {
    const wnames = Array.from({ length: 17 }, () => 'x');
    expectEncodeError(() => encode({ type: 'Twalk', tag: 1, fid: 1, newfid: 2, wnames }, '9P2000'), 'too-many-elements');
    const wqids = Array.from({ length: 17 }, () => ({ type: 0, version: 0, path: 0n }));
    expectEncodeError(() => encode({ type: 'Rwalk', tag: 1, wqids }, '9P2000'), 'too-many-elements');
  });

  it('refuses a stat over 65535 bytes', () => {
    const stat: Stat = {
      type: 0, dev: 0, qid: { type: 0, version: 0, path: 0n }, mode: 0, atime: 0, mtime: 0, length: 0n,
      name: 'n'.repeat(65000), uid: 'u'.repeat(1000), gid: '', muid: '',
    };
    expectEncodeError(() => encode({ type: 'Rstat', tag: 1, stat }, '9P2000'), 'too-large', 'stat');
  });

  it('refuses a message of another dialect, or of no dialect', () => {
    expectEncodeError(() => encode({ type: 'Tlopen', tag: 1, fid: 1, flags: 0 }, '9P2000'), 'wrong-dialect');
    expectEncodeError(() => encode({ type: 'Topen', tag: 1, fid: 1, mode: 0 }, '9P2000.L'), 'wrong-dialect');
    expectEncodeError(() => encode({ type: 'Terror', tag: 1 } as unknown as Fcall, '9P2000'), 'wrong-dialect');
  });
});

describe('encode', () => {
  it('returns a fresh array each time, also for small frames', () => {
    const a = encode(clunk(1), '9P2000');
    const b = encode(clunk(2), '9P2000');
    expect(toHex(a)).toBe('0b00000078' + '0100' + '01000000');
    expect(toHex(b)).toBe('0b00000078' + '0100' + '02000000');
    expect(a.buffer).not.toBe(b.buffer);
  });

  it('is not disturbed by an earlier encode that failed half-way', () => {
    const bad: Fcall = { type: 'Tattach', tag: 1, fid: 1, afid: -1, uname: 'u', aname: 'a' };
    expect(() => encode(bad, '9P2000')).toThrow(EncodeError);
    expect(toHex(encode(clunk(3), '9P2000'))).toBe('0b00000078' + '0100' + '03000000');
  });

  it('encodes frames of 64 bytes and more the same way', () => {
    for (const n of [55, 56, 57, 100]) {
      // 7 + 2 + n bytes of ename
      const m: Fcall = { type: 'Rerror', tag: 1, ename: 'e'.repeat(n) };
      const frame = encode(m, '9P2000');
      expect(frame.length).toBe(9 + n);
      expect(toHex(frame.subarray(0, 9))).toBe((9 + n).toString(16).padStart(2, '0') + '0000006b0100' + n.toString(16).padStart(2, '0') + '00');
      expect(decode(frame, '9P2000')).toEqual(m);
    }
  });
});

describe('encodeInto', () => {
  const msg: Fcall = { type: 'Twrite', tag: 7, fid: 1, offset: 0n, data: new Uint8Array([1, 2, 3]) };

  it('returns the frame length and leaves the rest of the buffer alone', () => {
    const buf = new Uint8Array(40).fill(0x55);
    const n = encodeInto(msg, '9P2000.L', buf, 10);
    expect(n).toBe(26);
    expect(toHex(buf.subarray(10, 10 + n))).toBe(toHex(encode(msg, '9P2000.L')));
    expect(buf.subarray(0, 10).every((b) => b === 0x55)).toBe(true);
    expect(buf.subarray(36).every((b) => b === 0x55)).toBe(true);
  });

  it('packs frames back to back', () => {
    const buf = new Uint8Array(64);
    let p = 0;
    p += encodeInto({ type: 'Tclunk', tag: 1, fid: 3 }, '9P2000.L', buf, p);
    p += encodeInto({ type: 'Tclunk', tag: 2, fid: 4 }, '9P2000.L', buf, p);
    expect(toHex(buf.subarray(0, p))).toBe('0b000000780100' + '03000000' + '0b000000780200' + '04000000');
  });

  it('refuses a buffer without room, writing nothing', () => {
    const buf = new Uint8Array(30).fill(0x55);
    expectEncodeError(() => encodeInto(msg, '9P2000.L', buf, 5), 'buffer-too-small');
    expectEncodeError(() => encodeInto(msg, '9P2000.L', buf, -1), 'buffer-too-small');
    expectEncodeError(() => encodeInto(msg, '9P2000.L', buf, 0.5), 'buffer-too-small');
    expect(buf.every((b) => b === 0x55)).toBe(true);
    expect(encodeInto(msg, '9P2000.L', buf, 4)).toBe(26);
  });

  it('writes into a view at an offset of a larger ArrayBuffer', () => {
    const backing = new ArrayBuffer(64);
    const view = new Uint8Array(backing, 16, 32);
    const n = encodeInto({ type: 'Rwrite', tag: 3, count: 0x01020304 }, '9P2000', view, 2);
    expect(toHex(new Uint8Array(backing, 18, n))).toBe('0b00000077' + '0300' + '04030201');
  });
});
