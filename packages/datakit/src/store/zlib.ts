/**
 * zlib streams (RFC 1950) made of stored deflate blocks (RFC 1951 §3.2.4: BTYPE 00, the
 * bytes as they are), for the small objects of a commit.
 *
 * Git inflates every object, loose or packed, and accepts any valid zlib stream. For the
 * objects a datakit commit writes (a small file, a tree of up to a few hundred entries, a
 * commit), compressing saves little (a tree is mostly SHA-1s, which do not compress) and
 * costs most: Node's `deflateSync` sets up a fresh deflate state per call, 10-14 us for a
 * 41-200 byte object and 40 us for a 3.3 KB tree here, against 0.4-4 us to store them.
 * The price is size: a 209-byte commit object takes 220 bytes instead of 86, a 100-entry
 * tree 3,111 instead of 2,404 (git's repack reuses the entries as they are). Anything from
 * `STORED_BELOW` up is deflated as before.
 *
 *   stream:  CMF 0x78 (deflate, 32 KiB window)  FLG 0x01 (check bits; level "fastest")
 *            block*  Adler-32 of the content (big-endian)
 *   block:   BFINAL|BTYPE=00 in one byte (the rest of it padding)  LEN[2]  NLEN[2] (both
 *            little-endian, NLEN = ~LEN)  LEN bytes
 */

/** Objects smaller than this are stored rather than compressed. */
export const STORED_BELOW = 4096;

const MAX_BLOCK = 65535;
const ADLER_MOD = 65521;
/** The most bytes summed before `s` could pass 2^53 without a reduction (zlib's NMAX). */
const ADLER_NMAX = 5552;

/** Adler-32 (RFC 1950 §8.2) of `b`. */
export function adler32(b: Uint8Array): number {
  let a = 1;
  let s = 0;
  let i = 0;
  while (i < b.length) {
    const end = Math.min(b.length, i + ADLER_NMAX);
    for (; i < end; i++) {
      a += b[i] as number;
      s += a;
    }
    a %= ADLER_MOD;
    s %= ADLER_MOD;
  }
  return ((s << 16) | a) >>> 0;
}

/** The length of `zlibStored` of `n` bytes. */
export function zlibStoredLength(n: number): number {
  return 2 + Math.max(1, Math.ceil(n / MAX_BLOCK)) * 5 + n + 4;
}

/** Writes the stored zlib stream of `src` into `dst` at `at`; returns the offset after it. */
export function writeZlibStored(src: Uint8Array, dst: Uint8Array, at: number): number {
  if (at < 0 || at + zlibStoredLength(src.length) > dst.length) throw new RangeError('writeZlibStored: destination too small');
  let o = at;
  dst[o++] = 0x78;
  dst[o++] = 0x01;
  let i = 0;
  do {
    const len = Math.min(MAX_BLOCK, src.length - i);
    dst[o++] = i + len === src.length ? 1 : 0; // BFINAL on the last block, BTYPE 00
    dst[o++] = len & 0xff;
    dst[o++] = len >>> 8;
    dst[o++] = ~len & 0xff;
    dst[o++] = (~len >>> 8) & 0xff;
    dst.set(src.subarray(i, i + len), o);
    o += len;
    i += len;
  } while (i < src.length);
  const sum = adler32(src);
  dst[o++] = sum >>> 24;
  dst[o++] = (sum >>> 16) & 0xff;
  dst[o++] = (sum >>> 8) & 0xff;
  dst[o++] = sum & 0xff;
  return o;
}

/** `src` as a zlib stream of stored blocks. */
export function zlibStored(src: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(zlibStoredLength(src.length));
  writeZlibStored(src, out, 0);
  return out;
}
