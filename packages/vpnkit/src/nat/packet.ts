/**
 * Frames for the guest, built in one buffer: 14 bytes of Ethernet headroom
 * (filled by `Gateway.sendIpv4Frame` once the MAC is known), then the
 * RFC 791 header and the transport.
 *
 *   Ethernet[14] | IPv4 header[20] | TCP header+options | data
 *   Ethernet[14] | IPv4 header[20] | UDP header[8] | data
 */

import type { StackConfig } from '../stack/config.js';
import { checksumPartial } from '../switch/gso.js';
import { onesFold, pseudoHeaderSum } from '../wire/checksum.js';
import {
  IpProtocol,
  Ipv4Address,
  Ipv4Packet,
  Ipv4Repr,
  TcpPacket,
  TcpRepr,
  UdpPacket,
  UdpRepr,
} from '../wire/index.js';

const ETH = 14;
const IP = 20;

/**
 * A frame carrying `seg` from `src` to `dst`.  The TCP checksum is filled,
 * or with `partial` only seeded with the pseudo-header sum and the frame
 * marked `checksumPartial` (the link's peer or the switch finishes it).
 */
export function tcpFrame(src: Ipv4Address, dst: Ipv4Address, ident: number, seg: TcpRepr, partial = false): Uint8Array {
  const tcpLen = TcpRepr.bufferLen(seg);
  const buf = new Uint8Array(ETH + IP + tcpLen);
  Ipv4Repr.emit(
    { src, dst, protocol: IpProtocol.Tcp, payloadLen: tcpLen, ttl: 64, ident, dontFrag: true },
    Ipv4Packet.unchecked(buf.subarray(ETH)),
  );
  TcpRepr.emit(seg, TcpPacket.unchecked(buf.subarray(ETH + IP)), src, dst, partial ? { fillChecksum: false } : undefined);
  if (partial) {
    const seed = onesFold(pseudoHeaderSum(src, dst, IpProtocol.Tcp, tcpLen));
    buf[ETH + IP + 16] = seed >>> 8;
    buf[ETH + IP + 17] = seed & 0xff;
    checksumPartial.add(buf);
  }
  return buf;
}

/**
 * Frames carrying one UDP datagram (checksum filled): one frame when it
 * fits `mtu`, else RFC 791 fragments (each fragment's data a multiple of 8
 * bytes, MF on all but the last).  A datagram over 65507 bytes cannot be
 * sent: empty array.
 */
export function udpFrames(
  src: Ipv4Address,
  dst: Ipv4Address,
  ident: number,
  srcPort: number,
  dstPort: number,
  payload: Uint8Array,
  mtu: number,
): Uint8Array[] {
  const udpLen = 8 + payload.length;
  if (IP + udpLen > 0xffff) return [];
  if (IP + udpLen <= mtu) {
    const buf = new Uint8Array(ETH + IP + udpLen);
    Ipv4Repr.emit(
      { src, dst, protocol: IpProtocol.Udp, payloadLen: udpLen, ttl: 64, ident },
      Ipv4Packet.unchecked(buf.subarray(ETH)),
    );
    UdpRepr.emit({ srcPort, dstPort, payload }, UdpPacket.unchecked(buf.subarray(ETH + IP)), src, dst);
    return [buf];
  }
  const datagram = new Uint8Array(udpLen);
  UdpRepr.emit({ srcPort, dstPort, payload }, UdpPacket.unchecked(datagram), src, dst);
  const step = Math.floor((mtu - IP) / 8) * 8;
  if (step <= 0) return [];
  const frames: Uint8Array[] = [];
  for (let off = 0; off < udpLen; off += step) {
    const len = Math.min(step, udpLen - off);
    const buf = new Uint8Array(ETH + IP + len);
    Ipv4Repr.emit(
      { src, dst, protocol: IpProtocol.Udp, payloadLen: len, ttl: 64, ident, fragOffset: off, moreFrags: off + len < udpLen },
      Ipv4Packet.unchecked(buf.subarray(ETH)),
    );
    buf.set(datagram.subarray(off, off + len), ETH + IP);
    frames.push(buf);
  }
  return frames;
}

/**
 * Whether the NAT may send a guest's traffic for `dst` to the host: not
 * multicast, broadcast or unspecified, and nothing on the guest subnet but
 * the host alias.
 */
export function natRoutable(c: StackConfig, dst: Ipv4Address): boolean {
  if (dst >>> 28 === 0xe || dst === 0xffffffff || dst === 0) return false;
  if (Ipv4Address.inSubnet(dst, c.network, c.prefixLen)) return dst === c.hostIp;
  return true;
}
