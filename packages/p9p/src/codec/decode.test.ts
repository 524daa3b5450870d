// Strict decoding: every way a frame can be malformed is refused with a
// ProtocolError that carries the tag when the header was readable.
import { describe, expect, it } from 'vitest';
import { decode } from './decode.js';
import { encode } from './encode.js';
import { P9Error, ProtocolError } from './errors.js';
import type { ProtocolErrorReason } from './errors.js';
import { fromHex as hex, toHex } from './hex.js';
import type { Dialect, Fcall } from './types.js';

function refusal(f: () => unknown): ProtocolError {
  try {
    f();
  } catch (e) {
    if (e instanceof ProtocolError) return e;
    throw new Error(`threw ${String(e)}, not a ProtocolError`);
  }
  throw new Error('decoded without complaint');
}

function expectRefused(frame: Uint8Array, dialect: Dialect, reason: ProtocolErrorReason, opts?: { maxSize?: number }) {
  const e = refusal(() => decode(frame, dialect, opts));
  expect(e.reason, e.message).toBe(reason);
  expect(e.code).toBe('EPROTO');
  expect(e).toBeInstanceOf(P9Error);
  return e;
}

/** A copy of `frame` with size[4] set to `size`. */
function withSize(frame: Uint8Array, size: number): Uint8Array {
  const f = frame.slice();
  new DataView(f.buffer).setUint32(0, size, true);
  return f;
}

/** A copy of `frame` with `extra` appended and size[4] fixed up. */
function appended(frame: Uint8Array, ...extra: number[]): Uint8Array {
  const f = new Uint8Array(frame.length + extra.length);
  f.set(frame);
  f.set(extra, frame.length);
  return withSize(f, f.length);
}

// Hand-written frames (see the golden tests for the field-by-field layout).
const TWRITE = hex('1d000000', '76', '0900', '02000000', '0000000000000000', '06000000', '68656c6c6f0a');
const TWALK = hex('1e000000', '6e', '0500', '01000000', '02000000', '0200', '0300757372', '0600676c656e6461');
const TATTACH_L = hex('21000000', '68', '0100', '00000000', 'ffffffff', '0400726f6f74', '06002f746d702f39', 'ffffffff');
const TLOCK = hex(
  '2a000000', '34', '0100', '02000000', '01', '01000000',
  '6400000000000000', 'c800000000000000', 'd2040000', '0400686f7374',
);
const RSTAT_U = hex(
  '59000000', '7d', '0c00', '5000', '4e00', '0000', '00000000',
  '00', '00000000', '3412000000000000', 'b6018000', '00000000', '00000000', '0000000000000000',
  '04006e756c6c', '0400726f6f74', '0400726f6f74', '0000', '05006320312033',
  '00000000', '00000000', 'ffffffff',
);
const RGETATTR = encode(
  {
    type: 'Rgetattr', tag: 1, valid: 0x7ffn, qid: { type: 0x80, version: 0, path: 1n }, mode: 0o40755,
    uid: 0, gid: 0, nlink: 1n, rdev: 0n, size: 0n, blksize: 4096n, blocks: 0n, atimeSec: 0n, atimeNsec: 0n,
    mtimeSec: 0n, mtimeNsec: 0n, ctimeSec: 0n, ctimeNsec: 0n, btimeSec: 0n, btimeNsec: 0n, gen: 0n, dataVersion: 0n,
  },
  '9P2000.L',
);

const SAMPLES: [string, Uint8Array, Dialect][] = [
  ['Twrite', TWRITE, '9P2000'],
  ['Twalk', TWALK, '9P2000.u'],
  ['Tattach (.L)', TATTACH_L, '9P2000.L'],
  ['Tlock', TLOCK, '9P2000.L'],
  ['Rstat (.u)', RSTAT_U, '9P2000.u'],
  ['Rgetattr', RGETATTR, '9P2000.L'],
];

describe('decode: truncation', () => {
  for (const [name, frame, dialect] of SAMPLES) {
    it(`${name}: the sample itself decodes`, () => {
      expect(() => decode(frame, dialect)).not.toThrow();
    });

    it(`${name}: every prefix is refused as it stands`, () => {
      for (let k = 0; k < frame.length; k++) {
        const e = expectRefused(frame.subarray(0, k), dialect, k < 7 ? 'truncated' : 'size-mismatch');
        if (k >= 7) expect(e.tag).toBe(frame[5]! | (frame[6]! << 8));
        else expect(e.tag).toBeUndefined();
      }
    });

    it(`${name}: every prefix is refused with its size[4] made to agree`, () => {
      for (let k = 4; k < frame.length; k++) {
        const e = expectRefused(withSize(frame.subarray(0, k), k), dialect, 'truncated');
        if (k >= 7) expect(e.tag).toBe(frame[5]! | (frame[6]! << 8));
      }
    });
  }
});

describe('decode: framing', () => {
  it('refuses a size[4] that is not the frame length', () => {
    for (const size of [0, 7, TWRITE.length - 1, TWRITE.length + 1, 0xffffffff]) {
      const e = expectRefused(withSize(TWRITE, size), '9P2000', 'size-mismatch');
      expect(e.tag).toBe(9);
      expect(e.data.type).toBe(118);
    }
  });

  it('refuses a frame larger than maxSize, and takes one of exactly maxSize', () => {
    const e = expectRefused(TWRITE, '9P2000', 'too-large', { maxSize: TWRITE.length - 1 });
    expect(e.tag).toBe(9);
    expect(decode(TWRITE, '9P2000', { maxSize: TWRITE.length }).type).toBe('Twrite');
  });

  it('checks maxSize before anything else', () => {
    expectRefused(new Uint8Array(100), '9P2000.L', 'too-large', { maxSize: 99 });
  });

  it('refuses type numbers that name no message, in every dialect', () => {
    for (const d of ['9P2000', '9P2000.u', '9P2000.L'] as const) {
      // 6 = Tlerror and 106 = Terror are reserved: "not used".
      for (const type of [0, 1, 6, 10, 11, 28, 29, 99, 106, 128, 200, 255]) {
        const e = expectRefused(hex('07000000', type.toString(16).padStart(2, '0'), '2a00'), d, 'unknown-type');
        expect(e.tag).toBe(42);
        expect(e.data.type).toBe(type);
      }
    }
  });

  it('refuses trailing bytes after the last field', () => {
    const cases: [Uint8Array, Dialect][] = [
      [hex('07000000', '79', '0a00'), '9P2000'], // Rclunk
      [TWRITE, '9P2000'],
      [TWALK, '9P2000'],
      [TATTACH_L, '9P2000.L'],
      [RGETATTR, '9P2000.L'],
    ];
    for (const [frame, d] of cases) {
      expect(() => decode(frame, d)).not.toThrow();
      expectRefused(appended(frame, 0), d, 'trailing-bytes');
      expectRefused(appended(frame, 1, 2, 3, 4), d, 'trailing-bytes');
    }
  });

  it('reads the .u fields only in .u and .L: a 9P2000.u Tattach has 4 bytes too many for 9P2000', () => {
    expectRefused(TATTACH_L, '9P2000', 'trailing-bytes');
    // and a 9P2000 Tattach is 4 bytes short for .u
    const plan9 = hex('19000000', '68', '0200', '00000000', 'ffffffff', '0600676c656e6461', '0000');
    expect(decode(plan9, '9P2000').type).toBe('Tattach');
    expectRefused(plan9, '9P2000.u', 'truncated');
  });

  it('decodes a frame that sits at an offset inside a larger buffer', () => {
    const big = new Uint8Array(TWRITE.length + 13).fill(0xaa);
    big.set(TWRITE, 5);
    const m = decode(big.subarray(5, 5 + TWRITE.length), '9P2000');
    expect(m).toEqual({ type: 'Twrite', tag: 9, fid: 2, offset: 0n, data: new TextEncoder().encode('hello\n') });
    // A Node Buffer is a Uint8Array: its data comes back as a Buffer view.
    const fromBuffer = decode(Buffer.from(TWRITE), '9P2000');
    expect(fromBuffer).toMatchObject({ type: 'Twrite', tag: 9, fid: 2, offset: 0n });
    if (fromBuffer.type !== 'Twrite') throw new Error(fromBuffer.type);
    expect(toHex(fromBuffer.data)).toBe('68656c6c6f0a');
  });
});

describe('decode: counts', () => {
  const names = (n: number) => Array.from({ length: n }, (_, i) => `n${i}`);

  it(`accepts 16 names in a Twalk and refuses 17`, () => {
    const ok = encode({ type: 'Twalk', tag: 1, fid: 1, newfid: 2, wnames: names(16) }, '9P2000');
    expect(decode(ok, '9P2000')).toMatchObject({ wnames: names(16) });
    // Hand-made: nwname[2]=17 followed by 17 well-formed names.
    const body = [hex('01000000', '02000000', '1100')];
    for (const n of names(17)) body.push(hex(n.length.toString(16).padStart(2, '0') + '00', toHex(new TextEncoder().encode(n))));
    const bodyBytes = hex(...body.map(toHex));
    const frame = withSize(hex('00000000', '6e', '0100', toHex(bodyBytes)), 7 + bodyBytes.length);
    const e = expectRefused(frame, '9P2000', 'too-many-elements');
    expect(e.tag).toBe(1);
  });

  it('refuses 17 qids in an Rwalk', () => {
    const frame = withSize(hex('00000000', '6f', '0100', '1100', '00'.repeat(13 * 17)), 7 + 2 + 13 * 17);
    expectRefused(frame, '9P2000.L', 'too-many-elements');
  });

  it('refuses a huge nwname before reading any name', () => {
    expectRefused(hex('11000000', '6e', '0100', '01000000', '02000000', 'ffff'), '9P2000', 'too-many-elements');
  });

  it('refuses an Rread count beyond the frame, and one short of it', () => {
    // count[4]=7 but 6 bytes follow
    expectRefused(hex('11000000', '75', '0800', '07000000', '68656c6c6f0a'), '9P2000', 'truncated');
    // count[4]=5 and 6 bytes follow
    expectRefused(hex('11000000', '75', '0800', '05000000', '68656c6c6f0a'), '9P2000', 'trailing-bytes');
    // count[4]=0xffffffff: refused without allocating
    expectRefused(hex('0b000000', '75', '0800', 'ffffffff'), '9P2000', 'truncated');
  });

  it('refuses a string whose length runs past the frame', () => {
    // Tversion version[s] claims 256 bytes, 6 follow
    expectRefused(hex('13000000', '64', 'ffff', '00200000', '0001', '395032303030'), '9P2000', 'truncated');
    // claims 0xffff
    expectRefused(hex('13000000', '64', 'ffff', '00200000', 'ffff', '395032303030'), '9P2000', 'truncated');
  });
});

describe('decode: strings', () => {
  /** A one-name Twalk whose name is `bytes`. */
  const walk = (bytes: string) => {
    const b = hex(bytes);
    const f = hex('00000000', '6e', '0300', '01000000', '02000000', '0100', toHex(new Uint8Array([b.length, 0])), bytes);
    return withSize(f, f.length);
  };

  it('refuses bytes that are not UTF-8', () => {
    const bad = [
      'ff', //          never valid
      '80', //          continuation byte alone
      'c0af', //        overlong "/"
      'e080af', //      overlong "/"
      'eda080', //      UTF-16 surrogate U+D800
      'e282', //        truncated sequence
      'f4908080', //    beyond U+10FFFF
      '61ff62', //      bad byte in the middle
    ];
    for (const b of bad) {
      const e = expectRefused(walk(b), '9P2000', 'bad-string');
      expect(e.tag).toBe(3);
    }
  });

  it('refuses NUL inside a string (intro(5): "NUL is illegal in all 9P text strings")', () => {
    expectRefused(walk('610062'), '9P2000', 'bad-string');
    expectRefused(walk('00'), '9P2000', 'bad-string');
  });

  it('keeps a leading byte-order mark as part of the name', () => {
    const m = decode(walk('efbbbf78'), '9P2000');
    expect(m).toMatchObject({ wnames: ['\ufeffx'] });
    expect(toHex(encode(m, '9P2000'))).toBe(toHex(walk('efbbbf78')));
  });

  it('takes every well-formed UTF-8 width', () => {
    // a, é (2 bytes), € (3 bytes), U+10FFFF (4 bytes)
    expect(decode(walk('61c3a9e282acf48fbfbf'), '9P2000')).toMatchObject({ wnames: ['a\u00e9\u20ac\u{10ffff}'] });
  });
});

describe('decode: stat', () => {
  it("refuses an Rstat whose n[2] is larger than the stat's size[2] + 2", () => {
    // Same stat as RSTAT_U plus one byte inside n: n=81, stat.size=78.
    const f = appended(RSTAT_U, 0);
    f[7] = 81;
    expectRefused(f, '9P2000.u', 'bad-stat');
  });

  it("refuses a stat whose size[2] is larger than its fields", () => {
    // n and stat.size both one larger, one spare byte at the end of the stat.
    const f = appended(RSTAT_U, 0);
    f[7] = 81;
    f[9] = 79;
    expectRefused(f, '9P2000.u', 'bad-stat');
  });

  it("refuses a stat whose size[2] is smaller than its fields", () => {
    const f = RSTAT_U.slice();
    f[9] = 77; // stat.size one short: the last field runs past it
    expectRefused(f, '9P2000.u', 'truncated');
  });

  it('refuses the .u stat in 9P2000 (its extra fields are left over)', () => {
    expectRefused(RSTAT_U, '9P2000', 'bad-stat');
  });
});

describe('decode: errors are answerable', () => {
  it('gives a server what it needs to send Rlerror', () => {
    const e = expectRefused(withSize(TLOCK.subarray(0, 20), 20), '9P2000.L', 'truncated');
    expect(e.tag).toBe(1);
    expect(e.data.type).toBe(52);
    expect(e.data.offset).toBeGreaterThanOrEqual(7);
    expect(e.message).toMatch(/Tlock/);
    expect(e.name).toBe('ProtocolError');
  });

  it('refuses an unknown dialect name as a caller error', () => {
    expect(() => decode(TWRITE, '9P2001' as Dialect)).toThrow(/unknown dialect/);
  });

  it('is not fooled by a message object type from another dialect', () => {
    const m: Fcall = { type: 'Rlerror', tag: 1, ecode: 5 };
    expect(() => encode(m, '9P2000.u')).toThrow(/not a 9P2000.u message/);
  });
});
