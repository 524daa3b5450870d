/**
 * One-line, tcpdump-like (`tcpdump -e -n`) summaries of Ethernet frames, for
 * logs and pcap debugging.  Built on the views; never throws.  A layer that
 * fails to parse is shown as `[|proto: CODE]`, the way tcpdump marks a
 * truncated layer `[|proto]`; a failing checksum as `[bad proto cksum 0xNNNN]`.
 */

import { EthernetAddress, Ipv4Address, Ipv6Address, type IpAddress } from './address.js';
import { ArpOperation, ArpPacket, ArpRepr } from './arp.js';
import { DHCP_CLIENT_PORT, DHCP_SERVER_PORT, DhcpMessageType, DhcpPacket, DhcpRepr } from './dhcp.js';
import { EtherType, EthernetFrame } from './ethernet.js';
import { WireError } from './error.js';
import { Icmpv4Packet, Icmpv4Repr } from './icmpv4.js';
import { Icmpv6Packet, Icmpv6Repr } from './icmpv6.js';
import { IpProtocol, Ipv4Packet } from './ipv4.js';
import { Ipv6Packet, isIpv6Fragmented, walkIpv6ExtHeaders, type Ipv6UpperLayer } from './ipv6.js';
import { TcpFlags, TcpPacket, tcpOptions, type TcpOption } from './tcp.js';
import { UdpPacket } from './udp.js';

const ETHERTYPE_NAMES: Record<number, string> = {
  [EtherType.Ipv4]: 'IPv4',
  [EtherType.Arp]: 'ARP',
  [EtherType.Ipv6]: 'IPv6',
  [EtherType.Vlan]: '802.1Q',
  [EtherType.QinQ]: '802.1Q-QinQ',
  [EtherType.QinQLegacy]: '802.1Q-9100',
};

const PROTO_NAMES: Record<number, string> = {
  [IpProtocol.Icmp]: 'ICMP',
  [IpProtocol.Tcp]: 'TCP',
  [IpProtocol.Udp]: 'UDP',
  [IpProtocol.Icmpv6]: 'ICMPv6',
};

const DHCP_TYPE_NAMES: Record<number, string> = {
  [DhcpMessageType.Discover]: 'Discover',
  [DhcpMessageType.Offer]: 'Offer',
  [DhcpMessageType.Request]: 'Request',
  [DhcpMessageType.Decline]: 'Decline',
  [DhcpMessageType.Ack]: 'ACK',
  [DhcpMessageType.Nak]: 'NAK',
  [DhcpMessageType.Release]: 'Release',
  [DhcpMessageType.Inform]: 'Inform',
};

const ICMP6_UNREACH: Record<number, string> = {
  0: 'unreachable route',
  1: 'unreachable prohibited',
  2: 'beyond scope',
  3: 'unreachable address',
  4: 'unreachable port',
  5: 'failed policy',
  6: 'reject route',
};

function hex4(v: number): string {
  return `0x${v.toString(16).padStart(4, '0')}`;
}

function truncated(protocol: string, e: unknown): string {
  if (e instanceof WireError) return `[|${protocol}: ${e.code}]`;
  return `[|${protocol}: internal error]`;
}

/** A one-line summary of an Ethernet frame.  Never throws. */
export function describeFrame(buf: Uint8Array): string {
  try {
    return describeEthernet(buf);
  } catch (e) {
    return truncated('frame', e);
  }
}

function etherTypeText(t: number): string {
  if (t < 0x0600) return `802.3 length ${t}`;
  return `ethertype ${ETHERTYPE_NAMES[t] ?? 'Unknown'} (${hex4(t)})`;
}

function describeEthernet(buf: Uint8Array): string {
  if (buf.length < 14) return `[|ether: TRUNCATED] length ${buf.length}`;
  const raw = EthernetFrame.unchecked(buf);
  let s = `${EthernetAddress.format(raw.srcAddr)} > ${EthernetAddress.format(raw.dstAddr)}, ${etherTypeText(raw.etherType)}, length ${buf.length}: `;
  let frame: EthernetFrame;
  try {
    frame = EthernetFrame.checked(buf);
  } catch (e) {
    return s + truncated('ether', e);
  }
  if (frame.isVlanTagged) {
    const tci = frame.vlanTci;
    s += `vlan ${tci & 0xfff}, p ${tci >>> 13}${tci & 0x1000 ? ', DEI' : ''}, ${etherTypeText(frame.vlanEtherType)}, `;
  }
  const payload = frame.payload;
  switch (frame.payloadEtherType) {
    case EtherType.Arp:
      return s + describeArp(payload);
    case EtherType.Ipv4:
      return s + describeIpv4(payload);
    case EtherType.Ipv6:
      return s + describeIpv6(payload);
    default:
      return `${s}${payload.length} bytes`;
  }
}

function describeArp(buf: Uint8Array): string {
  let repr: ArpRepr;
  try {
    repr = ArpRepr.parse(ArpPacket.checked(buf));
  } catch (e) {
    return `ARP ${truncated('arp', e)}`;
  }
  const spa = Ipv4Address.format(repr.senderProtocolAddr);
  const tpa = Ipv4Address.format(repr.targetProtocolAddr);
  if (repr.operation === ArpOperation.Request) return `Request who-has ${tpa} tell ${spa}, length ${buf.length}`;
  return `Reply ${spa} is-at ${EthernetAddress.format(repr.senderHardwareAddr)}, length ${buf.length}`;
}

function describeIpv4(buf: Uint8Array): string {
  let p: Ipv4Packet;
  try {
    p = Ipv4Packet.checked(buf);
  } catch (e) {
    return `IP ${truncated('ip', e)}`;
  }
  const src = p.src;
  const dst = p.dst;
  const note = p.verifyChecksum() ? '' : ` [bad ip cksum ${hex4(p.checksum)}]`;
  const srcText = Ipv4Address.format(src);
  const dstText = Ipv4Address.format(dst);
  if (p.isFragment) {
    const proto = p.protocol;
    return (
      `${srcText} > ${dstText}: frag (id ${p.ident}, ${p.payload.length}@${p.fragOffset}${p.moreFrags ? '+' : ''}), ` +
      `proto ${PROTO_NAMES[proto] ?? 'unknown'} (${proto})${note}`
    );
  }
  return describeTransport(p.protocol, p.payload, src, dst, srcText, dstText) + note;
}

function describeIpv6(buf: Uint8Array): string {
  let p: Ipv6Packet;
  try {
    p = Ipv6Packet.checked(buf);
  } catch (e) {
    return `IP6 ${truncated('ip6', e)}`;
  }
  const src = p.srcAddr.slice();
  const dst = p.dstAddr.slice();
  const srcText = Ipv6Address.format(src);
  const dstText = Ipv6Address.format(dst);
  const payload = p.payload;
  let ext: Ipv6UpperLayer;
  try {
    ext = walkIpv6ExtHeaders(p.nextHeader, payload);
  } catch (e) {
    return `${srcText} > ${dstText}: ${truncated('ip6', e)}`;
  }
  const upper = payload.subarray(ext.offset);
  if (isIpv6Fragmented(ext) && ext.fragment !== undefined) {
    const f = ext.fragment;
    return (
      `${srcText} > ${dstText}: frag (id ${f.ident}, ${upper.length}@${f.offset}${f.moreFrags ? '+' : ''}), ` +
      `proto ${PROTO_NAMES[ext.protocol] ?? 'unknown'} (${ext.protocol})`
    );
  }
  return describeTransport(ext.protocol, upper, src, dst, srcText, dstText);
}

function describeTransport(
  protocol: number,
  buf: Uint8Array,
  src: IpAddress,
  dst: IpAddress,
  srcText: string,
  dstText: string,
): string {
  const v6 = typeof src !== 'number';
  switch (protocol) {
    case IpProtocol.Tcp:
      return describeTcp(buf, src, dst, srcText, dstText);
    case IpProtocol.Udp:
      return describeUdp(buf, src, dst, srcText, dstText);
    case IpProtocol.Icmp:
      if (!v6) return `${srcText} > ${dstText}: ${describeIcmpv4(buf)}`;
      break;
    case IpProtocol.Icmpv6:
      if (v6) return `${srcText} > ${dstText}: ${describeIcmpv6(buf, src, dst)}`;
      break;
    case IpProtocol.Ipv6NoNxt:
      if (v6) return `${srcText} > ${dstText}: no next header`;
      break;
    default:
      break;
  }
  return `${srcText} > ${dstText}: ip-proto-${protocol} ${buf.length}`;
}

function tcpFlagsText(f: number): string {
  let s = '';
  if (f & TcpFlags.Fin) s += 'F';
  if (f & TcpFlags.Syn) s += 'S';
  if (f & TcpFlags.Rst) s += 'R';
  if (f & TcpFlags.Psh) s += 'P';
  if (f & TcpFlags.Ack) s += '.';
  if (f & TcpFlags.Urg) s += 'U';
  if (f & TcpFlags.Ece) s += 'E';
  if (f & TcpFlags.Cwr) s += 'W';
  return s === '' ? 'none' : s;
}

function tcpOptionText(o: TcpOption): string {
  switch (o.kind) {
    case 'eol':
      return 'eol';
    case 'nop':
      return 'nop';
    case 'mss':
      return `mss ${o.value}`;
    case 'windowScale':
      return `wscale ${o.shift}`;
    case 'sackPermitted':
      return 'sackOK';
    case 'sack':
      return `sack ${o.blocks.length} ${o.blocks.map((b) => `{${b.left}:${b.right}}`).join('')}`;
    case 'timestamp':
      return `TS val ${o.tsVal} ecr ${o.tsEcr}`;
    case 'unknown':
      return `unknown-${o.type}`;
  }
}

function describeTcp(buf: Uint8Array, src: IpAddress, dst: IpAddress, srcText: string, dstText: string): string {
  let p: TcpPacket;
  try {
    p = TcpPacket.checked(buf);
  } catch (e) {
    return `${srcText} > ${dstText}: ${truncated('tcp', e)}`;
  }
  const flags = p.flags;
  const len = p.payload.length;
  const seq = p.seqNumber;
  let s = `${srcText}.${p.srcPort} > ${dstText}.${p.dstPort}: Flags [${tcpFlagsText(flags)}]`;
  if (len > 0 || flags & (TcpFlags.Syn | TcpFlags.Fin | TcpFlags.Rst)) {
    s += len > 0 ? `, seq ${seq}:${(seq + len) >>> 0}` : `, seq ${seq}`;
  }
  if (flags & TcpFlags.Ack) s += `, ack ${p.ackNumber}`;
  s += `, win ${p.windowLen}`;
  if (flags & TcpFlags.Urg) s += `, urg ${p.urgentPointer}`;
  if (p.options.length > 0) {
    const parts: string[] = [];
    try {
      for (const o of tcpOptions(p.options)) parts.push(tcpOptionText(o));
    } catch {
      parts.push('[bad opt]');
    }
    s += `, options [${parts.join(',')}]`;
  }
  s += `, length ${len}`;
  if (!p.verifyChecksum(src, dst)) s += ` [bad tcp cksum ${hex4(p.checksum)}]`;
  return s;
}

function describeUdp(buf: Uint8Array, src: IpAddress, dst: IpAddress, srcText: string, dstText: string): string {
  let p: UdpPacket;
  try {
    p = UdpPacket.checked(buf);
  } catch (e) {
    return `${srcText} > ${dstText}: ${truncated('udp', e)}`;
  }
  const sp = p.srcPort;
  const dp = p.dstPort;
  const payload = p.payload;
  let s = `${srcText}.${sp} > ${dstText}.${dp}: `;
  const dhcpPorts =
    (sp === DHCP_CLIENT_PORT && dp === DHCP_SERVER_PORT) || (sp === DHCP_SERVER_PORT && dp === DHCP_CLIENT_PORT);
  s += dhcpPorts ? describeDhcp(payload) : `UDP, length ${payload.length}`;
  if (!p.verifyChecksum(src, dst)) s += ` [bad udp cksum ${hex4(p.checksum)}]`;
  return s;
}

function describeDhcp(buf: Uint8Array): string {
  let p: DhcpPacket;
  let r: DhcpRepr;
  try {
    p = DhcpPacket.checked(buf);
    r = DhcpRepr.parse(p);
  } catch (e) {
    return `BOOTP/DHCP ${truncated('bootp', e)}, length ${buf.length}`;
  }
  const type = DHCP_TYPE_NAMES[r.messageType] ?? `type ${r.messageType}`;
  const from = p.op === 1 ? `Request from ${EthernetAddress.format(r.clientHardwareAddr)}` : 'Reply';
  let s = `BOOTP/DHCP, ${from}, DHCP ${type}, xid 0x${r.transactionId.toString(16)}`;
  if (r.yourIp !== 0) s += `, Your-IP ${Ipv4Address.format(r.yourIp)}`;
  return `${s}, length ${buf.length}`;
}

/** "udp port 53" / "tcp port 80" for the transport header quoted in an ICMP error. */
function quotedPort(protocol: number, data: Uint8Array): string {
  if (data.length < 4) return `protocol ${protocol}`;
  const port = (((data[2] ?? 0) << 8) | (data[3] ?? 0)).toString();
  if (protocol === IpProtocol.Udp) return `udp port ${port}`;
  if (protocol === IpProtocol.Tcp) return `tcp port ${port}`;
  return `protocol ${protocol}`;
}

function describeIcmpv4(buf: Uint8Array): string {
  let p: Icmpv4Packet;
  let r: Icmpv4Repr;
  try {
    p = Icmpv4Packet.checked(buf);
    r = Icmpv4Repr.parse(p, { verifyChecksum: false });
  } catch (e) {
    return `ICMP ${truncated('icmp', e)}`;
  }
  let s: string;
  switch (r.kind) {
    case 'echoRequest':
    case 'echoReply':
      s = `ICMP echo ${r.kind === 'echoRequest' ? 'request' : 'reply'}, id ${r.ident}, seq ${r.seqNo}`;
      break;
    case 'dstUnreachable': {
      const d = Ipv4Address.format(r.header.dst);
      switch (r.code) {
        case 0:
          s = `ICMP net ${d} unreachable`;
          break;
        case 1:
          s = `ICMP host ${d} unreachable`;
          break;
        case 2:
          s = `ICMP ${d} protocol ${r.header.protocol} unreachable`;
          break;
        case 3:
          s = `ICMP ${d} ${quotedPort(r.header.protocol, r.data)} unreachable`;
          break;
        case 4:
          s = `ICMP ${d} unreachable - need to frag (mtu ${r.nextHopMtu})`;
          break;
        default:
          s = `ICMP ${d} unreachable, code ${r.code}`;
      }
      break;
    }
    case 'timeExceeded':
      s = r.code === 0 ? 'ICMP time exceeded in-transit' : 'ICMP ip reassembly time exceeded';
      break;
    case 'other':
      s = `ICMP type-#${r.type}, code ${r.code}`;
      break;
  }
  s += `, length ${buf.length}`;
  if (!p.verifyChecksum()) s += ` [bad icmp cksum ${hex4(p.checksum)}]`;
  return s;
}

function describeIcmpv6(buf: Uint8Array, src: IpAddress, dst: IpAddress): string {
  let p: Icmpv6Packet;
  let r: Icmpv6Repr;
  try {
    p = Icmpv6Packet.checked(buf);
    r = Icmpv6Repr.parse(p, src, dst, { verifyChecksum: false });
  } catch (e) {
    return `ICMP6, ${truncated('icmp6', e)}`;
  }
  let s = 'ICMP6, ';
  switch (r.kind) {
    case 'echoRequest':
    case 'echoReply':
      s += `echo ${r.kind === 'echoRequest' ? 'request' : 'reply'}, id ${r.ident}, seq ${r.seqNo}`;
      break;
    case 'dstUnreachable':
      s += `destination unreachable, ${ICMP6_UNREACH[r.code] ?? `code ${r.code}`}, ${Ipv6Address.format(r.header.dst)}`;
      if (r.code === 4) s += ` ${quotedPort(r.header.nextHeader, r.data)}`;
      break;
    case 'packetTooBig':
      s += `packet too big, mtu ${r.mtu}`;
      break;
    case 'timeExceeded':
      s += r.code === 0 ? 'time exceeded in-transit' : 'ip6 reassembly time exceeded';
      break;
    case 'paramProblem':
      s += `parameter problem, code ${r.code}, pointer ${r.pointer}`;
      break;
    case 'routerSolicit':
      s += 'router solicitation';
      break;
    case 'routerAdvert':
      s += 'router advertisement';
      break;
    case 'neighborSolicit':
      s += `neighbor solicitation, who has ${Ipv6Address.format(r.target)}`;
      break;
    case 'neighborAdvert':
      s += `neighbor advertisement, tgt is ${Ipv6Address.format(r.target)}`;
      break;
    case 'other':
      s += `type-#${r.type}, code ${r.code}`;
      break;
  }
  s += `, length ${buf.length}`;
  if (!p.verifyChecksum(src, dst)) s += ` [bad icmp6 cksum ${hex4(p.checksum)}]`;
  return s;
}
