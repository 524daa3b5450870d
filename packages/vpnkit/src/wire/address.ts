/**
 * Link and network addresses.
 *
 * Representations are chosen for the hot path:
 *   - `Ipv4Address` is an unsigned 32-bit integer held in a JS number
 *     (`0xc0a84101` is 192.168.65.1): no allocation, `===` compares, usable
 *     directly as a Map key.
 *   - `Ipv6Address` is a 16-byte `Uint8Array`.
 *   - `EthernetAddress` is a 6-byte `Uint8Array`.
 *
 * Each type has a same-named namespace object with `parse(text)` and
 * `format(addr)` (the textual form) plus predicates.  `parse` throws
 * `WireError('BAD_ADDRESS')` on anything it does not accept.
 *
 * The byte-array constants below (`EthernetAddress.BROADCAST`,
 * `Ipv6Address.UNSPECIFIED`, ...) are shared: never mutate them.
 */

import { bytesEqual, getU16, getU32, setU32 } from './bytes.js';
import { WireError } from './error.js';

/** An IPv4 address as an unsigned 32-bit integer (network byte order value). */
export type Ipv4Address = number;
/** An IPv6 address: 16 bytes, network order. */
export type Ipv6Address = Uint8Array;
/** An IEEE 802 MAC address: 6 bytes. */
export type EthernetAddress = Uint8Array;
/** Either IP family; `typeof a === 'number'` tells them apart. */
export type IpAddress = Ipv4Address | Ipv6Address;

function bad(kind: string, text: string): WireError {
  return new WireError('BAD_ADDRESS', kind, JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}...` : text));
}

const DEC_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;

function parseIpv4Text(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    // Leading zeros are rejected: '010' is octal to inet_aton and decimal to others.
    if (!DEC_OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

export const Ipv4Address = {
  UNSPECIFIED: 0 as Ipv4Address,
  BROADCAST: 0xffffffff as Ipv4Address,

  /** Parse dotted-quad decimal, e.g. '192.168.65.1'.  Leading zeros are rejected. */
  parse(text: string): Ipv4Address {
    const v = parseIpv4Text(text);
    if (v === undefined) throw bad('ipv4', text);
    return v;
  },

  format(a: Ipv4Address): string {
    return `${(a >>> 24) & 0xff}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
  },

  /** Read 4 bytes at `offset`.  The caller guarantees they exist. */
  fromBytes(b: Uint8Array, offset = 0): Ipv4Address {
    return getU32(b, offset);
  },

  toBytes(a: Ipv4Address): Uint8Array {
    const out = new Uint8Array(4);
    setU32(out, 0, a);
    return out;
  },

  isUnspecified(a: Ipv4Address): boolean {
    return a === 0;
  },
  isBroadcast(a: Ipv4Address): boolean {
    return a >>> 0 === 0xffffffff;
  },
  /** 224.0.0.0/4 */
  isMulticast(a: Ipv4Address): boolean {
    return a >>> 28 === 0xe;
  },
  /** 127.0.0.0/8 */
  isLoopback(a: Ipv4Address): boolean {
    return a >>> 24 === 127;
  },
  /** 169.254.0.0/16 */
  isLinkLocal(a: Ipv4Address): boolean {
    return a >>> 16 === 0xa9fe;
  },
  /** Neither unspecified, broadcast nor multicast. */
  isUnicast(a: Ipv4Address): boolean {
    return a !== 0 && a >>> 0 !== 0xffffffff && a >>> 28 !== 0xe;
  },

  /** The mask of a prefix length 0..32, e.g. 24 -> 0xffffff00. */
  netmask(prefixLen: number): Ipv4Address {
    if (prefixLen <= 0) return 0;
    if (prefixLen >= 32) return 0xffffffff;
    return (0xffffffff << (32 - prefixLen)) >>> 0;
  },

  /** The prefix length of a contiguous mask, or -1 when the mask has holes. */
  prefixLen(mask: Ipv4Address): number {
    const m = mask >>> 0;
    const inv = ~m >>> 0;
    if ((inv & (inv + 1)) !== 0) return -1;
    return Math.clz32(inv);
  },

  /** True when `a` is inside `network/prefixLen`. */
  inSubnet(a: Ipv4Address, network: Ipv4Address, prefixLen: number): boolean {
    const m = Ipv4Address.netmask(prefixLen);
    return ((a & m) >>> 0) === ((network & m) >>> 0);
  },

  /** The Ethernet multicast MAC of an IPv4 multicast group (RFC 1112 §6.4). */
  multicastMac(a: Ipv4Address): EthernetAddress {
    return Uint8Array.of(0x01, 0x00, 0x5e, (a >>> 16) & 0x7f, (a >>> 8) & 0xff, a & 0xff);
  },
};

// ---------------------------------------------------------------------------
// IPv6 (RFC 4291 §2.2 text input, RFC 5952 canonical output)

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseGroups(text: string, out: number[]): boolean {
  if (text === '') return true;
  const parts = text.split(':');
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] ?? '';
    if (HEX_GROUP.test(p)) {
      out.push(parseInt(p, 16));
    } else if (i === parts.length - 1 && p.includes('.')) {
      const v4 = parseIpv4Text(p);
      if (v4 === undefined) return false;
      out.push(v4 >>> 16, v4 & 0xffff);
    } else {
      return false;
    }
  }
  return true;
}

function isIpv4Mapped(a: Ipv6Address): boolean {
  for (let i = 0; i < 10; i++) if (a[i] !== 0) return false;
  return a[10] === 0xff && a[11] === 0xff;
}

export const Ipv6Address = {
  UNSPECIFIED: new Uint8Array(16) as Ipv6Address,
  LOOPBACK: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1) as Ipv6Address,
  /** ff02::1 */
  LINK_LOCAL_ALL_NODES: Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1) as Ipv6Address,
  /** ff02::2 */
  LINK_LOCAL_ALL_ROUTERS: Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2) as Ipv6Address,

  /**
   * Parse any RFC 4291 §2.2 text form: full, `::`-compressed, and with a
   * trailing dotted-quad (`::ffff:192.0.2.1`).  Zone ids (`%eth0`) are rejected.
   */
  parse(text: string): Ipv6Address {
    const dbl = text.indexOf('::');
    const head: number[] = [];
    const tail: number[] = [];
    if (dbl === -1) {
      if (!parseGroups(text, head) || head.length !== 8) throw bad('ipv6', text);
    } else {
      if (text.indexOf('::', dbl + 1) !== -1) throw bad('ipv6', text);
      const left = text.slice(0, dbl);
      const right = text.slice(dbl + 2);
      // A dotted quad may only end the whole address, never the part before '::'.
      if (left.includes('.')) throw bad('ipv6', text);
      if (!parseGroups(left, head) || !parseGroups(right, tail)) throw bad('ipv6', text);
      if (head.length + tail.length > 7) throw bad('ipv6', text);
    }
    const out = new Uint8Array(16);
    for (let i = 0; i < head.length; i++) {
      out[2 * i] = (head[i] ?? 0) >> 8;
      out[2 * i + 1] = (head[i] ?? 0) & 0xff;
    }
    const start = 8 - tail.length;
    for (let i = 0; i < tail.length; i++) {
      out[2 * (start + i)] = (tail[i] ?? 0) >> 8;
      out[2 * (start + i) + 1] = (tail[i] ?? 0) & 0xff;
    }
    return out;
  },

  /**
   * RFC 5952 canonical text: lower case, no leading zeros, the longest run
   * (first on a tie) of two or more zero groups as `::`, and IPv4-mapped
   * addresses as `::ffff:a.b.c.d` (§5).
   */
  format(a: Ipv6Address): string {
    if (a.length !== 16) return `<bad ipv6 length ${a.length}>`;
    if (isIpv4Mapped(a)) return `::ffff:${Ipv4Address.format(getU32(a, 12))}`;
    let bestStart = -1;
    let bestLen = 0;
    for (let i = 0; i < 8; ) {
      if (getU16(a, 2 * i) !== 0) {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && getU16(a, 2 * j) === 0) j++;
      if (j - i > bestLen) {
        bestStart = i;
        bestLen = j - i;
      }
      i = j;
    }
    if (bestLen < 2) bestStart = -1;
    let s = '';
    for (let i = 0; i < 8; i++) {
      if (i === bestStart) {
        s += '::';
        i += bestLen - 1;
        continue;
      }
      if (s !== '' && !s.endsWith(':')) s += ':';
      s += getU16(a, 2 * i).toString(16);
    }
    return s;
  },

  /** Copy 16 bytes at `offset` into a new address. */
  fromBytes(b: Uint8Array, offset = 0): Ipv6Address {
    return b.slice(offset, offset + 16);
  },

  equals(a: Ipv6Address, b: Ipv6Address): boolean {
    return bytesEqual(a, b);
  },

  isUnspecified(a: Ipv6Address): boolean {
    for (let i = 0; i < 16; i++) if (a[i] !== 0) return false;
    return a.length === 16;
  },
  isLoopback(a: Ipv6Address): boolean {
    for (let i = 0; i < 15; i++) if (a[i] !== 0) return false;
    return a[15] === 1 && a.length === 16;
  },
  /** ff00::/8 */
  isMulticast(a: Ipv6Address): boolean {
    return a[0] === 0xff;
  },
  /** fe80::/10 */
  isLinkLocal(a: Ipv6Address): boolean {
    return a[0] === 0xfe && ((a[1] ?? 0) & 0xc0) === 0x80;
  },
  isIpv4Mapped,

  /** The solicited-node multicast address ff02::1:ffXX:XXXX (RFC 4291 §2.7.1). */
  solicitedNode(a: Ipv6Address): Ipv6Address {
    return Uint8Array.of(0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, a[13] ?? 0, a[14] ?? 0, a[15] ?? 0);
  },

  /** The Ethernet MAC of an IPv6 multicast group: 33:33 + low 32 bits (RFC 2464 §7). */
  multicastMac(a: Ipv6Address): EthernetAddress {
    return Uint8Array.of(0x33, 0x33, a[12] ?? 0, a[13] ?? 0, a[14] ?? 0, a[15] ?? 0);
  },

  /** fe80::/64 with the modified EUI-64 interface id of `mac` (RFC 4291 App. A). */
  linkLocalFromMac(mac: EthernetAddress): Ipv6Address {
    const m = (i: number): number => mac[i] ?? 0;
    return Uint8Array.of(0xfe, 0x80, 0, 0, 0, 0, 0, 0, m(0) ^ 0x02, m(1), m(2), 0xff, 0xfe, m(3), m(4), m(5));
  },
};

// ---------------------------------------------------------------------------
// Ethernet

const MAC_TEXT = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/;

export const EthernetAddress = {
  BROADCAST: Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff) as EthernetAddress,
  ZERO: new Uint8Array(6) as EthernetAddress,

  /** Parse six two-digit hex octets separated by ':' or '-', e.g. '02:50:00:00:00:01'. */
  parse(text: string): EthernetAddress {
    if (!MAC_TEXT.test(text)) throw bad('ethernet', text);
    const out = new Uint8Array(6);
    for (let i = 0; i < 6; i++) out[i] = parseInt(text.slice(3 * i, 3 * i + 2), 16);
    return out;
  },

  /** Lower-case, colon-separated. */
  format(a: EthernetAddress): string {
    let s = '';
    for (let i = 0; i < 6; i++) {
      const v = a[i] ?? 0;
      if (i > 0) s += ':';
      s += (v < 16 ? '0' : '') + v.toString(16);
    }
    return s;
  },

  fromBytes(b: Uint8Array, offset = 0): EthernetAddress {
    return b.slice(offset, offset + 6);
  },

  equals(a: EthernetAddress, b: EthernetAddress): boolean {
    return bytesEqual(a, b);
  },

  isBroadcast(a: EthernetAddress): boolean {
    for (let i = 0; i < 6; i++) if (a[i] !== 0xff) return false;
    return a.length === 6;
  },
  /** Group bit set (includes broadcast). */
  isMulticast(a: EthernetAddress): boolean {
    return ((a[0] ?? 0) & 1) === 1;
  },
  isUnicast(a: EthernetAddress): boolean {
    return ((a[0] ?? 0) & 1) === 0;
  },
  /** Locally administered bit set. */
  isLocal(a: EthernetAddress): boolean {
    return ((a[0] ?? 0) & 2) === 2;
  },
};

// ---------------------------------------------------------------------------
// Either family

export const IpAddress = {
  isIpv4(a: IpAddress): a is Ipv4Address {
    return typeof a === 'number';
  },
  format(a: IpAddress): string {
    return typeof a === 'number' ? Ipv4Address.format(a) : Ipv6Address.format(a);
  },
  /** Parse either family: a string containing ':' is IPv6. */
  parse(text: string): IpAddress {
    return text.includes(':') ? Ipv6Address.parse(text) : Ipv4Address.parse(text);
  },
  equals(a: IpAddress, b: IpAddress): boolean {
    if (typeof a === 'number') return typeof b === 'number' && a >>> 0 === b >>> 0;
    return typeof b !== 'number' && bytesEqual(a, b);
  },
};
