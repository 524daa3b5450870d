/** Options and small helpers shared by every protocol module. */

import { WireError } from './error.js';

/** Options for `XxxRepr.parse`. */
export interface ParseOptions {
  /**
   * Verify the checksum and throw `WireError('BAD_CHECKSUM')` when it fails.
   * Default true.  Set false when the link did checksum offload.
   */
  readonly verifyChecksum?: boolean;
}

/** Options for `XxxRepr.emit`. */
export interface EmitOptions {
  /**
   * Compute and write the checksum.  Default true.  When false the field is
   * left zero (for offload; for UDP over IPv4 zero means "no checksum").
   */
  readonly fillChecksum?: boolean;
}

/** Throw `BUFFER_TOO_SMALL` unless `buf` can hold `len` bytes. */
export function ensureCapacity(buf: Uint8Array, len: number, protocol: string): void {
  if (buf.length < len) {
    throw new WireError('BUFFER_TOO_SMALL', protocol, `need ${len} bytes, buffer has ${buf.length}`);
  }
}

/** Throw `INVALID_REPR` unless `v` is an integer in [0, max]. */
export function ensureUint(v: number, max: number, protocol: string, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new WireError('INVALID_REPR', protocol, `${field} ${v} is not an integer in [0, ${max}]`);
  }
}

/** Throws unless `a` is a 16-byte address (used by setters and emitters). */
export function assertIpv6Len(a: Uint8Array, protocol: string): void {
  if (a.length !== 16) throw new WireError('BAD_ADDRESS', protocol, `IPv6 address must be 16 bytes, got ${a.length}`);
}

/** Throws unless `a` is a 6-byte MAC address. */
export function assertMacLen(a: Uint8Array, protocol: string): void {
  if (a.length !== 6) throw new WireError('BAD_ADDRESS', protocol, `MAC address must be 6 bytes, got ${a.length}`);
}
