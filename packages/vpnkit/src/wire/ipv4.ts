/**
 * IPv4 (RFC 791 §3.1), with DSCP/ECN per RFC 2474 / RFC 3168.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |Version|  IHL  |    DSCP   |ECN|          Total Length         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |         Identification        |Flags|      Fragment Offset    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Time to Live |    Protocol   |         Header Checksum       |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                       Source Address                          |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Destination Address                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Options                    |    Padding    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   IHL: "Internet Header Length is the length of the internet header in 32
 *   bit words [...] the minimum value for a correct header is 5."
 *   Total Length: "the length of the datagram, measured in octets, including
 *   internet header and data."
 *   Flags: bit 0 reserved (must be zero), bit 1 DF (Don't Fragment),
 *   bit 2 MF (More Fragments).  Fragment Offset: "measured in units of
 *   8 octets (64 bits)".
 *   Options: "The option field is variable in length [...] Case 1: A single
 *   octet of option-type.  Case 2: An option-type octet, an option-length
 *   octet, and the actual option-data octets.  The option-length octet
 *   counts the option-type octet and the option-length octet as well as the
 *   option-data octets."  Type 0 is End of Option List, type 1 No Operation.
 *
 * `checked` validates version, IHL (>= 5 and within the buffer) and total
 * length (>= IHL*4 and <= buffer; a longer buffer is Ethernet padding and is
 * excluded from `payload`).  `Ipv4Repr.parse` additionally walks the options
 * so a malformed option length is rejected; options are not otherwise
 * interpreted and `emit` never writes any (IHL 5).  The reserved flag bit
 * is readable (`reservedFlag`) but not rejected, and emitted as zero.
 */

import type { Ipv4Address } from './address.js';
import { getU16, getU32, getU8, setU16, setU32, setU8 } from './bytes.js';
import { checksumVerifies, internetChecksum, onesSum } from './checksum.js';
import { ensureCapacity, ensureUint, type EmitOptions, type ParseOptions } from './common.js';
import { WireError } from './error.js';

/** IANA "Assigned Internet Protocol Numbers" used by the stack (also IPv6 Next Header). */
export const IpProtocol = {
  HopByHop: 0,
  Icmp: 1,
  Igmp: 2,
  Tcp: 6,
  Udp: 17,
  Ipv6Route: 43,
  Ipv6Frag: 44,
  Esp: 50,
  Ah: 51,
  Icmpv6: 58,
  Ipv6NoNxt: 59,
  Ipv6Opts: 60,
} as const;

const F = {
  VER_IHL: 0,
  DSCP_ECN: 1,
  LENGTH: 2,
  IDENT: 4,
  FLG_OFF: 6,
  TTL: 8,
  PROTOCOL: 9,
  CHECKSUM: 10,
  SRC: 12,
  DST: 16,
  OPTIONS: 20,
} as const;

const FLAG_RESERVED = 0x8000;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const OFFSET_MASK = 0x1fff;

const P = 'ipv4';

/** Length of an IPv4 header without options. */
export const IPV4_HEADER_LEN = 20;
/** Largest IPv4 header (IHL 15). */
export const IPV4_MAX_HEADER_LEN = 60;

export class Ipv4Packet {
  private constructor(readonly buffer: Uint8Array) {}

  static checked(buffer: Uint8Array): Ipv4Packet {
    return Ipv4Packet.check(buffer, true);
  }

  /**
   * Like `checked`, but only the header must be present: the total length
   * may exceed the buffer.  For the truncated datagram quoted inside an
   * ICMP error.  `payload` is then whatever of it is present.
   */
  static checkedHeader(buffer: Uint8Array): Ipv4Packet {
    return Ipv4Packet.check(buffer, false);
  }

  private static check(buffer: Uint8Array, whole: boolean): Ipv4Packet {
    if (buffer.length < IPV4_HEADER_LEN) throw new WireError('TRUNCATED', P, `header of ${buffer.length} bytes`);
    const p = new Ipv4Packet(buffer);
    if (p.version !== 4) throw new WireError('BAD_VERSION', P, `version ${p.version}`);
    const hl = p.headerLen;
    if (hl < IPV4_HEADER_LEN) throw new WireError('BAD_HEADER_LEN', P, `IHL ${hl >> 2}`);
    if (buffer.length < hl) throw new WireError('TRUNCATED', P, `options: IHL says ${hl} bytes, have ${buffer.length}`);
    const total = p.totalLen;
    if (total < hl) throw new WireError('BAD_LENGTH', P, `total length ${total} < header length ${hl}`);
    if (whole && buffer.length < total) {
      throw new WireError('TRUNCATED', P, `total length ${total}, have ${buffer.length}`);
    }
    return p;
  }

  static unchecked(buffer: Uint8Array): Ipv4Packet {
    return new Ipv4Packet(buffer);
  }

  get version(): number {
    return getU8(this.buffer, F.VER_IHL) >> 4;
  }
  set version(v: number) {
    setU8(this.buffer, F.VER_IHL, ((v & 0xf) << 4) | (getU8(this.buffer, F.VER_IHL) & 0x0f));
  }

  /** Header length in bytes (IHL * 4). */
  get headerLen(): number {
    return (getU8(this.buffer, F.VER_IHL) & 0x0f) * 4;
  }
  /** Set in bytes; must be a multiple of 4 in [20, 60]. */
  set headerLen(v: number) {
    setU8(this.buffer, F.VER_IHL, (getU8(this.buffer, F.VER_IHL) & 0xf0) | ((v >> 2) & 0x0f));
  }

  get dscp(): number {
    return getU8(this.buffer, F.DSCP_ECN) >> 2;
  }
  set dscp(v: number) {
    setU8(this.buffer, F.DSCP_ECN, ((v & 0x3f) << 2) | (getU8(this.buffer, F.DSCP_ECN) & 0x03));
  }

  get ecn(): number {
    return getU8(this.buffer, F.DSCP_ECN) & 0x03;
  }
  set ecn(v: number) {
    setU8(this.buffer, F.DSCP_ECN, (getU8(this.buffer, F.DSCP_ECN) & 0xfc) | (v & 0x03));
  }

  get totalLen(): number {
    return getU16(this.buffer, F.LENGTH);
  }
  set totalLen(v: number) {
    setU16(this.buffer, F.LENGTH, v);
  }

  get ident(): number {
    return getU16(this.buffer, F.IDENT);
  }
  set ident(v: number) {
    setU16(this.buffer, F.IDENT, v);
  }

  /** The reserved ("evil") flag bit; must be zero. */
  get reservedFlag(): boolean {
    return (getU16(this.buffer, F.FLG_OFF) & FLAG_RESERVED) !== 0;
  }

  get dontFrag(): boolean {
    return (getU16(this.buffer, F.FLG_OFF) & FLAG_DF) !== 0;
  }
  set dontFrag(v: boolean) {
    const w = getU16(this.buffer, F.FLG_OFF);
    setU16(this.buffer, F.FLG_OFF, v ? w | FLAG_DF : w & ~FLAG_DF);
  }

  get moreFrags(): boolean {
    return (getU16(this.buffer, F.FLG_OFF) & FLAG_MF) !== 0;
  }
  set moreFrags(v: boolean) {
    const w = getU16(this.buffer, F.FLG_OFF);
    setU16(this.buffer, F.FLG_OFF, v ? w | FLAG_MF : w & ~FLAG_MF);
  }

  /** Fragment offset in BYTES (the field is in 8-byte units). */
  get fragOffset(): number {
    return (getU16(this.buffer, F.FLG_OFF) & OFFSET_MASK) * 8;
  }
  /** Set in bytes; the low 3 bits are dropped. */
  set fragOffset(v: number) {
    const w = getU16(this.buffer, F.FLG_OFF);
    setU16(this.buffer, F.FLG_OFF, (w & ~OFFSET_MASK) | ((v >>> 3) & OFFSET_MASK));
  }

  /** True when MF is set or the offset is non-zero. */
  get isFragment(): boolean {
    return (getU16(this.buffer, F.FLG_OFF) & (FLAG_MF | OFFSET_MASK)) !== 0;
  }

  get ttl(): number {
    return getU8(this.buffer, F.TTL);
  }
  set ttl(v: number) {
    setU8(this.buffer, F.TTL, v);
  }

  get protocol(): number {
    return getU8(this.buffer, F.PROTOCOL);
  }
  set protocol(v: number) {
    setU8(this.buffer, F.PROTOCOL, v);
  }

  get checksum(): number {
    return getU16(this.buffer, F.CHECKSUM);
  }
  set checksum(v: number) {
    setU16(this.buffer, F.CHECKSUM, v);
  }

  get src(): Ipv4Address {
    return getU32(this.buffer, F.SRC);
  }
  set src(v: Ipv4Address) {
    setU32(this.buffer, F.SRC, v);
  }

  get dst(): Ipv4Address {
    return getU32(this.buffer, F.DST);
  }
  set dst(v: Ipv4Address) {
    setU32(this.buffer, F.DST, v);
  }

  /** The options area (a view; empty when IHL is 5). */
  get options(): Uint8Array {
    return this.buffer.subarray(F.OPTIONS, Math.max(F.OPTIONS, this.headerLen));
  }

  /** The data after the header up to the total length (a view). */
  get payload(): Uint8Array {
    const hl = this.headerLen;
    return this.buffer.subarray(hl, Math.max(hl, this.totalLen));
  }

  /** True when the header checksum is correct. */
  verifyChecksum(): boolean {
    return checksumVerifies(onesSum(this.buffer, 0, this.headerLen));
  }

  /** Compute and write the header checksum. */
  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.buffer, 0, this.headerLen);
  }
}

/**
 * Walk the RFC 791 option list and throw `BAD_OPTION` on a malformed length.
 * Bounded by the options area (at most 40 bytes, so at most 40 steps).
 */
export function validateIpv4Options(options: Uint8Array): void {
  let i = 0;
  while (i < options.length) {
    const type = options[i] ?? 0;
    if (type === 0) return; // End of Option List: the rest is padding.
    if (type === 1) {
      i++;
      continue;
    }
    if (i + 1 >= options.length) throw new WireError('BAD_OPTION', P, `option ${type} has no length octet`);
    const len = options[i + 1] ?? 0;
    if (len < 2 || i + len > options.length) throw new WireError('BAD_OPTION', P, `option ${type} has length ${len}`);
    i += len;
  }
}

export interface Ipv4Repr {
  src: Ipv4Address;
  dst: Ipv4Address;
  protocol: number;
  /** Bytes after the header (total length - header length). */
  payloadLen: number;
  ttl: number;
  /** Default 0. */
  dscp?: number;
  /** Default 0. */
  ecn?: number;
  /** Identification; default 0. */
  ident?: number;
  /** Default false. */
  dontFrag?: boolean;
  /** Default false. */
  moreFrags?: boolean;
  /** Fragment offset in bytes (a multiple of 8); default 0. */
  fragOffset?: number;
}

export const Ipv4Repr = {
  /**
   * Read the header.  Throws `BAD_CHECKSUM` (unless disabled) and
   * `BAD_OPTION`.  Fragments are NOT rejected: check `moreFrags` /
   * `fragOffset` before treating the payload as a whole transport segment.
   */
  parse(packet: Ipv4Packet, opts?: ParseOptions): Ipv4Repr {
    if (opts?.verifyChecksum !== false && !packet.verifyChecksum()) {
      throw new WireError('BAD_CHECKSUM', P, `header checksum 0x${packet.checksum.toString(16)}`);
    }
    validateIpv4Options(packet.options);
    return {
      src: packet.src,
      dst: packet.dst,
      protocol: packet.protocol,
      payloadLen: packet.totalLen - packet.headerLen,
      ttl: packet.ttl,
      dscp: packet.dscp,
      ecn: packet.ecn,
      ident: packet.ident,
      dontFrag: packet.dontFrag,
      moreFrags: packet.moreFrags,
      fragOffset: packet.fragOffset,
    };
  },

  /** Header bytes `emit` writes (always 20: no options are emitted). */
  headerLen(_repr: Ipv4Repr): number {
    return IPV4_HEADER_LEN;
  },

  /** The whole datagram: header + payload. */
  bufferLen(repr: Ipv4Repr): number {
    return IPV4_HEADER_LEN + repr.payloadLen;
  },

  /**
   * Write the header (and its checksum) into `packet`, whose buffer must
   * hold `bufferLen(repr)` bytes; the payload goes into `packet.payload`,
   * before or after (the header checksum covers only the header).
   */
  emit(repr: Ipv4Repr, packet: Ipv4Packet, opts?: EmitOptions): Ipv4Packet {
    ensureUint(repr.payloadLen, 0xffff - IPV4_HEADER_LEN, P, 'payloadLen');
    ensureCapacity(packet.buffer, IPV4_HEADER_LEN + repr.payloadLen, P);
    return Ipv4Repr.emitHeader(repr, packet, opts);
  },

  /**
   * Like `emit`, but the buffer need only hold the 20-byte header: for
   * quoting a (truncated) datagram inside an ICMP error.
   */
  emitHeader(repr: Ipv4Repr, packet: Ipv4Packet, opts?: EmitOptions): Ipv4Packet {
    const total = IPV4_HEADER_LEN + repr.payloadLen;
    ensureUint(repr.payloadLen, 0xffff - IPV4_HEADER_LEN, P, 'payloadLen');
    ensureCapacity(packet.buffer, IPV4_HEADER_LEN, P);
    ensureUint(repr.src, 0xffffffff, P, 'src');
    ensureUint(repr.dst, 0xffffffff, P, 'dst');
    ensureUint(repr.protocol, 0xff, P, 'protocol');
    ensureUint(repr.ttl, 0xff, P, 'ttl');
    const fragOffset = repr.fragOffset ?? 0;
    ensureUint(fragOffset, OFFSET_MASK * 8, P, 'fragOffset');
    if (fragOffset % 8 !== 0) throw new WireError('INVALID_REPR', P, `fragOffset ${fragOffset} is not a multiple of 8`);
    const dscp = repr.dscp ?? 0;
    const ecn = repr.ecn ?? 0;
    const ident = repr.ident ?? 0;
    ensureUint(dscp, 0x3f, P, 'dscp');
    ensureUint(ecn, 3, P, 'ecn');
    ensureUint(ident, 0xffff, P, 'ident');
    const b = packet.buffer;
    setU8(b, F.VER_IHL, 0x45);
    setU8(b, F.DSCP_ECN, (dscp << 2) | ecn);
    setU16(b, F.LENGTH, total);
    setU16(b, F.IDENT, ident);
    setU16(b, F.FLG_OFF, (repr.dontFrag ? FLAG_DF : 0) | (repr.moreFrags ? FLAG_MF : 0) | (fragOffset >>> 3));
    setU8(b, F.TTL, repr.ttl);
    setU8(b, F.PROTOCOL, repr.protocol);
    setU16(b, F.CHECKSUM, 0);
    setU32(b, F.SRC, repr.src);
    setU32(b, F.DST, repr.dst);
    if (opts?.fillChecksum !== false) packet.fillChecksum();
    return packet;
  },
};
