/**
 * Generic segmentation offload for frames the gateway sends: a TCP/IPv4 or
 * TCP/IPv6 frame larger than the link's MTU carries the segment size it must be cut
 * into (`gsoSize`).  A link that can hand such a frame to its peer whole
 * (a TAP with IFF_VNET_HDR: the kernel segments it, or doesn't need to)
 * says so with `Link.gso`; for any other link the switch cuts it here, as
 * Linux's software GSO does (net/ipv4/tcp_offload.c):
 *
 *   every segment: the same Ethernet, IP and TCP headers (options too),
 *   IPv4 total length, identification + i and header checksum redone
 *   (IPv6: payload length; net/ipv6/tcpv6_offload.c),
 *   TCP sequence number advanced by the payload before it, FIN and PSH
 *   only on the last segment, TCP checksum recomputed.
 */

import { checksumFinish, internetChecksum, onesSum } from '../wire/checksum.js';
import { TcpPacket, type Ipv4Address } from '../wire/index.js';

const IP6 = 40;

/** An Ethernet + IPv6 frame whose fixed header is followed directly by TCP (all the NAT sends). */
function isTcpV6(frame: Uint8Array): boolean {
  return frame.length >= ETH + IP6 + 20 && frame[12] === 0x86 && frame[13] === 0xdd && ((frame[ETH] as number) >>> 4) === 6 && frame[ETH + 6] === 6;
}

const ETH = 14;

/** Segment size of frames that are TCP super-segments (set by the sender, read by links). */
export const gsoSize = new WeakMap<Uint8Array, number>();

/**
 * Frames whose TCP checksum field holds only the pseudo-header sum (Linux's
 * CHECKSUM_PARTIAL): a link with offload has its peer finish it; for any
 * other link the switch finishes it (`completeTcpV4Checksum`).
 */
export const checksumPartial = new WeakSet<Uint8Array>();

/** Frames whose transport checksum a link already computed or its peer vouched for. */
export const checksumVerified = new WeakSet<Uint8Array>();

/**
 * Frames built as headers only, their payload carried separately (a view
 * into a connection's send buffer): written to a TAP as one `writev` of
 * (vnet header, headers, payload), without first copying the payload into
 * the frame.  The view is valid only during the synchronous send that
 * follows building the frame: anything that keeps a frame (a link's queue,
 * a packet parked for ARP/NDP, a capture) or needs its bytes whole (software
 * GSO, checksums) calls `wholeFrame` first.  Only links that declare
 * `scatterGather` get such frames as they are.
 */
export const framePayload = new WeakMap<Uint8Array, Uint8Array>();

/** `frame` with its separately carried payload copied in (the frame itself when it has none). */
export function wholeFrame(frame: Uint8Array): Uint8Array {
  const payload = framePayload.get(frame);
  if (payload === undefined) return frame;
  const whole = new Uint8Array(frame.length + payload.length);
  whole.set(frame, 0);
  whole.set(payload, frame.length);
  if (checksumPartial.has(frame)) checksumPartial.add(whole);
  const mss = gsoSize.get(frame);
  if (mss !== undefined) gsoSize.set(whole, mss);
  return whole;
}

/**
 * Frames a link received with a checksum left partial by their sender (a
 * TAP's vnet header with NEEDS_CSUM: the kernel's own data, CHECKSUM_PARTIAL),
 * by where to finish it: csum_start * 65536 + csum_offset.  Nothing that ends
 * at the gateway needs that checksum, so it is not computed on arrival (a
 * fifth of vpnkit's CPU on uploads); the switch finishes it, with
 * `finishPartialChecksum`, only for a frame it forwards to another link.
 */
export const partialChecksumAt = new WeakMap<Uint8Array, number>();

/**
 * Sum from csum_start to the end and store the result at csum_start +
 * csum_offset (virtio 1.2 §5.1.6.2), for a frame in `partialChecksumAt`.
 * The bounds were checked when the frame was recorded.
 */
export function finishPartialChecksum(frame: Uint8Array): void {
  const p = partialChecksumAt.get(frame);
  if (p === undefined) return;
  partialChecksumAt.delete(frame);
  const start = Math.floor(p / 65536);
  const at = start + (p % 65536);
  const c = checksumFinish(onesSum(frame, start, frame.length));
  frame[at] = c >>> 8;
  frame[at + 1] = c & 0xff;
}

/** Finish the TCP checksum of an Ethernet + IPv4 (no options) or IPv6 + TCP frame in place. */
export function completeTcpChecksum(frame: Uint8Array): void {
  if (isTcpV6(frame)) {
    // In bounds: isTcpV6 checked the 40-byte header and a minimal TCP header.
    TcpPacket.unchecked(frame.subarray(ETH + IP6)).fillChecksum(frame.subarray(ETH + 8, ETH + 24), frame.subarray(ETH + 24, ETH + 40));
    return;
  }
  completeTcpV4Checksum(frame);
}

/** Finish the TCP checksum of an Ethernet + IPv4 (no options) + TCP frame in place. */
export function completeTcpV4Checksum(frame: Uint8Array): void {
  if (frame.length < ETH + 40 || frame[ETH] !== 0x45 || frame[ETH + 9] !== 6) return;
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  TcpPacket.unchecked(frame.subarray(ETH + 20)).fillChecksum(v.getUint32(ETH + 12), v.getUint32(ETH + 16));
}

const FIN = 0x01;
const PSH = 0x08;

/**
 * Cut an Ethernet + IPv4 (no options) + TCP super-segment into frames of
 * at most `mss` payload bytes.  Returns [frame] unchanged when it is not
 * IPv4/TCP or already fits.
 */
export function segmentTcpV4(frame: Uint8Array, mss: number): Uint8Array[] {
  if (frame.length < ETH + 40 || frame[12] !== 0x08 || frame[13] !== 0x00) return [frame];
  const ihl = ((frame[ETH] as number) & 0x0f) * 4;
  if (ihl !== 20 || frame[ETH + 9] !== 6) return [frame];
  const tcpAt = ETH + ihl;
  const thl = (((frame[tcpAt + 12] as number) >>> 4) & 0x0f) * 4;
  const hdr = tcpAt + thl;
  const payload = frame.length - hdr;
  if (mss <= 0 || payload <= mss) return [frame];
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const ident = view.getUint16(ETH + 4);
  const seq = view.getUint32(tcpAt + 4);
  const flags = frame[tcpAt + 13] as number;
  const src: Ipv4Address = view.getUint32(ETH + 12);
  const dst: Ipv4Address = view.getUint32(ETH + 16);
  const out: Uint8Array[] = [];
  for (let off = 0, i = 0; off < payload; off += mss, i++) {
    const n = Math.min(mss, payload - off);
    const last = off + n >= payload;
    const seg = new Uint8Array(hdr + n);
    seg.set(frame.subarray(0, hdr), 0);
    seg.set(frame.subarray(hdr + off, hdr + off + n), hdr);
    const v = new DataView(seg.buffer);
    v.setUint16(ETH + 2, ihl + thl + n);
    v.setUint16(ETH + 4, (ident + i) & 0xffff);
    v.setUint16(ETH + 10, 0);
    v.setUint16(ETH + 10, internetChecksum(seg, ETH, ETH + ihl));
    v.setUint32(tcpAt + 4, (seq + off) >>> 0);
    seg[tcpAt + 13] = last ? flags : flags & ~(FIN | PSH);
    TcpPacket.unchecked(seg.subarray(tcpAt)).fillChecksum(src, dst);
    out.push(seg);
  }
  return out;
}

/** Like `segmentTcpV4`, for IPv4 or IPv6 (fixed header followed by TCP) super-segments. */
export function segmentTcp(frame: Uint8Array, mss: number): Uint8Array[] {
  return isTcpV6(frame) ? segmentTcpV6(frame, mss) : segmentTcpV4(frame, mss);
}

/**
 * Cut an Ethernet + IPv6 (no extension headers) + TCP super-segment into
 * frames of at most `mss` payload bytes; [frame] unchanged when it is not
 * one or already fits.
 */
export function segmentTcpV6(frame: Uint8Array, mss: number): Uint8Array[] {
  if (!isTcpV6(frame)) return [frame];
  const tcpAt = ETH + IP6;
  const thl = (((frame[tcpAt + 12] as number) >>> 4) & 0x0f) * 4;
  const hdr = tcpAt + thl;
  if (thl < 20 || hdr > frame.length) return [frame];
  const payload = frame.length - hdr;
  if (mss <= 0 || payload <= mss) return [frame];
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const seq = view.getUint32(tcpAt + 4);
  const flags = frame[tcpAt + 13] as number;
  const out: Uint8Array[] = [];
  for (let off = 0; off < payload; off += mss) {
    const n = Math.min(mss, payload - off);
    const last = off + n >= payload;
    const seg = new Uint8Array(hdr + n);
    seg.set(frame.subarray(0, hdr), 0);
    seg.set(frame.subarray(hdr + off, hdr + off + n), hdr);
    const v = new DataView(seg.buffer);
    v.setUint16(ETH + 4, thl + n);
    v.setUint32(tcpAt + 4, (seq + off) >>> 0);
    seg[tcpAt + 13] = last ? flags : flags & ~(FIN | PSH);
    TcpPacket.unchecked(seg.subarray(tcpAt)).fillChecksum(seg.subarray(ETH + 8, ETH + 24), seg.subarray(ETH + 24, ETH + 40));
    out.push(seg);
  }
  return out;
}
