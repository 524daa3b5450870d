/**
 * Ethernet II frames (DIX / IEEE 802.3 Clause 3.2.6 "Length/Type" >= 0x0600),
 * optionally with one IEEE 802.1Q VLAN tag.  The FCS is never present: links
 * hand us frames with it already stripped.
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Destination MAC address                    |
 *    +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                               |                               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 *    |                      Source MAC address                       |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |           EtherType           |   Payload (46-1500 bytes) ...
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * 802.1Q tagged frame: EtherType 0x8100 (the TPID) is followed by a 16-bit
 * Tag Control Information field (PCP:3 DEI:1 VID:12) and then the real
 * EtherType, so the header is 18 bytes.  One tag is recognised; stacked tags
 * (QinQ: 0x88a8, 0x9100, or 0x8100 inside 0x8100) are rejected with
 * `WireError('UNSUPPORTED')`.
 *
 * Values below 0x0600 in the EtherType position are IEEE 802.3 lengths (LLC
 * frames).  They are not rejected here; `etherType` simply returns them and
 * upper layers treat them as an unknown protocol.
 */

import type { EthernetAddress } from './address.js';
import { getU16, setU16 } from './bytes.js';
import { assertMacLen, ensureCapacity, ensureUint } from './common.js';
import { WireError } from './error.js';

export const EtherType = {
  Ipv4: 0x0800,
  Arp: 0x0806,
  Vlan: 0x8100,
  Ipv6: 0x86dd,
  QinQ: 0x88a8,
  QinQLegacy: 0x9100,
} as const;

const F = {
  DST: 0,
  SRC: 6,
  ETHERTYPE: 12,
  PAYLOAD: 14,
  VLAN_TCI: 14,
  VLAN_ETHERTYPE: 16,
  VLAN_PAYLOAD: 18,
} as const;

const P = 'ethernet';

/** Length of an untagged Ethernet II header. */
export const ETHERNET_HEADER_LEN = 14;
/** Length of an 802.1Q-tagged header. */
export const ETHERNET_VLAN_HEADER_LEN = 18;

function isTagType(t: number): boolean {
  return t === EtherType.Vlan || t === EtherType.QinQ || t === EtherType.QinQLegacy;
}

/** A zero-copy view of an Ethernet frame. */
export class EthernetFrame {
  private constructor(readonly buffer: Uint8Array) {}

  /** Validate lengths (and reject stacked VLAN tags) before any getter runs. */
  static checked(buffer: Uint8Array): EthernetFrame {
    if (buffer.length < F.PAYLOAD) throw new WireError('TRUNCATED', P, `frame of ${buffer.length} bytes`);
    const t = getU16(buffer, F.ETHERTYPE);
    if (t === EtherType.Vlan) {
      if (buffer.length < F.VLAN_PAYLOAD) throw new WireError('TRUNCATED', P, '802.1Q tag');
      if (isTagType(getU16(buffer, F.VLAN_ETHERTYPE))) throw new WireError('UNSUPPORTED', P, 'stacked VLAN tags');
    } else if (t === EtherType.QinQ || t === EtherType.QinQLegacy) {
      throw new WireError('UNSUPPORTED', P, 'QinQ service tag');
    }
    return new EthernetFrame(buffer);
  }

  /** Wrap a buffer without validation (for emitting into a fresh buffer). */
  static unchecked(buffer: Uint8Array): EthernetFrame {
    return new EthernetFrame(buffer);
  }

  /** Destination MAC (a view into the frame). */
  get dstAddr(): EthernetAddress {
    return this.buffer.subarray(F.DST, F.DST + 6);
  }
  set dstAddr(a: EthernetAddress) {
    assertMacLen(a, P);
    this.buffer.set(a, F.DST);
  }

  /** Source MAC (a view into the frame). */
  get srcAddr(): EthernetAddress {
    return this.buffer.subarray(F.SRC, F.SRC + 6);
  }
  set srcAddr(a: EthernetAddress) {
    assertMacLen(a, P);
    this.buffer.set(a, F.SRC);
  }

  /** The raw EtherType field at offset 12 (0x8100 for a tagged frame). */
  get etherType(): number {
    return getU16(this.buffer, F.ETHERTYPE);
  }
  set etherType(v: number) {
    setU16(this.buffer, F.ETHERTYPE, v);
  }

  get isVlanTagged(): boolean {
    return this.etherType === EtherType.Vlan;
  }

  /** 802.1Q Tag Control Information (only meaningful when tagged). */
  get vlanTci(): number {
    return getU16(this.buffer, F.VLAN_TCI);
  }
  set vlanTci(v: number) {
    setU16(this.buffer, F.VLAN_TCI, v);
  }

  /** The EtherType after the 802.1Q tag (only meaningful when tagged). */
  get vlanEtherType(): number {
    return getU16(this.buffer, F.VLAN_ETHERTYPE);
  }
  set vlanEtherType(v: number) {
    setU16(this.buffer, F.VLAN_ETHERTYPE, v);
  }

  /** The EtherType of the payload, looking through one VLAN tag. */
  get payloadEtherType(): number {
    return this.isVlanTagged ? this.vlanEtherType : this.etherType;
  }

  get headerLen(): number {
    return this.isVlanTagged ? F.VLAN_PAYLOAD : F.PAYLOAD;
  }

  /** The payload (a view; includes any trailing padding of short frames). */
  get payload(): Uint8Array {
    return this.buffer.subarray(this.headerLen);
  }
}

export interface VlanTag {
  /** Priority code point, 0..7. */
  pcp: number;
  /** Drop eligible indicator. */
  dei: boolean;
  /** VLAN identifier, 0..4095. */
  vid: number;
}

export interface EthernetRepr {
  src: EthernetAddress;
  dst: EthernetAddress;
  /** EtherType of the payload (never 0x8100: a tag is described by `vlan`). */
  etherType: number;
  vlan?: VlanTag;
}

export const EthernetRepr = {
  /** Addresses are copied; the payload stays in the frame (`frame.payload`). */
  parse(frame: EthernetFrame): EthernetRepr {
    const repr: EthernetRepr = {
      src: frame.srcAddr.slice(),
      dst: frame.dstAddr.slice(),
      etherType: frame.payloadEtherType,
    };
    if (frame.isVlanTagged) {
      const tci = frame.vlanTci;
      repr.vlan = { pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff };
    }
    return repr;
  },

  /**
   * Bytes `emit` writes: the header only.  The frame length is
   * `headerLen(repr) + payload length`; the payload is written by the caller
   * into `frame.payload` (typically by emitting the next layer there).
   */
  headerLen(repr: EthernetRepr): number {
    return repr.vlan === undefined ? ETHERNET_HEADER_LEN : ETHERNET_VLAN_HEADER_LEN;
  },

  emit(repr: EthernetRepr, frame: EthernetFrame): EthernetFrame {
    ensureCapacity(frame.buffer, EthernetRepr.headerLen(repr), P);
    ensureUint(repr.etherType, 0xffff, P, 'etherType');
    if (isTagType(repr.etherType)) throw new WireError('INVALID_REPR', P, 'use repr.vlan for a VLAN tag');
    frame.dstAddr = repr.dst;
    frame.srcAddr = repr.src;
    if (repr.vlan === undefined) {
      frame.etherType = repr.etherType;
    } else {
      const { pcp, dei, vid } = repr.vlan;
      ensureUint(pcp, 7, P, 'vlan.pcp');
      ensureUint(vid, 0xfff, P, 'vlan.vid');
      frame.etherType = EtherType.Vlan;
      frame.vlanTci = (pcp << 13) | (dei ? 0x1000 : 0) | vid;
      frame.vlanEtherType = repr.etherType;
    }
    return frame;
  },
};
