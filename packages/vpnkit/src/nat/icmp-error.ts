/**
 * ICMP errors the gateway sends to a guest on behalf of the host, built
 * after 14 bytes of Ethernet headroom like the NAT's other frames.
 *
 * RFC 792, Destination Unreachable (RFC 1191 adds the Next-Hop MTU):
 *
 *   type[1]=3 code[1] checksum[2] unused[2] next-hop-mtu[2]
 *   internet-header[IHL*4] original-data[8]
 *
 * RFC 4443 §3.1 / §3.2 (Packet Too Big carries the MTU in the 4 bytes):
 *
 *   type[1]=1 code[1] checksum[2] unused[4]
 *   "As much of invoking packet as possible without the ICMPv6 packet
 *    exceeding the minimum IPv6 MTU"  (1280 - 40 - 8 = 1232 bytes)
 *
 * What no error may be about (RFC 1122 §3.2.2, RFC 1812 §4.3.2.7,
 * RFC 4443 §2.4 (e)): an ICMP error message, a datagram to a broadcast or
 * multicast address or sent as link-layer broadcast/multicast (the caller
 * knows the link layer), a fragment other than the first, a datagram whose
 * source is not one host (unspecified, broadcast, multicast, loopback).
 * `icmpv4ErrorQuote`/`icmpv6ErrorQuote` apply those rules and cut the
 * quote; `IcmpErrorLimiter` bounds the rate (RFC 1812 §4.3.2.8, RFC 4443
 * §2.4 (f): a token bucket).  Pure: time is passed in.
 */

import { internetChecksum } from '../wire/checksum.js';
import {
  IpProtocol,
  Ipv4Address,
  Ipv4Packet,
  Ipv4Repr,
  Ipv6Address,
  Ipv6Packet,
  Ipv6Repr,
  Icmpv6Packet,
  walkIpv6ExtHeaders,
} from '../wire/index.js';

const ETH = 14;
/** The minimum IPv6 MTU (RFC 8200 §5). */
const IPV6_MIN_MTU = 1280;
/** The most of the invoking packet an ICMPv6 error carries. */
export const ICMPV6_ERROR_MAX_QUOTE = IPV6_MIN_MTU - 40 - 8;

export const IcmpErrorType = {
  /** ICMPv4 Destination Unreachable; codes 3 (port), 4 (fragmentation needed). */
  V4_UNREACHABLE: 3,
  V4_PORT_UNREACHABLE: 3,
  V4_FRAG_NEEDED: 4,
  /** ICMPv6 Destination Unreachable; code 4 (port). */
  V6_UNREACHABLE: 1,
  V6_PORT_UNREACHABLE: 4,
  V6_PACKET_TOO_BIG: 2,
} as const;

/** ICMPv4 types that are errors (RFC 792, RFC 1122 §3.2.2: 3, 4, 5, 11, 12). */
function isIcmpv4Error(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/** The guests' subnet, for its directed broadcast address. */
export interface Ipv4Subnet {
  readonly network: Ipv4Address;
  readonly prefixLen: number;
}

/**
 * What an ICMPv4 error about `datagram` (a whole IPv4 datagram, header
 * first) quotes: a copy of its header and the first 8 bytes of its data
 * (fewer if it has fewer).  Undefined when no error may be sent about it.
 */
export function icmpv4ErrorQuote(datagram: Uint8Array, subnet?: Ipv4Subnet): Uint8Array | undefined {
  let p: Ipv4Packet;
  try {
    p = Ipv4Packet.checkedHeader(datagram);
  } catch {
    return undefined;
  }
  const hl = p.headerLen;
  if (p.fragOffset !== 0) return undefined;
  const src = p.src >>> 0;
  const dst = p.dst >>> 0;
  if (!Ipv4Address.isUnicast(src) || Ipv4Address.isLoopback(src) || src >>> 28 === 0xf) return undefined;
  if (!Ipv4Address.isUnicast(dst)) return undefined;
  if (subnet !== undefined && subnet.prefixLen < 31) {
    const host = ~Ipv4Address.netmask(subnet.prefixLen) >>> 0;
    // Directed broadcast of the subnet, and the source being one.
    if (Ipv4Address.inSubnet(dst, subnet.network, subnet.prefixLen) && (dst & host) === host) return undefined;
    if (Ipv4Address.inSubnet(src, subnet.network, subnet.prefixLen) && (src & host) === host) return undefined;
  }
  // In bounds: checkedHeader validated hl <= datagram.length.
  const dataLen = Math.min(8, Math.max(0, Math.min(p.totalLen, datagram.length) - hl));
  if (p.protocol === IpProtocol.Icmp) {
    if (dataLen < 1) return undefined;
    if (isIcmpv4Error(datagram[hl]!)) return undefined;
  }
  return datagram.slice(0, hl + dataLen);
}

/**
 * A frame (14 bytes of headroom) carrying an ICMPv4 error from `from` to
 * the quoted datagram's source: `type`, `code`, bytes 4..7 (`rest`: the
 * Next-Hop MTU for code 4) and `quote` from `icmpv4ErrorQuote`.
 */
export function icmpv4ErrorFrame(from: Ipv4Address, ident: number, type: number, code: number, rest: number, quote: Uint8Array): Uint8Array {
  const icmpLen = 8 + quote.length;
  const buf = new Uint8Array(ETH + 20 + icmpLen);
  const to = Ipv4Packet.checkedHeader(quote).src;
  Ipv4Repr.emit({ src: from, dst: to, protocol: IpProtocol.Icmp, payloadLen: icmpLen, ttl: 64, ident }, Ipv4Packet.unchecked(buf.subarray(ETH)));
  const m = buf.subarray(ETH + 20);
  m[0] = type;
  m[1] = code;
  m[4] = (rest >>> 24) & 0xff;
  m[5] = (rest >>> 16) & 0xff;
  m[6] = (rest >>> 8) & 0xff;
  m[7] = rest & 0xff;
  m.set(quote, 8);
  const sum = internetChecksum(m);
  m[2] = sum >>> 8;
  m[3] = sum & 0xff;
  return buf;
}

/**
 * What an ICMPv6 error about `packet` (a whole IPv6 packet, fixed header
 * first) quotes: a copy of at most 1232 bytes of it.  Undefined when no
 * error may be sent about it (RFC 4443 §2.4 (e)).
 */
export function icmpv6ErrorQuote(packet: Uint8Array): Uint8Array | undefined {
  let p: Ipv6Packet;
  try {
    p = Ipv6Packet.checkedHeader(packet);
  } catch {
    return undefined;
  }
  const ip = Ipv6Repr.parse(p);
  if (Ipv6Address.isMulticast(ip.dst)) return undefined;
  if (Ipv6Address.isUnspecified(ip.src) || Ipv6Address.isMulticast(ip.src) || Ipv6Address.isLoopback(ip.src)) return undefined;
  // In bounds: checkedHeader validated the 40-byte header; the payload is cut to what is there.
  const payload = packet.subarray(40, Math.min(packet.length, 40 + ip.payloadLen));
  let upper;
  try {
    upper = walkIpv6ExtHeaders(ip.nextHeader, payload);
  } catch {
    return undefined;
  }
  if (upper.fragment !== undefined && upper.fragment.offset !== 0) return undefined;
  if (upper.protocol === IpProtocol.Icmpv6) {
    const t = payload[upper.offset];
    // Errors are types 0-127 (RFC 4443 §2.1); Redirect (137) is named by §2.4 (e) too.
    if (t === undefined || t < 128 || t === 137) return undefined;
  }
  return packet.slice(0, Math.min(40 + payload.length, ICMPV6_ERROR_MAX_QUOTE));
}

/**
 * A frame (14 bytes of headroom) carrying an ICMPv6 error from `from` to
 * the quoted packet's source: `type`, `code`, the 4-byte word (the MTU of a
 * Packet Too Big, else 0) and `quote` from `icmpv6ErrorQuote`.
 */
export function icmpv6ErrorFrame(from: Ipv6Address, type: number, code: number, word: number, quote: Uint8Array): Uint8Array {
  const icmpLen = 8 + quote.length;
  const buf = new Uint8Array(ETH + 40 + icmpLen);
  const to = Ipv6Repr.parse(Ipv6Packet.checkedHeader(quote)).src;
  Ipv6Repr.emit({ src: from, dst: to, nextHeader: IpProtocol.Icmpv6, payloadLen: icmpLen, hopLimit: 64 }, Ipv6Packet.unchecked(buf.subarray(ETH)));
  const m = buf.subarray(ETH + 40);
  m[0] = type;
  m[1] = code;
  m[4] = (word >>> 24) & 0xff;
  m[5] = (word >>> 16) & 0xff;
  m[6] = (word >>> 8) & 0xff;
  m[7] = word & 0xff;
  m.set(quote, 8);
  Icmpv6Packet.unchecked(m).fillChecksum(from, to);
  return buf;
}

export interface IcmpErrorLimiterOptions {
  /** Errors that may go out at once. Default 10. */
  burst?: number;
  /** One more allowed every `intervalMs`. Default 100 (10 per second, sustained). */
  intervalMs?: number;
}

/** A token bucket for the ICMP errors of one gateway. */
export class IcmpErrorLimiter {
  private readonly burst: number;
  private readonly interval: number;
  private tokens: number;
  private last: number | undefined;

  constructor(opts: IcmpErrorLimiterOptions = {}) {
    this.burst = Math.max(1, opts.burst ?? 10);
    this.interval = Math.max(1, opts.intervalMs ?? 100);
    this.tokens = this.burst;
  }

  /** Whether an error may be sent at `now` (it then uses a token). */
  take(now: number): boolean {
    if (this.last === undefined || now < this.last) {
      this.last = now; // first use, or a clock that went back: start over from here
    } else {
      const earned = Math.floor((now - this.last) / this.interval);
      if (earned > 0) {
        this.tokens = Math.min(this.burst, this.tokens + earned);
        this.last += earned * this.interval;
      }
    }
    if (this.tokens === 0) return false;
    this.tokens--;
    return true;
  }
}
