/**
 * The Internet checksum (RFC 1071) and its helpers.
 *
 *   "Adjacent octets to be checksummed are paired to form 16-bit integers,
 *    and the 1's complement sum of these 16-bit integers is formed. [...]
 *    To generate a checksum, the checksum field itself is cleared, the 16-bit
 *    1's complement sum is computed over the octets concerned, and the 1's
 *    complement of this sum is placed in the checksum field.  To check a
 *    checksum, the 1's complement sum is computed over the same set of
 *    octets, including the checksum field.  If the result is all 1 bits
 *    (-0 in 1's complement arithmetic), the check succeeds."  (RFC 1071 §1)
 *
 * The sum is deferred-carry (RFC 1071 §2(C)): 16-bit big-endian words are
 * added into an ordinary JS number (exact up to 2^53, i.e. far beyond any
 * IP datagram) and the carries are folded once at the end.  A running sum is
 * just a number, so a checksum over several ranges (pseudo-header + segment)
 * is `onesSum(b, s, e, onesSum(a, ...))`.
 *
 * Ranges are summed as if they started on an even byte: every range except
 * the last in an incremental sum must have an even length (all pseudo-headers
 * and headers do).  A final odd byte is padded with a zero octet.
 */

import type { IpAddress, Ipv6Address } from './address.js';
import { WireError } from './error.js';

/**
 * Add the 16-bit big-endian words of `buf[start, end)` to the running,
 * unfolded sum `initial`.  Out-of-range bounds are clamped; never throws.
 */
export function onesSum(buf: Uint8Array, start = 0, end = buf.length, initial = 0): number {
  if (end > buf.length) end = buf.length;
  if (start < 0) start = 0;
  let sum = initial;
  let i = start;
  // Eight bytes per iteration; each step adds at most 4 * 0xffff.
  const end8 = end - ((end - start) & 7);
  for (; i < end8; i += 8) {
    sum +=
      ((buf[i]! << 8) | buf[i + 1]!) +
      ((buf[i + 2]! << 8) | buf[i + 3]!) +
      ((buf[i + 4]! << 8) | buf[i + 5]!) +
      ((buf[i + 6]! << 8) | buf[i + 7]!);
  }
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

/** Add a 16-bit word to a running sum. */
export function onesAdd16(sum: number, word: number): number {
  return sum + (word & 0xffff);
}

/** Add a 32-bit value, as two 16-bit words, to a running sum. */
export function onesAdd32(sum: number, value: number): number {
  return sum + ((value >>> 16) & 0xffff) + (value & 0xffff);
}

/** Fold the carries of a running sum into a 16-bit one's complement sum. */
export function onesFold(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum to write into a header: the complement of the folded sum. */
export function checksumFinish(sum: number): number {
  return ~onesFold(sum) & 0xffff;
}

/** RFC 1071 checksum of `buf[start, end)`. */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length): number {
  return checksumFinish(onesSum(buf, start, end));
}

/** True when a sum taken over data *including* its checksum field verifies. */
export function checksumVerifies(sum: number): boolean {
  return onesFold(sum) === 0xffff;
}

/**
 * Sum of the IPv4 pseudo-header (RFC 793 §3.1 / RFC 768):
 * source address, destination address, zero, protocol, upper-layer length.
 */
export function ipv4PseudoHeaderSum(src: number, dst: number, protocol: number, length: number): number {
  return (
    ((src >>> 16) & 0xffff) +
    (src & 0xffff) +
    ((dst >>> 16) & 0xffff) +
    (dst & 0xffff) +
    (protocol & 0xff) +
    (length & 0xffff)
  );
}

/**
 * Sum of the IPv6 pseudo-header (RFC 8200 §8.1): source address, destination
 * address, 32-bit upper-layer packet length, three zero octets, next header.
 */
export function ipv6PseudoHeaderSum(src: Ipv6Address, dst: Ipv6Address, nextHeader: number, length: number): number {
  let sum = onesSum(src, 0, 16);
  sum = onesSum(dst, 0, 16, sum);
  return sum + ((length >>> 16) & 0xffff) + (length & 0xffff) + (nextHeader & 0xff);
}

/** Pseudo-header sum for either family: a number is IPv4, 16 bytes is IPv6. */
export function pseudoHeaderSum(src: IpAddress, dst: IpAddress, protocol: number, length: number): number {
  if (typeof src === 'number' && typeof dst === 'number') return ipv4PseudoHeaderSum(src, dst, protocol, length);
  if (typeof src !== 'number' && typeof dst !== 'number') return ipv6PseudoHeaderSum(src, dst, protocol, length);
  throw new WireError('INVALID_REPR', 'checksum', 'pseudo-header with mixed IPv4/IPv6 addresses');
}

/**
 * RFC 1624 incremental update, eqn. 3:  HC' = ~(~HC + ~m + m')
 * where HC is the old checksum field, m the old 16-bit word, m' the new one.
 * Eqn. 3 (rather than RFC 1141's eqn. 2) never produces the -0 (0xffff)
 * result from a valid non-zero checksum.
 *
 * Note for UDP: a checksum field of 0 means "no checksum" over IPv4 and must
 * be left alone, and a result of 0 must be sent as 0xffff.  Callers handle
 * that; this function is pure RFC 1624.
 */
export function checksumUpdate16(checksum: number, oldWord: number, newWord: number): number {
  const sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~onesFold(sum) & 0xffff;
}

/** RFC 1624 update for a 32-bit field (e.g. an IPv4 address rewritten by NAT). */
export function checksumUpdate32(checksum: number, oldValue: number, newValue: number): number {
  const sum =
    (~checksum & 0xffff) +
    (~(oldValue >>> 16) & 0xffff) +
    (~oldValue & 0xffff) +
    ((newValue >>> 16) & 0xffff) +
    (newValue & 0xffff);
  return ~onesFold(sum) & 0xffff;
}

/**
 * RFC 1624 update for an even-length byte field (e.g. an IPv6 address).
 * `oldBytes` and `newBytes` must have the same even length.
 */
export function checksumUpdateBytes(checksum: number, oldBytes: Uint8Array, newBytes: Uint8Array): number {
  let sum = ~checksum & 0xffff;
  const n = Math.min(oldBytes.length, newBytes.length) & ~1;
  for (let i = 0; i < n; i += 2) {
    sum += ~((oldBytes[i]! << 8) | oldBytes[i + 1]!) & 0xffff;
    sum += (newBytes[i]! << 8) | newBytes[i + 1]!;
  }
  return ~onesFold(sum) & 0xffff;
}
