/**
 * IPv6 (RFC 8200 §3) fixed header and a bounded extension-header walker (§4).
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version| Traffic Class |           Flow Label                  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |         Payload Length        |  Next Header  |   Hop Limit   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                                                               |
 *    +                                                               +
 *    |                         Source Address                        |
 *    +                                                               +
 *    |                                                               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                                                               |
 *    +                                                               +
 *    |                      Destination Address                      |
 *    +                                                               +
 *    |                                                               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   Payload Length: "Length of the IPv6 payload, i.e., the rest of the packet
 *   following this IPv6 header, in octets.  (Note that any extension headers
 *   present are considered part of the payload, i.e., included in the length
 *   count.)"
 *
 * Extension headers (§4.3-§4.6) share a prefix:
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Next Header  |  Hdr Ext Len  |  ... (Hdr Ext Len + 1) * 8 octets
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * except the Fragment header (§4.5), which is always 8 octets:
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Next Header  |   Reserved    |      Fragment Offset    |Res|M|
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         Identification                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * and the Authentication Header (RFC 4302 §2.2), whose Payload Len is in
 * 4-octet units minus 2.  Jumbograms (RFC 2675) are not supported: a Payload
 * Length of zero means an empty payload.
 */

import type { Ipv6Address } from './address.js';
import { getU16, getU32, getU8, setU16, setU32, setU8 } from './bytes.js';
import { assertIpv6Len, ensureCapacity, ensureUint } from './common.js';
import { WireError } from './error.js';

const F = {
  VER_TC_FLOW: 0,
  LENGTH: 4,
  NXT_HDR: 6,
  HOP_LIMIT: 7,
  SRC: 8,
  DST: 24,
  PAYLOAD: 40,
} as const;

const P = 'ipv6';

export const IPV6_HEADER_LEN = 40;
/** The IPv6 minimum link MTU (RFC 8200 §5). */
export const IPV6_MIN_MTU = 1280;

export class Ipv6Packet {
  private constructor(readonly buffer: Uint8Array) {}

  static checked(buffer: Uint8Array): Ipv6Packet {
    return Ipv6Packet.check(buffer, true);
  }

  /** Only the fixed header must be present (for the packet quoted in an ICMPv6 error). */
  static checkedHeader(buffer: Uint8Array): Ipv6Packet {
    return Ipv6Packet.check(buffer, false);
  }

  private static check(buffer: Uint8Array, whole: boolean): Ipv6Packet {
    if (buffer.length < IPV6_HEADER_LEN) throw new WireError('TRUNCATED', P, `header of ${buffer.length} bytes`);
    const p = new Ipv6Packet(buffer);
    if (p.version !== 6) throw new WireError('BAD_VERSION', P, `version ${p.version}`);
    if (whole && buffer.length < IPV6_HEADER_LEN + p.payloadLen) {
      throw new WireError('TRUNCATED', P, `payload length ${p.payloadLen}, have ${buffer.length - IPV6_HEADER_LEN}`);
    }
    return p;
  }

  static unchecked(buffer: Uint8Array): Ipv6Packet {
    return new Ipv6Packet(buffer);
  }

  get version(): number {
    return getU8(this.buffer, 0) >> 4;
  }
  set version(v: number) {
    setU8(this.buffer, 0, ((v & 0xf) << 4) | (getU8(this.buffer, 0) & 0x0f));
  }

  get trafficClass(): number {
    return (getU16(this.buffer, F.VER_TC_FLOW) >> 4) & 0xff;
  }
  set trafficClass(v: number) {
    const w = getU16(this.buffer, F.VER_TC_FLOW);
    setU16(this.buffer, F.VER_TC_FLOW, (w & 0xf00f) | ((v & 0xff) << 4));
  }

  get flowLabel(): number {
    return getU32(this.buffer, F.VER_TC_FLOW) & 0xfffff;
  }
  set flowLabel(v: number) {
    const w = getU32(this.buffer, F.VER_TC_FLOW);
    setU32(this.buffer, F.VER_TC_FLOW, ((w & 0xfff00000) | (v & 0xfffff)) >>> 0);
  }

  get payloadLen(): number {
    return getU16(this.buffer, F.LENGTH);
  }
  set payloadLen(v: number) {
    setU16(this.buffer, F.LENGTH, v);
  }

  get nextHeader(): number {
    return getU8(this.buffer, F.NXT_HDR);
  }
  set nextHeader(v: number) {
    setU8(this.buffer, F.NXT_HDR, v);
  }

  get hopLimit(): number {
    return getU8(this.buffer, F.HOP_LIMIT);
  }
  set hopLimit(v: number) {
    setU8(this.buffer, F.HOP_LIMIT, v);
  }

  /** Source address (a view into the packet). */
  get srcAddr(): Ipv6Address {
    return this.buffer.subarray(F.SRC, F.SRC + 16);
  }
  set srcAddr(a: Ipv6Address) {
    assertIpv6Len(a, P);
    this.buffer.set(a, F.SRC);
  }

  /** Destination address (a view into the packet). */
  get dstAddr(): Ipv6Address {
    return this.buffer.subarray(F.DST, F.DST + 16);
  }
  set dstAddr(a: Ipv6Address) {
    assertIpv6Len(a, P);
    this.buffer.set(a, F.DST);
  }

  /** Everything after the fixed header up to Payload Length (a view). */
  get payload(): Uint8Array {
    return this.buffer.subarray(F.PAYLOAD, F.PAYLOAD + this.payloadLen);
  }
}

export interface Ipv6Repr {
  src: Ipv6Address;
  dst: Ipv6Address;
  /** The fixed header's Next Header (may be an extension header). */
  nextHeader: number;
  /** Bytes after the fixed header, extension headers included. */
  payloadLen: number;
  hopLimit: number;
  /** Default 0. */
  trafficClass?: number;
  /** Default 0. */
  flowLabel?: number;
}

export const Ipv6Repr = {
  /** Addresses are copied.  IPv6 has no header checksum. */
  parse(packet: Ipv6Packet): Ipv6Repr {
    return {
      src: packet.srcAddr.slice(),
      dst: packet.dstAddr.slice(),
      nextHeader: packet.nextHeader,
      payloadLen: packet.payloadLen,
      hopLimit: packet.hopLimit,
      trafficClass: packet.trafficClass,
      flowLabel: packet.flowLabel,
    };
  },

  headerLen(_repr: Ipv6Repr): number {
    return IPV6_HEADER_LEN;
  },

  bufferLen(repr: Ipv6Repr): number {
    return IPV6_HEADER_LEN + repr.payloadLen;
  },

  /** Write the fixed header; the payload goes into `packet.payload`. */
  emit(repr: Ipv6Repr, packet: Ipv6Packet): Ipv6Packet {
    ensureUint(repr.payloadLen, 0xffff, P, 'payloadLen');
    ensureCapacity(packet.buffer, IPV6_HEADER_LEN + repr.payloadLen, P);
    return Ipv6Repr.emitHeader(repr, packet);
  },

  /** Like `emit`, but the buffer need only hold the 40-byte fixed header (for ICMPv6 errors). */
  emitHeader(repr: Ipv6Repr, packet: Ipv6Packet): Ipv6Packet {
    ensureUint(repr.payloadLen, 0xffff, P, 'payloadLen');
    ensureCapacity(packet.buffer, IPV6_HEADER_LEN, P);
    ensureUint(repr.nextHeader, 0xff, P, 'nextHeader');
    ensureUint(repr.hopLimit, 0xff, P, 'hopLimit');
    const tc = repr.trafficClass ?? 0;
    const flow = repr.flowLabel ?? 0;
    ensureUint(tc, 0xff, P, 'trafficClass');
    ensureUint(flow, 0xfffff, P, 'flowLabel');
    assertIpv6Len(repr.src, P);
    assertIpv6Len(repr.dst, P);
    setU32(packet.buffer, F.VER_TC_FLOW, ((6 << 28) | (tc << 20) | flow) >>> 0);
    packet.payloadLen = repr.payloadLen;
    packet.nextHeader = repr.nextHeader;
    packet.hopLimit = repr.hopLimit;
    packet.srcAddr = repr.src;
    packet.dstAddr = repr.dst;
    return packet;
  },
};

// ---------------------------------------------------------------------------
// Extension headers

/** IPv6 extension header numbers the walker steps over (RFC 8200 §4.1, RFC 7045). */
export const Ipv6ExtHeader = {
  HopByHop: 0,
  Routing: 43,
  Fragment: 44,
  Ah: 51,
  DestOpts: 60,
  Mobility: 135,
  Hip: 139,
  Shim6: 140,
} as const;

export function isIpv6ExtHeader(nextHeader: number): boolean {
  switch (nextHeader) {
    case Ipv6ExtHeader.HopByHop:
    case Ipv6ExtHeader.Routing:
    case Ipv6ExtHeader.Fragment:
    case Ipv6ExtHeader.Ah:
    case Ipv6ExtHeader.DestOpts:
    case Ipv6ExtHeader.Mobility:
    case Ipv6ExtHeader.Hip:
    case Ipv6ExtHeader.Shim6:
      return true;
    default:
      return false;
  }
}

/** The walker gives up after this many extension headers. */
export const IPV6_MAX_EXT_HEADERS = 8;

export interface Ipv6FragmentInfo {
  /** Offset of this fragment's data in the original payload, in bytes. */
  offset: number;
  moreFrags: boolean;
  ident: number;
  /** Where the Fragment header itself starts, relative to the IPv6 payload. */
  headerOffset: number;
}

export interface Ipv6UpperLayer {
  /**
   * The first Next Header value that is not a walked extension header: an
   * upper-layer protocol (6, 17, 58, ...), 59 (No Next Header), or 50 (ESP,
   * which cannot be walked).  For a fragment (see `fragment`) it is the
   * Next Header of the Fragment header.
   */
  protocol: number;
  /** Offset of the upper-layer data relative to the IPv6 payload. */
  offset: number;
  /**
   * Present when a Fragment header was seen.  A non-atomic fragment (offset
   * > 0 or M set) stops the walk: the data at `offset` is fragment data, not
   * a parseable header.  An atomic fragment (offset 0, M clear; RFC 6946) is
   * recorded and the walk continues.
   */
  fragment?: Ipv6FragmentInfo;
}

/**
 * Walk the extension-header chain of an IPv6 payload.
 *
 * Bounded: at most `IPV6_MAX_EXT_HEADERS` headers (`TOO_MANY_HEADERS`), and
 * every length is checked against `payload` (`TRUNCATED`).  A Hop-by-Hop
 * header anywhere but first is `MALFORMED` (RFC 8200 §4.1).  Option contents
 * are not interpreted.
 */
export function walkIpv6ExtHeaders(nextHeader: number, payload: Uint8Array): Ipv6UpperLayer {
  let nh = nextHeader;
  let off = 0;
  let fragment: Ipv6FragmentInfo | undefined;
  for (let count = 0; isIpv6ExtHeader(nh); count++) {
    if (count >= IPV6_MAX_EXT_HEADERS) throw new WireError('TOO_MANY_HEADERS', P, `more than ${IPV6_MAX_EXT_HEADERS}`);
    if (nh === Ipv6ExtHeader.HopByHop && count > 0) {
      throw new WireError('MALFORMED', P, 'Hop-by-Hop Options header not first');
    }
    if (off + 8 > payload.length) throw new WireError('TRUNCATED', P, `extension header ${nh} at ${off}`);
    const next = getU8(payload, off);
    if (nh === Ipv6ExtHeader.Fragment) {
      const w = getU16(payload, off + 2);
      const info: Ipv6FragmentInfo = {
        offset: w & 0xfff8,
        moreFrags: (w & 1) !== 0,
        ident: getU32(payload, off + 4),
        headerOffset: off,
      };
      fragment = info;
      off += 8;
      nh = next;
      if (info.offset !== 0 || info.moreFrags) break;
      continue;
    }
    const len = nh === Ipv6ExtHeader.Ah ? (getU8(payload, off + 1) + 2) * 4 : (getU8(payload, off + 1) + 1) * 8;
    if (off + len > payload.length) throw new WireError('TRUNCATED', P, `extension header ${nh} of ${len} bytes`);
    off += len;
    nh = next;
  }
  const r: Ipv6UpperLayer = { protocol: nh, offset: off };
  if (fragment !== undefined) r.fragment = fragment;
  return r;
}

/** True when a `walkIpv6ExtHeaders` result stopped at a real (non-atomic) fragment. */
export function isIpv6Fragmented(r: Ipv6UpperLayer): boolean {
  return r.fragment !== undefined && (r.fragment.offset !== 0 || r.fragment.moreFrags);
}
