/**
 * ARP (RFC 826), Ethernet / IPv4 only.
 *
 *   Ethernet transmission layer (not necessarily accessible to the user):
 *     48.bit: Ethernet address of destination
 *     48.bit: Ethernet address of sender
 *     16.bit: Protocol type = ether_type$ADDRESS_RESOLUTION
 *   Ethernet packet data:
 *     16.bit: (ar$hrd) Hardware address space (e.g., Ethernet, Packet Radio Net.)
 *     16.bit: (ar$pro) Protocol address space.  For Ethernet hardware, this is
 *             from the set of type fields ether_typ$<protocol>.
 *      8.bit: (ar$hln) byte length of each hardware address
 *      8.bit: (ar$pln) byte length of each protocol address
 *     16.bit: (ar$op)  opcode (ares_op$REQUEST | ares_op$REPLY)
 *     nbytes: (ar$sha) Hardware address of sender of this packet, n from the ar$hln field.
 *     mbytes: (ar$spa) Protocol address of sender of this packet, m from the ar$pln field.
 *     nbytes: (ar$tha) Hardware address of target of this packet (if known).
 *     mbytes: (ar$tpa) Protocol address of target.
 *
 * The view is generic in `hln`/`pln` (its `checked` validates
 * `8 + 2 * (hln + pln)` bytes); `ArpRepr.parse` accepts only hardware type 1
 * (Ethernet, hln 6) with protocol 0x0800 (IPv4, pln 4), i.e. 28 bytes, and
 * opcodes 1 (request) and 2 (reply); anything else is `UNSUPPORTED`.
 */

import type { EthernetAddress, Ipv4Address } from './address.js';
import { getU16, getU32, getU8, setU16, setU32, setU8 } from './bytes.js';
import { assertMacLen, ensureCapacity, ensureUint } from './common.js';
import { EtherType } from './ethernet.js';
import { WireError } from './error.js';

export const ArpOperation = {
  Request: 1,
  Reply: 2,
} as const;
export type ArpOperation = (typeof ArpOperation)[keyof typeof ArpOperation];

/** ar$hrd for Ethernet. */
export const ARP_HARDWARE_ETHERNET = 1;
/** Length of an Ethernet/IPv4 ARP packet. */
export const ARP_ETH_IPV4_LEN = 28;

const F = {
  HTYPE: 0,
  PTYPE: 2,
  HLEN: 4,
  PLEN: 5,
  OPER: 6,
  SHA: 8,
} as const;

const P = 'arp';

export class ArpPacket {
  private constructor(readonly buffer: Uint8Array) {}

  static checked(buffer: Uint8Array): ArpPacket {
    if (buffer.length < F.SHA) throw new WireError('TRUNCATED', P, `packet of ${buffer.length} bytes`);
    const p = new ArpPacket(buffer);
    if (buffer.length < p.packetLen) throw new WireError('TRUNCATED', P, `addresses need ${p.packetLen} bytes`);
    return p;
  }

  static unchecked(buffer: Uint8Array): ArpPacket {
    return new ArpPacket(buffer);
  }

  get hardwareType(): number {
    return getU16(this.buffer, F.HTYPE);
  }
  set hardwareType(v: number) {
    setU16(this.buffer, F.HTYPE, v);
  }
  get protocolType(): number {
    return getU16(this.buffer, F.PTYPE);
  }
  set protocolType(v: number) {
    setU16(this.buffer, F.PTYPE, v);
  }
  get hardwareLen(): number {
    return getU8(this.buffer, F.HLEN);
  }
  set hardwareLen(v: number) {
    setU8(this.buffer, F.HLEN, v);
  }
  get protocolLen(): number {
    return getU8(this.buffer, F.PLEN);
  }
  set protocolLen(v: number) {
    setU8(this.buffer, F.PLEN, v);
  }
  get operation(): number {
    return getU16(this.buffer, F.OPER);
  }
  set operation(v: number) {
    setU16(this.buffer, F.OPER, v);
  }

  /** 8 + 2 * (hln + pln): the bytes the addresses occupy. */
  get packetLen(): number {
    return F.SHA + 2 * (this.hardwareLen + this.protocolLen);
  }

  private get spaOff(): number {
    return F.SHA + this.hardwareLen;
  }
  private get thaOff(): number {
    return this.spaOff + this.protocolLen;
  }
  private get tpaOff(): number {
    return this.thaOff + this.hardwareLen;
  }

  /** Sender hardware address (a view). */
  get senderHardwareAddr(): Uint8Array {
    return this.buffer.subarray(F.SHA, F.SHA + this.hardwareLen);
  }
  set senderHardwareAddr(a: Uint8Array) {
    this.buffer.set(a.subarray(0, this.hardwareLen), F.SHA);
  }
  /** Sender protocol address (a view). */
  get senderProtocolAddr(): Uint8Array {
    return this.buffer.subarray(this.spaOff, this.spaOff + this.protocolLen);
  }
  set senderProtocolAddr(a: Uint8Array) {
    this.buffer.set(a.subarray(0, this.protocolLen), this.spaOff);
  }
  /** Target hardware address (a view). */
  get targetHardwareAddr(): Uint8Array {
    return this.buffer.subarray(this.thaOff, this.thaOff + this.hardwareLen);
  }
  set targetHardwareAddr(a: Uint8Array) {
    this.buffer.set(a.subarray(0, this.hardwareLen), this.thaOff);
  }
  /** Target protocol address (a view). */
  get targetProtocolAddr(): Uint8Array {
    return this.buffer.subarray(this.tpaOff, this.tpaOff + this.protocolLen);
  }
  set targetProtocolAddr(a: Uint8Array) {
    this.buffer.set(a.subarray(0, this.protocolLen), this.tpaOff);
  }

  /** True for the Ethernet/IPv4 layout that `ArpRepr` handles. */
  get isEthernetIpv4(): boolean {
    return (
      this.hardwareType === ARP_HARDWARE_ETHERNET &&
      this.protocolType === EtherType.Ipv4 &&
      this.hardwareLen === 6 &&
      this.protocolLen === 4
    );
  }
}

export interface ArpRepr {
  operation: ArpOperation;
  senderHardwareAddr: EthernetAddress;
  senderProtocolAddr: Ipv4Address;
  targetHardwareAddr: EthernetAddress;
  targetProtocolAddr: Ipv4Address;
}

export const ArpRepr = {
  parse(packet: ArpPacket): ArpRepr {
    if (!packet.isEthernetIpv4) {
      throw new WireError(
        'UNSUPPORTED',
        P,
        `hrd ${packet.hardwareType} pro 0x${packet.protocolType.toString(16)} hln ${packet.hardwareLen} pln ${packet.protocolLen}`,
      );
    }
    const op = packet.operation;
    if (op !== ArpOperation.Request && op !== ArpOperation.Reply) {
      throw new WireError('UNSUPPORTED', P, `operation ${op}`);
    }
    const b = packet.buffer;
    return {
      operation: op,
      senderHardwareAddr: b.slice(8, 14),
      senderProtocolAddr: getU32(b, 14),
      targetHardwareAddr: b.slice(18, 24),
      targetProtocolAddr: getU32(b, 24),
    };
  },

  headerLen(_repr: ArpRepr): number {
    return ARP_ETH_IPV4_LEN;
  },

  bufferLen(_repr: ArpRepr): number {
    return ARP_ETH_IPV4_LEN;
  },

  emit(repr: ArpRepr, packet: ArpPacket): ArpPacket {
    const b = packet.buffer;
    ensureCapacity(b, ARP_ETH_IPV4_LEN, P);
    assertMacLen(repr.senderHardwareAddr, P);
    assertMacLen(repr.targetHardwareAddr, P);
    ensureUint(repr.senderProtocolAddr, 0xffffffff, P, 'senderProtocolAddr');
    ensureUint(repr.targetProtocolAddr, 0xffffffff, P, 'targetProtocolAddr');
    packet.hardwareType = ARP_HARDWARE_ETHERNET;
    packet.protocolType = EtherType.Ipv4;
    packet.hardwareLen = 6;
    packet.protocolLen = 4;
    packet.operation = repr.operation;
    b.set(repr.senderHardwareAddr, 8);
    setU32(b, 14, repr.senderProtocolAddr);
    b.set(repr.targetHardwareAddr, 18);
    setU32(b, 24, repr.targetProtocolAddr);
    return packet;
  },
};
