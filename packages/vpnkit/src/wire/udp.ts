/**
 * UDP (RFC 768), checksum over the IPv4 (RFC 768) or IPv6 (RFC 8200 §8.1)
 * pseudo-header.
 *
 *                  0      7 8     15 16    23 24    31
 *                 +--------+--------+--------+--------+
 *                 |     Source      |   Destination   |
 *                 |      Port       |      Port       |
 *                 +--------+--------+--------+--------+
 *                 |                 |                 |
 *                 |     Length      |    Checksum     |
 *                 +--------+--------+--------+--------+
 *                 |
 *                 |          data octets ...
 *                 +---------------- ...
 *
 *   "Length is the length in octets of this user datagram including this
 *    header and the data.   (This  means  the minimum value of the length is
 *    eight.)"
 *   "If the computed  checksum  is zero,  it is transmitted  as all ones [...]
 *    An all zero  transmitted checksum  value means that the transmitter
 *    generated  no checksum."  (RFC 768)
 *   "Unlike IPv4, the default behavior when UDP packets are originated by an
 *    IPv6 node is that the UDP checksum is not optional. [...] IPv6 receivers
 *    must discard UDP packets containing a zero checksum"  (RFC 8200 §8.1)
 *
 * `checked` validates 8 <= Length <= buffer; bytes past Length (IP padding)
 * are excluded from `payload`.
 */

import type { IpAddress } from './address.js';
import { getU16, setU16 } from './bytes.js';
import { checksumFinish, checksumVerifies, onesSum, pseudoHeaderSum } from './checksum.js';
import { ensureCapacity, ensureUint, type EmitOptions, type ParseOptions } from './common.js';
import { WireError } from './error.js';
import { IpProtocol } from './ipv4.js';

const F = {
  SRC_PORT: 0,
  DST_PORT: 2,
  LENGTH: 4,
  CHECKSUM: 6,
  PAYLOAD: 8,
} as const;

const P = 'udp';

export const UDP_HEADER_LEN = 8;

export class UdpPacket {
  private constructor(readonly buffer: Uint8Array) {}

  static checked(buffer: Uint8Array): UdpPacket {
    if (buffer.length < UDP_HEADER_LEN) throw new WireError('TRUNCATED', P, `header of ${buffer.length} bytes`);
    const p = new UdpPacket(buffer);
    const len = p.length;
    if (len < UDP_HEADER_LEN) throw new WireError('BAD_LENGTH', P, `length field ${len}`);
    if (len > buffer.length) throw new WireError('TRUNCATED', P, `length field ${len}, have ${buffer.length}`);
    return p;
  }

  static unchecked(buffer: Uint8Array): UdpPacket {
    return new UdpPacket(buffer);
  }

  get srcPort(): number {
    return getU16(this.buffer, F.SRC_PORT);
  }
  set srcPort(v: number) {
    setU16(this.buffer, F.SRC_PORT, v);
  }
  get dstPort(): number {
    return getU16(this.buffer, F.DST_PORT);
  }
  set dstPort(v: number) {
    setU16(this.buffer, F.DST_PORT, v);
  }
  /** The Length field: header + data. */
  get length(): number {
    return getU16(this.buffer, F.LENGTH);
  }
  set length(v: number) {
    setU16(this.buffer, F.LENGTH, v);
  }
  get checksum(): number {
    return getU16(this.buffer, F.CHECKSUM);
  }
  set checksum(v: number) {
    setU16(this.buffer, F.CHECKSUM, v);
  }

  /** The data (a view), bounded by the Length field. */
  get payload(): Uint8Array {
    return this.buffer.subarray(F.PAYLOAD, Math.max(F.PAYLOAD, this.length));
  }

  /**
   * True when the checksum verifies.  A zero checksum is "none" and verifies
   * over IPv4 (numeric addresses) but fails over IPv6.
   */
  verifyChecksum(src: IpAddress, dst: IpAddress): boolean {
    if (this.checksum === 0) return typeof src === 'number';
    const len = this.length;
    return checksumVerifies(onesSum(this.buffer, 0, len, pseudoHeaderSum(src, dst, IpProtocol.Udp, len)));
  }

  /** Compute and write the checksum (0 is sent as 0xffff). */
  fillChecksum(src: IpAddress, dst: IpAddress): void {
    this.checksum = 0;
    const len = this.length;
    const c = checksumFinish(onesSum(this.buffer, 0, len, pseudoHeaderSum(src, dst, IpProtocol.Udp, len)));
    this.checksum = c === 0 ? 0xffff : c;
  }
}

export interface UdpRepr {
  srcPort: number;
  dstPort: number;
  /** The data: a view into the packet after `parse`; copied by `emit`. */
  payload: Uint8Array;
}

export const UdpRepr = {
  /** `src`/`dst` are the IP addresses (for the pseudo-header checksum). */
  parse(packet: UdpPacket, src: IpAddress, dst: IpAddress, opts?: ParseOptions): UdpRepr {
    if (opts?.verifyChecksum !== false && !packet.verifyChecksum(src, dst)) {
      throw new WireError('BAD_CHECKSUM', P, `checksum 0x${packet.checksum.toString(16)}`);
    }
    return { srcPort: packet.srcPort, dstPort: packet.dstPort, payload: packet.payload };
  },

  headerLen(_repr: UdpRepr): number {
    return UDP_HEADER_LEN;
  },

  bufferLen(repr: UdpRepr): number {
    return UDP_HEADER_LEN + repr.payload.length;
  },

  /**
   * Write header and payload.  With `fillChecksum: false` the checksum is
   * left 0 ("none", valid only over IPv4).
   */
  emit(repr: UdpRepr, packet: UdpPacket, src: IpAddress, dst: IpAddress, opts?: EmitOptions): UdpPacket {
    const len = UDP_HEADER_LEN + repr.payload.length;
    ensureUint(len, 0xffff, P, 'length');
    ensureCapacity(packet.buffer, len, P);
    ensureUint(repr.srcPort, 0xffff, P, 'srcPort');
    ensureUint(repr.dstPort, 0xffff, P, 'dstPort');
    packet.srcPort = repr.srcPort;
    packet.dstPort = repr.dstPort;
    packet.length = len;
    packet.checksum = 0;
    packet.buffer.set(repr.payload, F.PAYLOAD);
    if (opts?.fillChecksum !== false) packet.fillChecksum(src, dst);
    return packet;
  },
};
