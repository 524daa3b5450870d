/**
 * Whole-frame parsing: Ethernet -> ARP | IPv4 | IPv6 -> TCP | UDP | ICMP.
 *
 * `parseFrame` returns a value or throws a `WireError`; it never throws
 * anything else, whatever the bytes (the fuzz test holds it to that).
 * Payloads in the result are views into `buf`.
 */

import type { IpAddress } from './address.js';
import { ArpPacket, ArpRepr } from './arp.js';
import type { ParseOptions } from './common.js';
import { EtherType, EthernetFrame, EthernetRepr } from './ethernet.js';
import { WireError } from './error.js';
import { Icmpv4Packet, Icmpv4Repr } from './icmpv4.js';
import { Icmpv6Packet, Icmpv6Repr } from './icmpv6.js';
import { IpProtocol, Ipv4Packet, Ipv4Repr } from './ipv4.js';
import { Ipv6Packet, Ipv6Repr, isIpv6Fragmented, walkIpv6ExtHeaders, type Ipv6UpperLayer } from './ipv6.js';
import { TcpPacket, TcpRepr } from './tcp.js';
import { UdpPacket, UdpRepr } from './udp.js';

/** Prefix of the message of a `WireError` that wraps an unexpected exception. */
export const INTERNAL_ERROR_PREFIX = 'internal error: ';

export type TransportRepr =
  | { kind: 'tcp'; tcp: TcpRepr }
  | { kind: 'udp'; udp: UdpRepr }
  | { kind: 'icmpv4'; icmp: Icmpv4Repr }
  | { kind: 'icmpv6'; icmp: Icmpv6Repr }
  /** A fragment of a datagram: `payload` is fragment data, to be reassembled. */
  | { kind: 'fragment'; protocol: number; payload: Uint8Array }
  /** A protocol this parser does not decode (including IPv6 No Next Header). */
  | { kind: 'unknown'; protocol: number; payload: Uint8Array };

export type NetworkRepr =
  | { kind: 'arp'; arp: ArpRepr }
  | { kind: 'ipv4'; ip: Ipv4Repr; transport: TransportRepr }
  | { kind: 'ipv6'; ip: Ipv6Repr; ext: Ipv6UpperLayer; transport: TransportRepr }
  | { kind: 'unknown'; etherType: number; payload: Uint8Array };

export interface FrameRepr {
  ethernet: EthernetRepr;
  network: NetworkRepr;
}

/** Decode the transport header of an unfragmented IP payload. */
export function parseTransport(
  protocol: number,
  payload: Uint8Array,
  src: IpAddress,
  dst: IpAddress,
  opts?: ParseOptions,
): TransportRepr {
  const v6 = typeof src !== 'number';
  switch (protocol) {
    case IpProtocol.Tcp:
      return { kind: 'tcp', tcp: TcpRepr.parse(TcpPacket.checked(payload), src, dst, opts) };
    case IpProtocol.Udp:
      return { kind: 'udp', udp: UdpRepr.parse(UdpPacket.checked(payload), src, dst, opts) };
    case IpProtocol.Icmp:
      if (!v6) return { kind: 'icmpv4', icmp: Icmpv4Repr.parse(Icmpv4Packet.checked(payload), opts) };
      break;
    case IpProtocol.Icmpv6:
      if (v6) return { kind: 'icmpv6', icmp: Icmpv6Repr.parse(Icmpv6Packet.checked(payload), src, dst, opts) };
      break;
    default:
      break;
  }
  return { kind: 'unknown', protocol, payload };
}

/** Decode an IPv4 datagram (header + transport). */
export function parseIpv4(buf: Uint8Array, opts?: ParseOptions): Extract<NetworkRepr, { kind: 'ipv4' }> {
  const packet = Ipv4Packet.checked(buf);
  const ip = Ipv4Repr.parse(packet, opts);
  const transport: TransportRepr = packet.isFragment
    ? { kind: 'fragment', protocol: ip.protocol, payload: packet.payload }
    : parseTransport(ip.protocol, packet.payload, ip.src, ip.dst, opts);
  return { kind: 'ipv4', ip, transport };
}

/** Decode an IPv6 packet (fixed header, extension headers, transport). */
export function parseIpv6(buf: Uint8Array, opts?: ParseOptions): Extract<NetworkRepr, { kind: 'ipv6' }> {
  const packet = Ipv6Packet.checked(buf);
  const ip = Ipv6Repr.parse(packet);
  const payload = packet.payload;
  const ext = walkIpv6ExtHeaders(ip.nextHeader, payload);
  const upper = payload.subarray(ext.offset);
  const transport: TransportRepr = isIpv6Fragmented(ext)
    ? { kind: 'fragment', protocol: ext.protocol, payload: upper }
    : parseTransport(ext.protocol, upper, ip.src, ip.dst, opts);
  return { kind: 'ipv6', ip, ext, transport };
}

/**
 * Parse a whole Ethernet frame.  Checksums are verified unless
 * `opts.verifyChecksum` is false.  Throws only `WireError`.
 */
export function parseFrame(buf: Uint8Array, opts?: ParseOptions): FrameRepr {
  try {
    const frame = EthernetFrame.checked(buf);
    const ethernet = EthernetRepr.parse(frame);
    const payload = frame.payload;
    let network: NetworkRepr;
    switch (ethernet.etherType) {
      case EtherType.Arp:
        network = { kind: 'arp', arp: ArpRepr.parse(ArpPacket.checked(payload)) };
        break;
      case EtherType.Ipv4:
        network = parseIpv4(payload, opts);
        break;
      case EtherType.Ipv6:
        network = parseIpv6(payload, opts);
        break;
      default:
        network = { kind: 'unknown', etherType: ethernet.etherType, payload };
    }
    return { ethernet, network };
  } catch (e) {
    if (e instanceof WireError) throw e;
    // Defence in depth: a bug below must not escape as a RangeError/TypeError
    // and take the stack down.  The fuzz test asserts this never happens.
    throw new WireError('MALFORMED', 'frame', `${INTERNAL_ERROR_PREFIX}${e instanceof Error ? e.message : String(e)}`);
  }
}
