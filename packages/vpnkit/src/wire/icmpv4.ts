/**
 * ICMP for IPv4 (RFC 792), with the RFC 1191 Next-Hop MTU.
 *
 *   Echo or Echo Reply Message
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |     Code      |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |           Identifier          |        Sequence Number        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Data ...
 *    +-+-+-+-+-
 *       Type 8 for echo message; 0 for echo reply message.
 *
 *   Destination Unreachable Message (type 3) / Time Exceeded Message (type 11)
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |     Code      |          Checksum             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                             unused                            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |      Internet Header + 64 bits of Original Data Datagram      |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *   For Destination Unreachable code 4 ("fragmentation needed and DF set")
 *   RFC 1191 §4 puts the Next-Hop MTU in the low-order 16 bits of "unused".
 *   "The checksum is the 16-bit ones's complement of the one's complement
 *   sum of the ICMP message starting with the ICMP Type."
 *
 * The quoted datagram is parsed leniently: its IPv4 header must be complete
 * and followed by at least 8 bytes, but its Total Length may exceed what is
 * quoted, and its checksum is not verified.  Other message types parse as
 * `kind: 'other'` so callers can ignore them.
 */

import { getU16, getU32, getU8, setU16, setU32, setU8 } from './bytes.js';
import { checksumVerifies, internetChecksum, onesSum } from './checksum.js';
import { ensureCapacity, ensureUint, type EmitOptions, type ParseOptions } from './common.js';
import { WireError } from './error.js';
import { IPV4_HEADER_LEN, Ipv4Packet, Ipv4Repr } from './ipv4.js';

export const Icmpv4Type = {
  EchoReply: 0,
  DstUnreachable: 3,
  Redirect: 5,
  EchoRequest: 8,
  TimeExceeded: 11,
  ParamProblem: 12,
} as const;

/** Destination Unreachable codes (RFC 792, RFC 1122 §3.2.2.1, RFC 1812 §5.2.7.1). */
export const Icmpv4DstUnreachable = {
  NetUnreachable: 0,
  HostUnreachable: 1,
  ProtoUnreachable: 2,
  PortUnreachable: 3,
  FragRequired: 4,
  SrcRouteFailed: 5,
  DstNetUnknown: 6,
  DstHostUnknown: 7,
  SrcHostIsolated: 8,
  NetProhibited: 9,
  HostProhibited: 10,
  NetUnreachToS: 11,
  HostUnreachToS: 12,
  CommProhibited: 13,
  HostPrecedViol: 14,
  PrecedCutoff: 15,
} as const;

/** Time Exceeded codes (RFC 792). */
export const Icmpv4TimeExceeded = {
  TtlExpired: 0,
  FragExpired: 1,
} as const;

const F = {
  TYPE: 0,
  CODE: 1,
  CHECKSUM: 2,
  ECHO_IDENT: 4,
  ECHO_SEQNO: 6,
  REST: 4,
  NEXT_HOP_MTU: 6,
  DATA: 8,
} as const;

const P = 'icmpv4';

export const ICMPV4_HEADER_LEN = 8;

export class Icmpv4Packet {
  private constructor(readonly buffer: Uint8Array) {}

  /** The buffer must be exactly the ICMP message (the IP payload). */
  static checked(buffer: Uint8Array): Icmpv4Packet {
    if (buffer.length < ICMPV4_HEADER_LEN) throw new WireError('TRUNCATED', P, `header of ${buffer.length} bytes`);
    return new Icmpv4Packet(buffer);
  }

  static unchecked(buffer: Uint8Array): Icmpv4Packet {
    return new Icmpv4Packet(buffer);
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
  /** Bytes 4..7 ("rest of header") as one 32-bit value. */
  get rest(): number {
    return getU32(this.buffer, F.REST);
  }
  set rest(v: number) {
    setU32(this.buffer, F.REST, v);
  }
  /** RFC 1191 Next-Hop MTU (Destination Unreachable code 4). */
  get nextHopMtu(): number {
    return getU16(this.buffer, F.NEXT_HOP_MTU);
  }
  set nextHopMtu(v: number) {
    setU16(this.buffer, F.NEXT_HOP_MTU, v);
  }
  /** Everything after the 8-byte header (a view). */
  get data(): Uint8Array {
    return this.buffer.subarray(F.DATA);
  }

  verifyChecksum(): boolean {
    return checksumVerifies(onesSum(this.buffer));
  }

  fillChecksum(): void {
    this.checksum = 0;
    this.checksum = internetChecksum(this.buffer);
  }
}

export type Icmpv4Repr =
  | { kind: 'echoRequest'; ident: number; seqNo: number; data: Uint8Array }
  | { kind: 'echoReply'; ident: number; seqNo: number; data: Uint8Array }
  | {
      kind: 'dstUnreachable';
      code: number;
      /** RFC 1191 Next-Hop MTU; 0 unless code is 4. */
      nextHopMtu: number;
      /** The quoted IPv4 header (its payloadLen is the original datagram's). */
      header: Ipv4Repr;
      /** The quoted bytes after that header (at least 8). */
      data: Uint8Array;
    }
  | { kind: 'timeExceeded'; code: number; header: Ipv4Repr; data: Uint8Array }
  /** Any other type: `rest` is bytes 4..7, `data` what follows. */
  | { kind: 'other'; type: number; code: number; rest: number; data: Uint8Array };

function parseQuoted(data: Uint8Array): { header: Ipv4Repr; data: Uint8Array } {
  const inner = Ipv4Packet.checkedHeader(data);
  const header = Ipv4Repr.parse(inner, { verifyChecksum: false });
  const rest = data.subarray(inner.headerLen);
  if (rest.length < 8) throw new WireError('TRUNCATED', P, `quoted datagram has ${rest.length} data bytes, need 8`);
  return { header, data: rest };
}

export const Icmpv4Repr = {
  /** Data fields are views into the packet. */
  parse(packet: Icmpv4Packet, opts?: ParseOptions): Icmpv4Repr {
    if (opts?.verifyChecksum !== false && !packet.verifyChecksum()) {
      throw new WireError('BAD_CHECKSUM', P, `checksum 0x${packet.checksum.toString(16)}`);
    }
    const type = packet.msgType;
    const code = packet.msgCode;
    switch (type) {
      case Icmpv4Type.EchoRequest:
      case Icmpv4Type.EchoReply:
        if (code !== 0) break;
        return {
          kind: type === Icmpv4Type.EchoRequest ? 'echoRequest' : 'echoReply',
          ident: packet.echoIdent,
          seqNo: packet.echoSeqNo,
          data: packet.data,
        };
      case Icmpv4Type.DstUnreachable:
        return { kind: 'dstUnreachable', code, nextHopMtu: packet.nextHopMtu, ...parseQuoted(packet.data) };
      case Icmpv4Type.TimeExceeded:
        return { kind: 'timeExceeded', code, ...parseQuoted(packet.data) };
      default:
        break;
    }
    return { kind: 'other', type, code, rest: packet.rest, data: packet.data };
  },

  headerLen(_repr: Icmpv4Repr): number {
    return ICMPV4_HEADER_LEN;
  },

  bufferLen(repr: Icmpv4Repr): number {
    switch (repr.kind) {
      case 'dstUnreachable':
      case 'timeExceeded':
        return ICMPV4_HEADER_LEN + IPV4_HEADER_LEN + repr.data.length;
      default:
        return ICMPV4_HEADER_LEN + repr.data.length;
    }
  },

  /** Write the whole message (data copied) and its checksum. */
  emit(repr: Icmpv4Repr, packet: Icmpv4Packet, opts?: EmitOptions): Icmpv4Packet {
    const len = Icmpv4Repr.bufferLen(repr);
    ensureCapacity(packet.buffer, len, P);
    const b = packet.buffer;
    let dataOff: number = F.DATA;
    switch (repr.kind) {
      case 'echoRequest':
      case 'echoReply':
        ensureUint(repr.ident, 0xffff, P, 'ident');
        ensureUint(repr.seqNo, 0xffff, P, 'seqNo');
        packet.msgType = repr.kind === 'echoRequest' ? Icmpv4Type.EchoRequest : Icmpv4Type.EchoReply;
        packet.msgCode = 0;
        packet.echoIdent = repr.ident;
        packet.echoSeqNo = repr.seqNo;
        break;
      case 'dstUnreachable':
      case 'timeExceeded': {
        ensureUint(repr.code, 0xff, P, 'code');
        const mtu = repr.kind === 'dstUnreachable' ? repr.nextHopMtu : 0;
        ensureUint(mtu, 0xffff, P, 'nextHopMtu');
        packet.msgType = repr.kind === 'dstUnreachable' ? Icmpv4Type.DstUnreachable : Icmpv4Type.TimeExceeded;
        packet.msgCode = repr.code;
        packet.rest = mtu;
        Ipv4Repr.emitHeader(repr.header, Ipv4Packet.unchecked(b.subarray(F.DATA, F.DATA + IPV4_HEADER_LEN)));
        dataOff = F.DATA + IPV4_HEADER_LEN;
        break;
      }
      case 'other':
        ensureUint(repr.type, 0xff, P, 'type');
        ensureUint(repr.code, 0xff, P, 'code');
        ensureUint(repr.rest, 0xffffffff, P, 'rest');
        packet.msgType = repr.type;
        packet.msgCode = repr.code;
        packet.rest = repr.rest;
        break;
    }
    b.set(repr.data, dataOff);
    packet.checksum = 0;
    if (opts?.fillChecksum !== false) {
      Icmpv4Packet.unchecked(b.subarray(0, len)).fillChecksum();
    }
    return packet;
  },
};
