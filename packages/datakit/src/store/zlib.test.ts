import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { adler32, STORED_BELOW, writeZlibStored, zlibStored, zlibStoredLength } from './zlib.js';

const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + (i >>> 8)) & 0xff);

describe('zlib stored streams', () => {
  it('computes Adler-32 (RFC 1950), across zlib NMAX boundaries too', () => {
    expect(adler32(new TextEncoder().encode('Wikipedia'))).toBe(0x11e60398);
    expect(adler32(new Uint8Array(0))).toBe(1);
    // 0xff bytes are the worst case for overflow between reductions.
    const ff = new Uint8Array(100_000).fill(0xff);
    let a = 1;
    let s = 0;
    for (const x of ff) {
      a = (a + x) % 65521;
      s = (s + a) % 65521;
    }
    expect(adler32(ff)).toBe(((s << 16) | a) >>> 0);
  });

  it.each([0, 1, 41, STORED_BELOW - 1, 65535, 65536, 65537, 200_000])('round-trips %i bytes through zlib inflate (header, blocks, checksum)', (n) => {
    const src = bytes(n);
    const z = zlibStored(src);
    expect(z.length).toBe(zlibStoredLength(n));
    expect(z[0]).toBe(0x78);
    expect(((z[0] as number) * 256 + (z[1] as number)) % 31).toBe(0); // FCHECK
    expect(new Uint8Array(inflateSync(z))).toEqual(src);
  });

  it('writes at an offset and returns the end; refuses a destination too small', () => {
    const src = bytes(300);
    const dst = new Uint8Array(7 + zlibStoredLength(300) + 3).fill(0xaa);
    const end = writeZlibStored(src, dst, 7);
    expect(end).toBe(7 + zlibStoredLength(300));
    expect(dst.subarray(0, 7).every((x) => x === 0xaa)).toBe(true);
    expect(dst.subarray(end).every((x) => x === 0xaa)).toBe(true);
    expect(new Uint8Array(inflateSync(dst.subarray(7, end)))).toEqual(src);
    expect(() => writeZlibStored(src, new Uint8Array(zlibStoredLength(300) - 1), 0)).toThrow(RangeError);
  });

  it('a corrupted checksum is caught by inflate', () => {
    const z = zlibStored(bytes(100));
    z[z.length - 1] = (z[z.length - 1] as number) ^ 1;
    expect(() => inflateSync(z)).toThrow();
  });
});
