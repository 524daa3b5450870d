/**
 * ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861), with the RDNSS
 * option of RFC 8106.
 *
 *   General format (RFC 4443 §2.1); the checksum covers the IPv6
 *   pseudo-header (RFC 8200 §8.1, Next Header 58) and the whole message:
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |     Code      |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    +                         Message Body                          +
 *
 *   Echo Request (128) / Echo Reply (129), RFC 4443 §4.1-4.2:
 *    |           Identifier          |        Sequence Number        |
 *    |     Data ...
 *   Destination Unreachable (1), Time Exceeded (3): "Unused" (4 octets),
 *   Packet Too Big (2): MTU (4), Parameter Problem (4): Pointer (4); then
 *    |    As much of invoking packet as possible without the ICMPv6     |
 *    |    packet exceeding the minimum IPv6 MTU                          |
 *
 *   Router Solicitation (133), RFC 4861 §4.1:
 *    |                            Reserved                           |
 *    |   Options ...
 *   Router Advertisement (134), §4.2:
 *    | Cur Hop Limit |M|O|  Reserved |       Router Lifetime         |
 *    |                         Reachable Time                        |
 *    |                          Retrans Timer                        |
 *    |   Options ...
 *   Neighbor Solicitation (135), §4.3:
 *    |                           Reserved                            |
 *    |                       Target Address (16)                     |
 *    |   Options ...
 *   Neighbor Advertisement (136), §4.4:
 *    |R|S|O|                     Reserved                            |
 *    |                       Target Address (16)                     |
 *    |   Options ...
 *
 *   Options (§4.6): "Type 8-bit identifier of the type of option. [...]
 *   Length 8-bit unsigned integer.  The length of the option (including
 *   the type and length fields) in units of 8 octets.  The value 0 is
 *   invalid.  Nodes MUST silently discard an ND packet that contains an
 *   option with length zero."
 *     1 Source Link-Layer Address, 2 Target Link-Layer Address (§4.6.1):
 *       |     Type      |    Length     |    Link-Layer Address ...
 *     3 Prefix Information (§4.6.2), Length 4:
 *       |     Type      |    Length     | Prefix Length |L|A| Reserved1 |
 *       |                         Valid Lifetime                        |
 *       |                       Preferred Lifetime                      |
 *       |                           Reserved2                           |
 *       |                          Prefix (16)                          |
 *     5 MTU (§4.6.4), Length 1:
 *       |     Type      |    Length     |           Reserved            |
 *       |                              MTU                              |
 *    25 Recursive DNS Server (RFC 8106 §5.1), Length 1 + 2 * n:
 *       |     Type      |     Length    |           Reserved            |
 *       |                           Lifetime                            |
 *       |                  Addresses of IPv6 Recursive DNS Servers      |
 *
 * ND messages with a non-zero code are rejected (`MALFORMED`, RFC 4861
 * §6.1/§7.1 "ICMP Code is 0"); unknown options are skipped (§4.6 "Receivers
 * MUST silently ignore any options they do not recognize"), as are options
 * not defined for the message at hand.  The Hop Limit == 255 check needs the
 * IP header and is left to the ND layer.  Link-layer addresses are Ethernet:
 * the first 6 bytes of the option.
 */

import type { EthernetAddress, IpAddress, Ipv6Address } from './address.js';
import { getU16, getU32, getU8, setU16, setU32, setU8 } from './bytes.js';
import { checksumFinish, checksumVerifies, onesSum, pseudoHeaderSum } from './checksum.js';
import { assertIpv6Len, assertMacLen, ensureCapacity, ensureUint, type EmitOptions, type ParseOptions } from './common.js';
import { WireError } from './error.js';
import { IpProtocol } from './ipv4.js';
import { IPV6_HEADER_LEN, Ipv6Packet, Ipv6Repr } from './ipv6.js';

export const Icmpv6Type = {
  DstUnreachable: 1,
  PacketTooBig: 2,
  TimeExceeded: 3,
  ParamProblem: 4,
  EchoRequest: 128,
  EchoReply: 129,
  RouterSolicit: 133,
  RouterAdvert: 134,
  NeighborSolicit: 135,
  NeighborAdvert: 136,
  Redirect: 137,
} as const;

/** Destination Unreachable codes (RFC 4443 §3.1). */
export const Icmpv6DstUnreachable = {
  NoRoute: 0,
  AdminProhibit: 1,
  BeyondScope: 2,
  AddrUnreachable: 3,
  PortUnreachable: 4,
  FailedPolicy: 5,
  RejectRoute: 6,
} as const;

export const NdiscOptionType = {
  SourceLinkAddr: 1,
  TargetLinkAddr: 2,
  PrefixInfo: 3,
  RedirectedHeader: 4,
  Mtu: 5,
  Rdnss: 25,
} as const;

const F = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  BODY: 4,
  ECHO_IDENT: 4,
  ECHO_SEQNO: 6,
  DATA: 8,
  RA_HOP_LIMIT: 4,
  RA_FLAGS: 5,
  RA_ROUTER_LT: 6,
  RA_REACHABLE: 8,
  RA_RETRANS: 12,
  RA_OPTIONS: 16,
  RS_OPTIONS: 8,
  NA_FLAGS: 4,
  TARGET: 8,
  N_OPTIONS: 24,
} as const;

const P = 'icmpv6';

export const ICMPV6_HEADER_LEN = 4;

const RA_MANAGED = 0x80;
const RA_OTHER = 0x40;
const NA_ROUTER = 0x80000000;
const NA_SOLICITED = 0x40000000;
const NA_OVERRIDE = 0x20000000;

export class Icmpv6Packet {
  private constructor(readonly buffer: Uint8Array) {}

  /**
   * The buffer must be exactly the ICMPv6 message.  Validates the minimum
   * length of the message type (8 for most, 16 for RA, 24 for NS/NA).
   */
  static checked(buffer: Uint8Array): Icmpv6Packet {
    if (buffer.length < ICMPV6_HEADER_LEN) throw new WireError('TRUNCATED', P, `header of ${buffer.length} bytes`);
    const p = new Icmpv6Packet(buffer);
    const min = minLen(p.msgType);
    if (buffer.length < min) throw new WireError('TRUNCATED', P, `type ${p.msgType} needs ${min} bytes, have ${buffer.length}`);
    return p;
  }

  static unchecked(buffer: Uint8Array): Icmpv6Packet {
    return new Icmpv6Packet(buffer);
  }

  get msgType(): number {
    return getU8(this.buffer, F.TYPE);
  }
  set msgType(v: number) {
    setU8(this.buffer, F.TYPE, v);
  }
  get msgCode(): number {
    return getU8(this.buffer, F.CODE);
  }
  set msgCode(v: number) {
    setU8(this.buffer, F.CODE, v);
  }
  get checksum(): number {
    return getU16(this.buffer, F.CHECKSUM);
  }
  set checksum(v: number) {
    setU16(this.buffer, F.CHECKSUM, v);
  }
  /** Echo identifier. */
  get echoIdent(): number {
    return getU16(this.buffer, F.ECHO_IDENT);
  }
  set echoIdent(v: number) {
    setU16(this.buffer, F.ECHO_IDENT, v);
  }
  /** Echo sequence number. */
  get echoSeqNo(): number {
    return getU16(this.buffer, F.ECHO_SEQNO);
  }
  set echoSeqNo(v: number) {
    setU16(this.buffer, F.ECHO_SEQNO, v);
  }
  /** Bytes 4..7: MTU (Packet Too Big), Pointer (Parameter Problem), NA flags, or reserved. */
  get word1(): number {
    return getU32(this.buffer, F.BODY);
  }
  set word1(v: number) {
    setU32(this.buffer, F.BODY, v);
  }
  /** Everything after byte 8 (a view): echo data, or the invoking packet of an error. */
  get data(): Uint8Array {
    return this.buffer.subarray(F.DATA);
  }
  /** Everything after the 4-byte header (a view). */
  get body(): Uint8Array {
    return this.buffer.subarray(F.BODY);
  }
  /** NS/NA/Redirect Target Address (a view). */
  get targetAddr(): Ipv6Address {
    return this.buffer.subarray(F.TARGET, F.TARGET + 16);
  }
  set targetAddr(a: Ipv6Address) {
    assertIpv6Len(a, P);
    this.buffer.set(a, F.TARGET);
  }
  /** The ND options area for RS/RA/NS/NA (empty for other types). */
  get ndiscOptions(): Uint8Array {
    const start = ndiscOptionsOffset(this.msgType);
    return start === undefined ? this.buffer.subarray(0, 0) : this.buffer.subarray(start);
  }

  verifyChecksum(src: IpAddress, dst: IpAddress): boolean {
    const len = this.buffer.length;
    return checksumVerifies(onesSum(this.buffer, 0, len, pseudoHeaderSum(src, dst, IpProtocol.Icmpv6, len)));
  }

  fillChecksum(src: IpAddress, dst: IpAddress): void {
    this.checksum = 0;
    const len = this.buffer.length;
    this.checksum = checksumFinish(onesSum(this.buffer, 0, len, pseudoHeaderSum(src, dst, IpProtocol.Icmpv6, len)));
  }
}

function ndiscOptionsOffset(type: number): number | undefined {
  switch (type) {
    case Icmpv6Type.RouterSolicit:
      return F.RS_OPTIONS;
    case Icmpv6Type.RouterAdvert:
      return F.RA_OPTIONS;
    case Icmpv6Type.NeighborSolicit:
    case Icmpv6Type.NeighborAdvert:
      return F.N_OPTIONS;
    default:
      return undefined;
  }
}

function minLen(type: number): number {
  const nd = ndiscOptionsOffset(type);
  if (nd !== undefined) return nd;
  if (type === Icmpv6Type.Redirect) return 40;
  return 8;
}

// ---------------------------------------------------------------------------
// ND options

export interface NdiscOption {
  type: number;
  /** The whole option including type and length (a view). */
  bytes: Uint8Array;
}

/**
 * Iterate ND options.  Throws `BAD_OPTION` for a zero length or an option
 * running past the area.  Bounded: each step consumes at least 8 bytes.
 */
export function* ndiscOptions(area: Uint8Array): Generator<NdiscOption, void, undefined> {
  let i = 0;
  while (i < area.length) {
    if (i + 2 > area.length) throw new WireError('BAD_OPTION', P, `option header at ${i} truncated`);
    const type = getU8(area, i);
    const len = getU8(area, i + 1) * 8;
    if (len === 0) throw new WireError('BAD_OPTION', P, `option ${type} has length 0`);
    if (i + len > area.length) throw new WireError('BAD_OPTION', P, `option ${type} of ${len} bytes runs past the message`);
    yield { type, bytes: area.subarray(i, i + len) };
    i += len;
  }
}

export interface NdiscPrefixInfo {
  prefixLen: number;
  /** L flag. */
  onLink: boolean;
  /** A flag (SLAAC). */
  autonomous: boolean;
  /** Seconds; 0xffffffff is infinity. */
  validLifetime: number;
  /** Seconds; 0xffffffff is infinity. */
  preferredLifetime: number;
  prefix: Ipv6Address;
}

export interface NdiscRdnss {
  /** Seconds. */
  lifetime: number;
  servers: Ipv6Address[];
}

interface CollectedOptions {
  sourceLinkAddr?: EthernetAddress;
  targetLinkAddr?: EthernetAddress;
  mtu?: number;
  prefixes: NdiscPrefixInfo[];
  rdnss?: NdiscRdnss;
}

function badOpt(detail: string): WireError {
  return new WireError('BAD_OPTION', P, detail);
}

function collectOptions(area: Uint8Array): CollectedOptions {
  const c: CollectedOptions = { prefixes: [] };
  for (const { type, bytes } of ndiscOptions(area)) {
    switch (type) {
      case NdiscOptionType.SourceLinkAddr:
        c.sourceLinkAddr = bytes.slice(2, 8);
        break;
      case NdiscOptionType.TargetLinkAddr:
        c.targetLinkAddr = bytes.slice(2, 8);
        break;
      case NdiscOptionType.PrefixInfo: {
        if (bytes.length !== 32) throw badOpt(`prefix information of ${bytes.length} bytes`);
        const flags = getU8(bytes, 3);
        c.prefixes.push({
          prefixLen: getU8(bytes, 2),
          onLink: (flags & 0x80) !== 0,
          autonomous: (flags & 0x40) !== 0,
          validLifetime: getU32(bytes, 4),
          preferredLifetime: getU32(bytes, 8),
          prefix: bytes.slice(16, 32),
        });
        break;
      }
      case NdiscOptionType.Mtu:
        if (bytes.length !== 8) throw badOpt(`MTU option of ${bytes.length} bytes`);
        c.mtu = getU32(bytes, 4);
        break;
      case NdiscOptionType.Rdnss: {
        if (bytes.length < 24 || (bytes.length - 8) % 16 !== 0) throw badOpt(`RDNSS option of ${bytes.length} bytes`);
        const servers: Ipv6Address[] = [];
        for (let o = 8; o < bytes.length; o += 16) servers.push(bytes.slice(o, o + 16));
        c.rdnss = { lifetime: getU32(bytes, 4), servers };
        break;
      }
      default:
        break; // RFC 4861 §4.6: ignore unknown options.
    }
  }
  return c;
}

// ---------------------------------------------------------------------------
// Repr

export type Icmpv6Repr =
  | { kind: 'echoRequest'; ident: number; seqNo: number; data: Uint8Array }
  | { kind: 'echoReply'; ident: number; seqNo: number; data: Uint8Array }
  /** `header` is the invoking packet's IPv6 header, `data` what follows it. */
  | { kind: 'dstUnreachable'; code: number; header: Ipv6Repr; data: Uint8Array }
  | { kind: 'packetTooBig'; mtu: number; header: Ipv6Repr; data: Uint8Array }
  | { kind: 'timeExceeded'; code: number; header: Ipv6Repr; data: Uint8Array }
  | { kind: 'paramProblem'; code: number; pointer: number; header: Ipv6Repr; data: Uint8Array }
  | { kind: 'routerSolicit'; sourceLinkAddr?: EthernetAddress }
  | {
      kind: 'routerAdvert';
      hopLimit: number;
      managed: boolean;
      other: boolean;
      /** Seconds; 0 means "not a default router". */
      routerLifetime: number;
      /** Milliseconds; 0 means unspecified. */
      reachableTime: number;
      /** Milliseconds; 0 means unspecified. */
      retransTime: number;
      sourceLinkAddr?: EthernetAddress;
      mtu?: number;
      prefixes: NdiscPrefixInfo[];
      rdnss?: NdiscRdnss;
    }
  | { kind: 'neighborSolicit'; target: Ipv6Address; sourceLinkAddr?: EthernetAddress }
  | {
      kind: 'neighborAdvert';
      router: boolean;
      solicited: boolean;
      override: boolean;
      target: Ipv6Address;
      targetLinkAddr?: EthernetAddress;
    }
  /** Any other type (Redirect, MLD, ...): `body` is everything after the checksum. */
  | { kind: 'other'; type: number; code: number; body: Uint8Array };

function parseInvoking(packet: Icmpv6Packet): { header: Ipv6Repr; data: Uint8Array } {
  const inner = Ipv6Packet.checkedHeader(packet.data);
  return { header: Ipv6Repr.parse(inner), data: packet.data.subarray(IPV6_HEADER_LEN) };
}

function requireCodeZero(packet: Icmpv6Packet): void {
  if (packet.msgCode !== 0) throw new WireError('MALFORMED', P, `ND type ${packet.msgType} with code ${packet.msgCode}`);
}

export const Icmpv6Repr = {
  /**
   * `src`/`dst` are the IPv6 addresses (for the pseudo-header checksum).
   * Echo and error data are views; addresses and link-layer addresses are copies.
   */
  parse(packet: Icmpv6Packet, src: IpAddress, dst: IpAddress, opts?: ParseOptions): Icmpv6Repr {
    if (opts?.verifyChecksum !== false && !packet.verifyChecksum(src, dst)) {
      throw new WireError('BAD_CHECKSUM', P, `checksum 0x${packet.checksum.toString(16)}`);
    }
    const type = packet.msgType;
    const code = packet.msgCode;
    switch (type) {
      case Icmpv6Type.EchoRequest:
      case Icmpv6Type.EchoReply:
        if (code !== 0) break;
        return {
          kind: type === Icmpv6Type.EchoRequest ? 'echoRequest' : 'echoReply',
          ident: packet.echoIdent,
          seqNo: packet.echoSeqNo,
          data: packet.data,
        };
      case Icmpv6Type.DstUnreachable:
        return { kind: 'dstUnreachable', code, ...parseInvoking(packet) };
      case Icmpv6Type.PacketTooBig:
        return { kind: 'packetTooBig', mtu: packet.word1, ...parseInvoking(packet) };
      case Icmpv6Type.TimeExceeded:
        return { kind: 'timeExceeded', code, ...parseInvoking(packet) };
      case Icmpv6Type.ParamProblem:
        return { kind: 'paramProblem', code, pointer: packet.word1, ...parseInvoking(packet) };
      case Icmpv6Type.RouterSolicit: {
        requireCodeZero(packet);
        const o = collectOptions(packet.ndiscOptions);
        const r: Icmpv6Repr = { kind: 'routerSolicit' };
        if (o.sourceLinkAddr !== undefined) r.sourceLinkAddr = o.sourceLinkAddr;
        return r;
      }
      case Icmpv6Type.RouterAdvert: {
        requireCodeZero(packet);
        const b = packet.buffer;
        const o = collectOptions(packet.ndiscOptions);
        const flags = getU8(b, F.RA_FLAGS);
        const r: Icmpv6Repr = {
          kind: 'routerAdvert',
          hopLimit: getU8(b, F.RA_HOP_LIMIT),
          managed: (flags & RA_MANAGED) !== 0,
          other: (flags & RA_OTHER) !== 0,
          routerLifetime: getU16(b, F.RA_ROUTER_LT),
          reachableTime: getU32(b, F.RA_REACHABLE),
          retransTime: getU32(b, F.RA_RETRANS),
          prefixes: o.prefixes,
        };
        if (o.sourceLinkAddr !== undefined) r.sourceLinkAddr = o.sourceLinkAddr;
        if (o.mtu !== undefined) r.mtu = o.mtu;
        if (o.rdnss !== undefined) r.rdnss = o.rdnss;
        return r;
      }
      case Icmpv6Type.NeighborSolicit: {
        requireCodeZero(packet);
        const o = collectOptions(packet.ndiscOptions);
        const r: Icmpv6Repr = { kind: 'neighborSolicit', target: packet.targetAddr.slice() };
        if (o.sourceLinkAddr !== undefined) r.sourceLinkAddr = o.sourceLinkAddr;
        return r;
      }
      case Icmpv6Type.NeighborAdvert: {
        requireCodeZero(packet);
        const o = collectOptions(packet.ndiscOptions);
        const w = packet.word1;
        const r: Icmpv6Repr = {
          kind: 'neighborAdvert',
          router: (w & NA_ROUTER) !== 0,
          solicited: (w & NA_SOLICITED) !== 0,
          override: (w & NA_OVERRIDE) !== 0,
          target: packet.targetAddr.slice(),
        };
        if (o.targetLinkAddr !== undefined) r.targetLinkAddr = o.targetLinkAddr;
        return r;
      }
      default:
        break;
    }
    return { kind: 'other', type, code, body: packet.body };
  },

  /** The whole message length. */
  bufferLen(repr: Icmpv6Repr): number {
    switch (repr.kind) {
      case 'echoRequest':
      case 'echoReply':
        return 8 + repr.data.length;
      case 'dstUnreachable':
      case 'packetTooBig':
      case 'timeExceeded':
      case 'paramProblem':
        return 8 + IPV6_HEADER_LEN + repr.data.length;
      case 'routerSolicit':
        return F.RS_OPTIONS + (repr.sourceLinkAddr ? 8 : 0);
      case 'routerAdvert':
        return (
          F.RA_OPTIONS +
          (repr.sourceLinkAddr ? 8 : 0) +
          (repr.mtu !== undefined ? 8 : 0) +
          32 * repr.prefixes.length +
          (repr.rdnss ? 8 + 16 * repr.rdnss.servers.length : 0)
        );
      case 'neighborSolicit':
        return F.N_OPTIONS + (repr.sourceLinkAddr ? 8 : 0);
      case 'neighborAdvert':
        return F.N_OPTIONS + (repr.targetLinkAddr ? 8 : 0);
      case 'other':
        return ICMPV6_HEADER_LEN + repr.body.length;
    }
  },

  /** Write the whole message and its checksum (over the IPv6 pseudo-header of `src`/`dst`). */
  emit(repr: Icmpv6Repr, packet: Icmpv6Packet, src: IpAddress, dst: IpAddress, opts?: EmitOptions): Icmpv6Packet {
    const len = Icmpv6Repr.bufferLen(repr);
    ensureCapacity(packet.buffer, len, P);
    const b = packet.buffer.subarray(0, len);
    // Zero the fixed part (and, for ND, the options, which hold only copies).
    // Echo and error data are not zeroed first: they may alias this buffer
    // (an echo reply emitted in place over its request).
    const isNdisc =
      repr.kind === 'routerSolicit' ||
      repr.kind === 'routerAdvert' ||
      repr.kind === 'neighborSolicit' ||
      repr.kind === 'neighborAdvert';
    b.fill(0, 0, isNdisc ? len : repr.kind === 'other' ? ICMPV6_HEADER_LEN : F.DATA);
    const w = Icmpv6Packet.unchecked(b);
    const lla = (off: number, type: number, mac: EthernetAddress): number => {
      assertMacLen(mac, P);
      b[off] = type;
      b[off + 1] = 1;
      b.set(mac, off + 2);
      return off + 8;
    };
    switch (repr.kind) {
      case 'echoRequest':
      case 'echoReply':
        ensureUint(repr.ident, 0xffff, P, 'ident');
        ensureUint(repr.seqNo, 0xffff, P, 'seqNo');
        w.msgType = repr.kind === 'echoRequest' ? Icmpv6Type.EchoRequest : Icmpv6Type.EchoReply;
        w.echoIdent = repr.ident;
        w.echoSeqNo = repr.seqNo;
        b.set(repr.data, F.DATA);
        break;
      case 'dstUnreachable':
      case 'packetTooBig':
      case 'timeExceeded':
      case 'paramProblem': {
        let word = 0;
        let code = 0;
        if (repr.kind === 'packetTooBig') {
          w.msgType = Icmpv6Type.PacketTooBig;
          word = repr.mtu;
        } else {
          code = repr.code;
          if (repr.kind === 'paramProblem') {
            w.msgType = Icmpv6Type.ParamProblem;
            word = repr.pointer;
          } else {
            w.msgType = repr.kind === 'dstUnreachable' ? Icmpv6Type.DstUnreachable : Icmpv6Type.TimeExceeded;
          }
        }
        ensureUint(code, 0xff, P, 'code');
        ensureUint(word, 0xffffffff, P, repr.kind === 'packetTooBig' ? 'mtu' : 'pointer');
        w.msgCode = code;
        w.word1 = word;
        Ipv6Repr.emitHeader(repr.header, Ipv6Packet.unchecked(b.subarray(F.DATA, F.DATA + IPV6_HEADER_LEN)));
        b.set(repr.data, F.DATA + IPV6_HEADER_LEN);
        break;
      }
      case 'routerSolicit':
        w.msgType = Icmpv6Type.RouterSolicit;
        if (repr.sourceLinkAddr) lla(F.RS_OPTIONS, NdiscOptionType.SourceLinkAddr, repr.sourceLinkAddr);
        break;
      case 'routerAdvert': {
        ensureUint(repr.hopLimit, 0xff, P, 'hopLimit');
        ensureUint(repr.routerLifetime, 0xffff, P, 'routerLifetime');
        ensureUint(repr.reachableTime, 0xffffffff, P, 'reachableTime');
        ensureUint(repr.retransTime, 0xffffffff, P, 'retransTime');
        w.msgType = Icmpv6Type.RouterAdvert;
        setU8(b, F.RA_HOP_LIMIT, repr.hopLimit);
        setU8(b, F.RA_FLAGS, (repr.managed ? RA_MANAGED : 0) | (repr.other ? RA_OTHER : 0));
        setU16(b, F.RA_ROUTER_LT, repr.routerLifetime);
        setU32(b, F.RA_REACHABLE, repr.reachableTime);
        setU32(b, F.RA_RETRANS, repr.retransTime);
        let off: number = F.RA_OPTIONS;
        if (repr.sourceLinkAddr) off = lla(off, NdiscOptionType.SourceLinkAddr, repr.sourceLinkAddr);
        if (repr.mtu !== undefined) {
          ensureUint(repr.mtu, 0xffffffff, P, 'mtu');
          b[off] = NdiscOptionType.Mtu;
          b[off + 1] = 1;
          setU32(b, off + 4, repr.mtu);
          off += 8;
        }
        for (const p of repr.prefixes) {
          ensureUint(p.prefixLen, 128, P, 'prefixLen');
          ensureUint(p.validLifetime, 0xffffffff, P, 'validLifetime');
          ensureUint(p.preferredLifetime, 0xffffffff, P, 'preferredLifetime');
          assertIpv6Len(p.prefix, P);
          b[off] = NdiscOptionType.PrefixInfo;
          b[off + 1] = 4;
          b[off + 2] = p.prefixLen;
          b[off + 3] = (p.onLink ? 0x80 : 0) | (p.autonomous ? 0x40 : 0);
          setU32(b, off + 4, p.validLifetime);
          setU32(b, off + 8, p.preferredLifetime);
          b.set(p.prefix, off + 16);
          off += 32;
        }
        if (repr.rdnss) {
          const n = repr.rdnss.servers.length;
          ensureUint(n, 127, P, 'rdnss.servers.length');
          if (n === 0) throw new WireError('INVALID_REPR', P, 'RDNSS needs at least one server');
          ensureUint(repr.rdnss.lifetime, 0xffffffff, P, 'rdnss.lifetime');
          b[off] = NdiscOptionType.Rdnss;
          b[off + 1] = 1 + 2 * n;
          setU32(b, off + 4, repr.rdnss.lifetime);
          off += 8;
          for (const s of repr.rdnss.servers) {
            assertIpv6Len(s, P);
            b.set(s, off);
            off += 16;
          }
        }
        break;
      }
      case 'neighborSolicit':
        w.msgType = Icmpv6Type.NeighborSolicit;
        w.targetAddr = repr.target;
        if (repr.sourceLinkAddr) lla(F.N_OPTIONS, NdiscOptionType.SourceLinkAddr, repr.sourceLinkAddr);
        break;
      case 'neighborAdvert':
        w.msgType = Icmpv6Type.NeighborAdvert;
        w.word1 =
          ((repr.router ? NA_ROUTER : 0) | (repr.solicited ? NA_SOLICITED : 0) | (repr.override ? NA_OVERRIDE : 0)) >>> 0;
        w.targetAddr = repr.target;
        if (repr.targetLinkAddr) lla(F.N_OPTIONS, NdiscOptionType.TargetLinkAddr, repr.targetLinkAddr);
        break;
      case 'other':
        ensureUint(repr.type, 0xff, P, 'type');
        ensureUint(repr.code, 0xff, P, 'code');
        w.msgType = repr.type;
        w.msgCode = repr.code;
        b.set(repr.body, F.BODY);
        break;
    }
    if (opts?.fillChecksum !== false) w.fillChecksum(src, dst);
    return packet;
  },
};
