/**
 * Frames for the guest, built in one buffer: 14 bytes of Ethernet headroom
 * (filled by `Gateway.sendIpv4Frame` once the MAC is known), then the
 * RFC 791 header and the transport.
 *
 *   Ethernet[14] | IPv4 header[20] | TCP header+options | data
 *   Ethernet[14] | IPv4 header[20] | UDP header[8] | data
 *   Ethernet[14] | IPv6 header[40] | TCP header+options | data   (RFC 8200 §3)
 *   Ethernet[14] | IPv6 header[40] | UDP header[8] | data
 *
 * TCP over either family may be a super-segment with a partial checksum
 * (see src/switch/gso.ts); UDP frames carry their full checksum.
 */

import type { StackConfig } from '../stack/config.js';
import { checksumPartial, framePayload } from '../switch/gso.js';
import { onesFold, pseudoHeaderSum } from '../wire/checksum.js';
import {
  IpProtocol,
  Ipv4Address,
  Ipv4Packet,
  Ipv4Repr,
  Ipv6Address,
  Ipv6ExtHeader,
  Ipv6Packet,
  Ipv6Repr,
  TcpPacket,
  TcpRepr,
  UdpPacket,
  UdpRepr,
} from '../wire/index.js';

const ETH = 14;
const IP = 20;
const IP6 = 40;
/** The IPv6 Fragment header (RFC 8200 §4.5). */
const FRAG = 8;
/** Hop limit of the IPv6 packets the NAT sends (as Linux's default). */
const HOP_LIMIT = 64;

/**
 * A frame carrying `seg` from `src` to `dst`.  The TCP checksum is filled,
 * or with `partial` only seeded with the pseudo-header sum and the frame
 * marked `checksumPartial` (the link's peer or the switch finishes it).
 */
export function tcpFrame(src: Ipv4Address, dst: Ipv4Address, ident: number, seg: TcpRepr, partial = false): Uint8Array {
  const tcpLen = TcpRepr.bufferLen(seg);
  const split = partial && seg.payload.length >= SPLIT_MIN;
  const buf = split ? new Uint8Array(ETH + IP + tcpLen - seg.payload.length) : frameFor(ETH + IP, seg, tcpLen);
  // emitHeader: with the payload carried apart the buffer holds the headers only.
  Ipv4Repr.emitHeader(
    { src, dst, protocol: IpProtocol.Tcp, payloadLen: tcpLen, ttl: 64, ident, dontFrag: true },
    Ipv4Packet.unchecked(buf.subarray(ETH)),
  );
  emitTcp(buf, ETH + IP, src, dst, split ? carriedApart(buf, seg) : seg, tcpLen, partial);
  return buf;
}

/**
 * Payloads at least this long travel beside their frame's headers
 * (`framePayload`), not copied into it: with a partial checksum nothing
 * here reads them, and a TAP with offload writes headers and payload in one
 * `writev`.  (A copy of a 64 KiB payload was a fifth of vpnkit's CPU on
 * downloads.)
 */
const SPLIT_MIN = 2048;

/** Record `seg`'s payload as carried apart from `frame`; the segment to emit into the frame (headers only). */
function carriedApart(frame: Uint8Array, seg: TcpRepr): TcpRepr {
  framePayload.set(frame, seg.payload);
  return { ...seg, payload: EMPTY };
}
const EMPTY = new Uint8Array(0);

/**
 * The storage of a frame whose TCP segment starts at `at`: headers zeroed,
 * the payload area left as allocated (the segment's payload overwrites all
 * of it).  Zeroing a 64 KiB super-segment only to copy the payload over it
 * was half of building it.
 */
function frameFor(at: number, seg: TcpRepr, tcpLen: number): Uint8Array {
  const len = at + tcpLen;
  if (seg.payload.length < 1024) return new Uint8Array(len);
  // Its own ArrayBuffer, not zero-filled; seen as a plain Uint8Array (Buffer's slice does not copy).
  const b = Buffer.allocUnsafeSlow(len);
  const buf = new Uint8Array(b.buffer, b.byteOffset, len);
  buf.fill(0, 0, len - seg.payload.length);
  return buf;
}

/**
 * The TCP segment at `at` in `frame`, its checksum filled, or with `partial` only seeded with
 * the pseudo-header sum and the frame marked `checksumPartial`.
 */
function emitTcp(frame: Uint8Array, at: number, src: Ipv4Address | Ipv6Address, dst: Ipv4Address | Ipv6Address, seg: TcpRepr, tcpLen: number, partial: boolean): void {
  TcpRepr.emit(seg, TcpPacket.unchecked(frame.subarray(at)), src, dst, partial ? { fillChecksum: false } : undefined);
  if (!partial) return;
  const seed = onesFold(pseudoHeaderSum(src, dst, IpProtocol.Tcp, tcpLen));
  frame[at + 16] = seed >>> 8;
  frame[at + 17] = seed & 0xff;
  checksumPartial.add(frame);
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

/** Like `tcpFrame`, over IPv6 (no extension headers; IPv6 has no identification to set). */
export function tcpFrame6(src: Ipv6Address, dst: Ipv6Address, seg: TcpRepr, partial = false): Uint8Array {
  const tcpLen = TcpRepr.bufferLen(seg);
  const split = partial && seg.payload.length >= SPLIT_MIN;
  const buf = split ? new Uint8Array(ETH + IP6 + tcpLen - seg.payload.length) : frameFor(ETH + IP6, seg, tcpLen);
  Ipv6Repr.emitHeader({ src, dst, nextHeader: IpProtocol.Tcp, payloadLen: tcpLen, hopLimit: HOP_LIMIT }, Ipv6Packet.unchecked(buf.subarray(ETH)));
  emitTcp(buf, ETH + IP6, src, dst, split ? carriedApart(buf, seg) : seg, tcpLen, partial);
  return buf;
}

/**
 * Frames carrying one UDP datagram over IPv6 (checksum filled: mandatory
 * over IPv6, RFC 8200 §8.1): one frame when it fits `mtu`, else fragments
 * (RFC 8200 §4.5), each with a Fragment header
 *
 *   Next Header[1]=17 | Reserved[1] | Fragment Offset[13] Res[2] M[1] | Identification[4]
 *
 * and a multiple of 8 bytes of data but the last.  Empty when the datagram
 * cannot be sent (over 65535 bytes).
 */
export function udpFrames6(
  src: Ipv6Address,
  dst: Ipv6Address,
  ident: number,
  srcPort: number,
  dstPort: number,
  payload: Uint8Array,
  mtu: number,
): Uint8Array[] {
  const udpLen = 8 + payload.length;
  if (udpLen > 0xffff) return [];
  if (IP6 + udpLen <= mtu) {
    const buf = new Uint8Array(ETH + IP6 + udpLen);
    Ipv6Repr.emit({ src, dst, nextHeader: IpProtocol.Udp, payloadLen: udpLen, hopLimit: HOP_LIMIT }, Ipv6Packet.unchecked(buf.subarray(ETH)));
    UdpRepr.emit({ srcPort, dstPort, payload }, UdpPacket.unchecked(buf.subarray(ETH + IP6)), src, dst);
    return [buf];
  }
  const datagram = new Uint8Array(udpLen);
  UdpRepr.emit({ srcPort, dstPort, payload }, UdpPacket.unchecked(datagram), src, dst);
  const step = Math.floor((mtu - IP6 - FRAG) / 8) * 8;
  if (step <= 0) return [];
  const frames: Uint8Array[] = [];
  for (let off = 0; off < udpLen; off += step) {
    const len = Math.min(step, udpLen - off);
    const buf = new Uint8Array(ETH + IP6 + FRAG + len);
    Ipv6Repr.emit(
      { src, dst, nextHeader: Ipv6ExtHeader.Fragment, payloadLen: FRAG + len, hopLimit: HOP_LIMIT },
      Ipv6Packet.unchecked(buf.subarray(ETH)),
    );
    const h = ETH + IP6;
    buf[h] = IpProtocol.Udp;
    const w = off | (off + len < udpLen ? 1 : 0); // offset in 8-byte units << 3 is the offset itself
    buf[h + 2] = w >>> 8;
    buf[h + 3] = w & 0xff;
    buf[h + 4] = (ident >>> 24) & 0xff;
    buf[h + 5] = (ident >>> 16) & 0xff;
    buf[h + 6] = (ident >>> 8) & 0xff;
    buf[h + 7] = ident & 0xff;
    buf.set(datagram.subarray(off, off + len), h + FRAG);
    frames.push(buf);
  }
  return frames;
}

/**
 * Whether the NAT may send a guest's IPv6 traffic for `dst` to the host:
 * not multicast, not in ::/96 (unspecified, loopback, the deprecated
 * IPv4-compatible form), not IPv4-mapped (::ffff:0:0/96 would reach the
 * host's IPv4 addresses, loopback included, around `natRoutable`), not
 * link-local, and nothing in the guests' prefix but the host alias.
 */
export function natRoutable6(c: StackConfig, dst: Ipv6Address): boolean {
  if (dst[0] === 0xff || Ipv6Address.isLinkLocal(dst)) return false;
  let zeros = 0;
  while (zeros < 10 && dst[zeros] === 0) zeros++;
  if (zeros === 10 && ((dst[10] === 0 && dst[11] === 0) || (dst[10] === 0xff && dst[11] === 0xff))) return false;
  for (let i = 0; i < 8; i++) if (dst[i] !== c.ipv6Prefix[i]) return true;
  return Ipv6Address.equals(dst, c.hostIpv6);
}
