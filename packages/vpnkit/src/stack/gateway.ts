/**
 * The gateway's local stack: what answers frames the switch delivers to
 * the gateway MAC (or broadcast).  It demultiplexes (RFC 894 Ethernet ->
 * RFC 826 ARP | RFC 791 IPv4 -> RFC 768 UDP port 67 | RFC 792 ICMP) to the
 * pure protocol machines and frames their replies:
 *
 *   ARP       -> Arp          (src/arp)     requests for the gateway/host IPs
 *   UDP :67   -> DhcpServer   (src/dhcp)    RFC 2131
 *   ICMP echo -> IcmpEcho     (src/icmp)    for the gateway/host IPs
 *   any other IPv4 -> the `ipv4` handler, if one is installed
 *
 *   IPv6 (RFC 8200), unless `config.ipv6` is false:
 *   ICMPv6 NS/NA/RS -> Ndp        (src/ndp)     RFC 4861 router + RFC 4862 prefix + RFC 8106 RDNSS
 *   ICMPv6 echo     -> Icmpv6Echo (src/icmp)    for the gateway's v6 addresses
 *   any other unicast IPv6 -> the `ipv6` handler (the NAT)
 *
 * Extension point for NAT: `onIpv4(handler)` receives every other IPv4
 * datagram from the guest (parsed, with the source MAC), and
 * `sendIpv4(dst, packet)` transmits a complete IPv4 datagram to a guest,
 * resolving its MAC through ARP (parking the packet meanwhile).  The TCP
 * and UDP NAT to host sockets will plug in there; nothing pretends to do
 * it today.  Every frame is parsed with the wire views; what fails to
 * parse is counted and dropped.
 */

import { Arp, type ArpStats } from '../arp/index.js';
import { DhcpServer, type DhcpServerStats } from '../dhcp/index.js';
import { IcmpEcho, Icmpv6Echo, type IcmpEchoStats } from '../icmp/index.js';
import { Ndp, type NdpOutput, type NdpStats } from '../ndp/index.js';
import {
  ArpPacket,
  ArpRepr,
  DHCP_CLIENT_PORT,
  DHCP_SERVER_PORT,
  DhcpMessageType,
  DhcpPacket,
  DhcpRepr,
  EtherType,
  EthernetAddress,
  EthernetFrame,
  EthernetRepr,
  Icmpv4Packet,
  Icmpv4Repr,
  Icmpv6Packet,
  Icmpv6Repr,
  IpProtocol,
  Ipv4Address,
  Ipv4Packet,
  Ipv4Repr,
  Ipv6Address,
  Ipv6Packet,
  Ipv6Repr,
  UdpPacket,
  UdpRepr,
  WireError,
  isIpv6Fragmented,
  isWireError,
  parseFrame,
  parseTransport,
  walkIpv6ExtHeaders,
  type FrameRepr,
} from '../wire/index.js';
import { Ipv4Reassembler, type ReassemblyStats } from '../ip/reassembly.js';
import { checksumVerified, wholeFrame } from '../switch/gso.js';
import type { Clock, StackConfig } from './config.js';

/** An IPv4 datagram from a guest that no built-in service handled. */
export interface Ipv4Input {
  readonly frame: FrameRepr & { network: { kind: 'ipv4' } };
  /**
   * The IPv4 datagram bytes (a view into the frame).  For a datagram
   * reassembled from fragments, the last fragment; `frame` holds the whole.
   */
  readonly packet: Uint8Array;
  readonly srcMac: EthernetAddress;
}

export type Ipv4Handler = (input: Ipv4Input) => void;

/** A unicast IPv6 packet from a guest that no built-in service handled (not a fragment). */
export interface Ipv6Input {
  readonly frame: FrameRepr & { network: { kind: 'ipv6' } };
  readonly srcMac: EthernetAddress;
  /**
   * The IPv6 packet bytes (a view into the frame), or undefined for a
   * packet reassembled from fragments (`frame` holds the whole).
   */
  readonly packet?: Uint8Array | undefined;
}

export type Ipv6Handler = (input: Ipv6Input) => void;

const NO_VERIFY = { verifyChecksum: false } as const;

export interface GatewayStats {
  frames: number;
  /** Frames the wire layer rejected (bad lengths, checksums, options...). */
  malformed: number;
  /**
   * Well-formed but nothing handles it (other EtherTypes, IPv4 or IPv6 to elsewhere without a
   * handler, IPv6 fragments, multicast other than ND, IPv6 when `config.ipv6` is false).
   */
  unhandled: number;
  sent: number;
  arp: ArpStats;
  dhcp: DhcpServerStats;
  icmp: IcmpEchoStats;
  ndp: NdpStats;
  icmp6: IcmpEchoStats;
  reassembly: ReassemblyStats;
  reassembly6: ReassemblyStats;
}

export class Gateway {
  readonly arp: Arp;
  readonly dhcp: DhcpServer;
  readonly icmp: IcmpEcho;
  private readonly nextIdentFn = (): number => this.nextIdent();
  /** IPv6 neighbour discovery and router advertisements. */
  readonly ndp: Ndp;
  readonly icmp6: Icmpv6Echo;
  /** IPv4 fragments from guests, reassembled before anything looks at the transport. */
  readonly reassembler = new Ipv4Reassembler();
  /** IPv6 fragments from guests (RFC 8200 §4.5), with their own bounds. */
  readonly reassembler6 = new Ipv4Reassembler();
  private ipv4Handler: Ipv4Handler | undefined;
  private ipv6Handler: Ipv6Handler | undefined;
  private ident = 0;
  private readonly counters = { frames: 0, malformed: 0, unhandled: 0, sent: 0 };

  constructor(
    readonly config: StackConfig,
    private readonly clock: Clock,
    private readonly transmit: (frame: Uint8Array) => void,
  ) {
    const owned = [config.gatewayIp, config.hostIp];
    this.arp = new Arp({
      mac: config.gatewayMac,
      addresses: owned,
      subnet: { network: config.network, prefixLen: config.prefixLen },
      cache: { capacity: config.arpCacheSize },
    });
    this.dhcp = new DhcpServer({
      serverIp: config.gatewayIp,
      network: config.network,
      prefixLen: config.prefixLen,
      routers: [config.gatewayIp],
      dnsServers: config.dnsServers,
      ...(config.domainName !== undefined ? { domainName: config.domainName } : {}),
      mtu: config.mtu,
      leaseTimeS: config.leaseTimeS,
      rangeStart: config.rangeStart,
      rangeEnd: config.rangeEnd,
      reserved: owned,
      maxLeases: config.maxLeases,
    });
    this.icmp = new IcmpEcho({ addresses: owned });
    this.ndp = new Ndp({
      mac: config.gatewayMac,
      prefix: config.ipv6Prefix,
      prefixLen: config.ipv6PrefixLen,
      addresses: [config.gatewayIpv6, config.hostIpv6],
      mtu: config.mtu,
      dnsServers: config.dnsServersV6,
      cache: { capacity: config.neighborCacheSize },
    });
    this.icmp6 = new Icmpv6Echo({ owns: (a) => this.ndp.owns(a) });
  }

  /** Install the handler for IPv6 traffic the gateway does not serve itself (NAT goes here). */
  onIpv6(handler: Ipv6Handler | undefined): void {
    this.ipv6Handler = handler;
  }

  /** Install the handler for IPv4 traffic the gateway does not serve itself (NAT goes here). */
  onIpv4(handler: Ipv4Handler | undefined): void {
    this.ipv4Handler = handler;
  }

  /** Handle one frame delivered by the switch.  Never throws on hostile input. */
  input(frame: Uint8Array): void {
    this.counters.frames++;
    if (frame[23] === IpProtocol.Icmp) {
      // A ping of the gateway, answered from the frame's bytes (the general path below
      // decides everything else, including every echo this one declines).
      const reply = this.icmp.answerFrame(frame, this.config.gatewayMac, this.nextIdentFn, checksumVerified.has(frame));
      if (reply !== undefined) {
        this.send(reply);
        return;
      }
    }
    let f: FrameRepr;
    try {
      // A link that computed (or whose peer vouched for) the checksum spares us a second pass.
      f = parseFrame(frame, checksumVerified.has(frame) ? NO_VERIFY : undefined);
    } catch (e) {
      if (!isWireError(e)) throw e;
      this.counters.malformed++;
      return;
    }
    const now = this.clock.now();
    const net = f.network;
    switch (net.kind) {
      case 'arp': {
        const reply = this.arp.process(now, net.arp);
        if (reply !== undefined) this.sendArp(reply, reply.targetHardwareAddr);
        this.flushReleased();
        return;
      }
      case 'ipv4':
        this.inputIpv4(now, f as Ipv4Input['frame'], frame);
        return;
      case 'ipv6':
        if (this.config.ipv6) {
          this.inputIpv6(now, f as Ipv6Input['frame'], frame);
          return;
        }
        this.counters.unhandled++;
        return;
      default:
        this.counters.unhandled++;
    }
  }

  private inputIpv4(now: number, f: Ipv4Input['frame'], frame: Uint8Array): void {
    if (f.network.transport.kind === 'fragment') {
      const whole = this.reassemble(now, f);
      if (whole === undefined) return;
      f = whole;
    }
    const { ip, transport } = f.network;
    const dst = ip.dst >>> 0;
    const tr = transport;
    if (tr.kind === 'udp' && tr.udp.dstPort === DHCP_SERVER_PORT && (dst === Ipv4Address.BROADCAST || this.arp.owns(dst))) {
      this.inputDhcp(now, tr.udp.payload);
      return;
    }
    if (tr.kind === 'icmpv4' && this.arp.owns(dst)) {
      const r = this.icmp.process(ip, tr.icmp);
      if (r !== undefined) {
        const buf = this.ipv4Frame(f.ethernet.src, r.ip);
        Icmpv4Repr.emit(r.icmp, Icmpv4Packet.unchecked(buf.subarray(14 + 20)));
        this.send(buf);
      }
      return;
    }
    if (this.ipv4Handler !== undefined) {
      // The raw datagram is cut out only if the handler asks: the NAT works from the parsed
      // frame, and re-checking both headers for every segment was work done twice.
      this.ipv4Handler({
        frame: f,
        srcMac: f.ethernet.src,
        get packet() {
          const eth = EthernetFrame.checked(frame);
          return eth.payload.subarray(0, Ipv4Packet.checked(eth.payload).totalLen);
        },
      });
      return;
    }
    this.counters.unhandled++;
  }

  private inputIpv6(now: number, f: Ipv6Input['frame'], frame: Uint8Array): void {
    let raw: Uint8Array | undefined = frame;
    const srcMac = f.ethernet.src;
    this.ndp.activate(now);
    // The sender's binding: refreshed (or created for an unclaimed address) by its own traffic.
    this.ndp.observe(now, f.network.ip.src, srcMac);
    if (f.network.transport.kind === 'fragment') {
      const whole = this.reassemble6(now, f);
      if (whole === undefined) return;
      f = whole;
      raw = undefined;
    }
    const { ip, transport } = f.network;
    if (transport.kind === 'icmpv6') {
      const icmp = transport.icmp;
      if (icmp.kind === 'echoRequest') {
        if (this.ndp.owns(ip.dst) || Ipv6Address.isMulticast(ip.dst)) {
          const r = this.icmp6.process(ip, icmp);
          if (r !== undefined) this.sendIcmpv6({ dstMac: srcMac, ip: r.ip, icmp: r.icmp });
          return;
        }
      } else {
        // ND, MLD, errors: nothing of it goes beyond the gateway.
        const r = this.ndp.process(now, ip, icmp, srcMac);
        if (r !== undefined) this.sendIcmpv6(r);
        this.flushReleased();
        return;
      }
    }
    this.flushReleased();
    if (Ipv6Address.isMulticast(ip.dst) || this.ipv6Handler === undefined) {
      this.counters.unhandled++;
      return;
    }
    const whole = raw;
    this.ipv6Handler({
      frame: f,
      srcMac,
      // Cut out only if asked (ICMP error quotes): parseFrame already checked both lengths.
      get packet() {
        if (whole === undefined) return undefined;
        const eth = EthernetFrame.checked(whole);
        return eth.payload.subarray(0, Math.min(eth.payload.length, 40 + Ipv6Packet.checkedHeader(eth.payload).payloadLen));
      },
    });
  }

  /** Feed an IPv6 fragment to the reassembler; the frame repr of the whole packet once complete. */
  private reassemble6(now: number, f: Ipv6Input['frame']): Ipv6Input['frame'] | undefined {
    const { ip, ext, transport } = f.network;
    const frag = ext.fragment;
    if (transport.kind !== 'fragment' || frag === undefined) return f;
    const payload = this.reassembler6.input(now, {
      src: ip.src,
      dst: ip.dst,
      protocol: transport.protocol,
      ident: frag.ident,
      fragOffset: frag.offset,
      moreFrags: frag.moreFrags,
      payload: transport.payload,
      // The whole packet's Payload Length must fit 16 bits (no jumbograms).
      maxLen: 0xffff - frag.headerOffset - 8,
    });
    if (payload === undefined) return undefined;
    try {
      const upper = walkIpv6ExtHeaders(transport.protocol, payload);
      if (isIpv6Fragmented(upper)) throw new WireError('MALFORMED', 'ipv6', 'a fragment inside a reassembled packet');
      const whole = parseTransport(upper.protocol, payload.subarray(upper.offset), ip.src, ip.dst);
      return { ethernet: f.ethernet, network: { kind: 'ipv6', ip: { ...ip, payloadLen: frag.headerOffset + 8 + payload.length }, ext: upper, transport: whole } };
    } catch (e) {
      if (!isWireError(e)) throw e;
      this.counters.malformed++;
      return undefined;
    }
  }

  /** Frame and send an ICMPv6 message from the gateway. */
  private sendIcmpv6(o: NdpOutput): void {
    const len = Icmpv6Repr.bufferLen(o.icmp);
    // A reply to a reassembled echo request may not fit: no fragmenting our own ICMPv6.
    if (40 + len > this.config.mtu) {
      this.counters.unhandled++;
      return;
    }
    const buf = new Uint8Array(14 + 40 + len);
    EthernetRepr.emit({ src: this.config.gatewayMac, dst: o.dstMac, etherType: EtherType.Ipv6 }, EthernetFrame.unchecked(buf));
    Ipv6Repr.emit({ ...o.ip, payloadLen: len }, Ipv6Packet.unchecked(buf.subarray(14)));
    Icmpv6Repr.emit(o.icmp, Icmpv6Packet.unchecked(buf.subarray(54)), o.ip.src, o.ip.dst);
    this.send(buf);
  }

  /**
   * Send an IPv6 packet built at offset 14 of `frame` (14 bytes of headroom
   * for the Ethernet header) to an on-link guest address or a multicast
   * group: at once when the neighbour is known, else parked (bounded) while
   * a Neighbor Solicitation resolves it.  `frame` is retained.  False when
   * IPv6 is off or the destination is not on the link.
   */
  sendIpv6Frame(dst: Ipv6Address, frame: Uint8Array): boolean {
    if (!this.config.ipv6) return false;
    const now = this.clock.now();
    let mac: EthernetAddress | undefined;
    if (Ipv6Address.isMulticast(dst)) {
      mac = Ipv6Address.multicastMac(dst);
    } else {
      if (!this.ndp.onLink(dst) || this.ndp.owns(dst)) return false;
      mac = this.ndp.resolve(now, dst) ?? this.ndp.resolve(now, dst, wholeFrame(frame));
      if (mac === undefined) {
        // Solicit now rather than at the next tick: the first packet of a flow waits on it.
        for (const o of this.ndp.dispatch(now)) this.sendIcmpv6(o);
        return true;
      }
    }
    EthernetRepr.emit({ src: this.config.gatewayMac, dst: mac, etherType: EtherType.Ipv6 }, EthernetFrame.unchecked(frame));
    this.send(frame);
    return true;
  }

  /** Feed a fragment to the reassembler; the frame repr of the whole datagram once complete. */
  private reassemble(now: number, f: Ipv4Input['frame']): Ipv4Input['frame'] | undefined {
    const { ip, transport } = f.network;
    if (transport.kind !== 'fragment') return f;
    const payload = this.reassembler.input(now, {
      src: ip.src,
      dst: ip.dst,
      protocol: ip.protocol,
      ident: ip.ident ?? 0,
      fragOffset: ip.fragOffset ?? 0,
      moreFrags: ip.moreFrags ?? false,
      payload: transport.payload,
    });
    if (payload === undefined) return undefined;
    try {
      const whole: Ipv4Repr = { ...ip, payloadLen: payload.length, moreFrags: false, fragOffset: 0 };
      return { ethernet: f.ethernet, network: { kind: 'ipv4', ip: whole, transport: parseTransport(ip.protocol, payload, ip.src, ip.dst) } };
    } catch (e) {
      if (!isWireError(e)) throw e;
      this.counters.malformed++;
      return undefined;
    }
  }

  private inputDhcp(now: number, payload: Uint8Array): void {
    let req: DhcpRepr;
    try {
      req = DhcpRepr.parse(DhcpPacket.checked(payload));
    } catch (e) {
      if (!isWireError(e)) throw e;
      this.counters.malformed++;
      return;
    }
    const r = this.dhcp.process(now, req);
    if (r === undefined) return;
    const udp: UdpRepr = { srcPort: DHCP_SERVER_PORT, dstPort: DHCP_CLIENT_PORT, payload: new Uint8Array(DhcpRepr.bufferLen(r.repr)) };
    DhcpRepr.emit(r.repr, DhcpPacket.unchecked(udp.payload));
    const ipRepr: Ipv4Repr = {
      src: this.config.gatewayIp,
      dst: r.dstIp,
      protocol: IpProtocol.Udp,
      payloadLen: UdpRepr.bufferLen(udp),
      ttl: 64,
    };
    const buf = this.ipv4Frame(r.dstMac, ipRepr);
    UdpRepr.emit(udp, UdpPacket.unchecked(buf.subarray(14 + 20)), ipRepr.src, ipRepr.dst);
    this.send(buf);
    if (r.repr.messageType === DhcpMessageType.Ack && r.repr.yourIp !== 0) {
      // We just told this MAC its address: no need to ARP for it later.
      this.arp.learnFrom(now, r.repr.yourIp, r.repr.clientHardwareAddr);
    }
  }

  /**
   * Send a complete IPv4 datagram to a guest on the subnet: framed at once
   * when its MAC is known, else parked (bounded) while ARP resolves it.
   * Returns false when the destination is off-subnet.
   */
  sendIpv4(dst: Ipv4Address, packet: Uint8Array): boolean {
    if (!Ipv4Address.inSubnet(dst, this.config.network, this.config.prefixLen)) return false;
    const now = this.clock.now();
    const mac = this.arp.resolve(now, dst, packet);
    if (mac !== undefined) this.sendFramed(mac, packet);
    return true;
  }

  /**
   * Like `sendIpv4`, for a datagram built at offset 14 of `frame` (the
   * first 14 bytes are headroom for the Ethernet header): the common case,
   * a known MAC, sends `frame` itself without copying.  `frame` is retained.
   */
  sendIpv4Frame(dst: Ipv4Address, frame: Uint8Array): boolean {
    if (!Ipv4Address.inSubnet(dst, this.config.network, this.config.prefixLen)) return false;
    const now = this.clock.now();
    // A frame whose payload is carried apart is parked whole (the view is not valid later).
    const mac = this.arp.resolve(now, dst) ?? this.arp.resolve(now, dst, wholeFrame(frame).subarray(14));
    if (mac !== undefined) {
      EthernetRepr.emit({ src: this.config.gatewayMac, dst: mac, etherType: EtherType.Ipv4 }, EthernetFrame.unchecked(frame));
      this.send(frame);
    }
    return true;
  }

  /** The next IPv4 Identification value (RFC 6864: unique per flow is enough). */
  nextIdent(): number {
    this.ident = (this.ident + 1) & 0xffff;
    return this.ident;
  }

  /** Run timers: ARP requests and expiry.  Returns when to call again. */
  poll(): number | undefined {
    const now = this.clock.now();
    for (const req of this.arp.dispatch(now)) this.sendArp(req, EthernetAddress.BROADCAST);
    this.reassembler.expire(now);
    this.reassembler6.expire(now);
    let next = this.arp.pollAt();
    for (const r of [this.reassembler.pollAt(), this.reassembler6.pollAt()]) if (r !== undefined && (next === undefined || r < next)) next = r;
    if (this.config.ipv6) {
      for (const o of this.ndp.dispatch(now)) this.sendIcmpv6(o);
      const n = this.ndp.pollAt();
      if (n !== undefined && (next === undefined || n < next)) next = n;
    }
    return next;
  }

  private flushReleased(): void {
    for (const r of this.arp.takeReleased()) for (const p of r.packets) this.sendFramed(r.mac, p);
    for (const r of this.ndp.takeReleased()) {
      for (const frame of r.packets) {
        // Parked by sendIpv6Frame with its Ethernet headroom.
        EthernetRepr.emit({ src: this.config.gatewayMac, dst: r.mac, etherType: EtherType.Ipv6 }, EthernetFrame.unchecked(frame));
        this.send(frame);
      }
    }
  }

  private sendFramed(mac: EthernetAddress, packet: Uint8Array): void {
    const buf = new Uint8Array(14 + packet.length);
    EthernetRepr.emit({ src: this.config.gatewayMac, dst: mac, etherType: EtherType.Ipv4 }, EthernetFrame.unchecked(buf));
    buf.set(packet, 14);
    this.send(buf);
  }

  private sendArp(arp: ArpRepr, dst: EthernetAddress): void {
    // Padded to the 60-byte Ethernet minimum (IEEE 802.3 §4.2.3.3), as NICs do.
    const buf = new Uint8Array(60);
    EthernetRepr.emit({ src: this.config.gatewayMac, dst, etherType: EtherType.Arp }, EthernetFrame.unchecked(buf));
    ArpRepr.emit(arp, ArpPacket.unchecked(buf.subarray(14)));
    this.send(buf);
  }

  /** An Ethernet + IPv4 header (with checksum) ready for the transport to be written at 34. */
  private ipv4Frame(dstMac: EthernetAddress, ip: Ipv4Repr): Uint8Array {
    const buf = new Uint8Array(14 + Ipv4Repr.bufferLen(ip));
    EthernetRepr.emit({ src: this.config.gatewayMac, dst: dstMac, etherType: EtherType.Ipv4 }, EthernetFrame.unchecked(buf));
    this.ident = (this.ident + 1) & 0xffff;
    Ipv4Repr.emit({ ...ip, ident: this.ident }, Ipv4Packet.unchecked(buf.subarray(14)));
    return buf;
  }

  private send(frame: Uint8Array): void {
    this.counters.sent++;
    this.transmit(frame);
  }

  stats(): GatewayStats {
    const now = this.clock.now();
    return {
      ...this.counters,
      arp: this.arp.stats(),
      dhcp: this.dhcp.stats(now),
      icmp: this.icmp.stats(),
      ndp: this.ndp.stats(),
      icmp6: this.icmp6.stats(),
      reassembly: this.reassembler.stats(),
      reassembly6: this.reassembler6.stats(),
    };
  }
}
