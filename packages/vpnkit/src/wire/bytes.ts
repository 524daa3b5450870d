/**
 * Big-endian byte access helpers used by every view.
 *
 * These are manual shifts rather than a DataView: no allocation, no
 * exceptions, and V8 inlines them.  They do NOT bounds-check; the views call
 * them only after `checked()` validated the lengths (an `unchecked()` view on
 * a short buffer reads zeros and drops writes, as typed arrays do).
 */

import { WireError } from './error.js';

export function getU8(b: Uint8Array, off: number): number {
  return b[off] ?? 0;
}

export function getU16(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
}

export function getU32(b: Uint8Array, off: number): number {
  return (
    (((b[off] ?? 0) << 24) | ((b[off + 1] ?? 0) << 16) | ((b[off + 2] ?? 0) << 8) | (b[off + 3] ?? 0)) >>> 0
  );
}

export function setU8(b: Uint8Array, off: number, v: number): void {
  b[off] = v & 0xff;
}

export function setU16(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 8) & 0xff;
  b[off + 1] = v & 0xff;
}

export function setU32(b: Uint8Array, off: number, v: number): void {
  b[off] = (v >>> 24) & 0xff;
  b[off + 1] = (v >>> 16) & 0xff;
  b[off + 2] = (v >>> 8) & 0xff;
  b[off + 3] = v & 0xff;
}

/** True when `a` and `b` have the same length and bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const HEX = '0123456789abcdef';

/** Lower-case hex without separators, e.g. `4500`. */
export function bytesToHex(b: Uint8Array, separator = ''): string {
  let s = '';
  for (let i = 0; i < b.length; i++) {
    const v = b[i] ?? 0;
    if (i > 0) s += separator;
    s += (HEX[v >> 4] ?? '') + (HEX[v & 15] ?? '');
  }
  return s;
}

/**
 * Decode hex text into bytes.  Whitespace is ignored and each argument is
 * concatenated, so golden packets can be written one field per line:
 *
 *     hexToBytes('45 00 00 73', // version, IHL, DSCP, total length
 *                '00 00 40 00') // ident, flags, fragment offset
 *
 * Throws `WireError('MALFORMED')` on an odd digit count or a non-hex digit.
 */
export function hexToBytes(...parts: string[]): Uint8Array {
  const text = parts.join('').replace(/\s+/g, '');
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new WireError('MALFORMED', 'hex', 'not an even number of hex digits');
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}
