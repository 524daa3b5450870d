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
import { IcmpEcho, type IcmpEchoStats } from '../icmp/index.js';
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
  IpProtocol,
  Ipv4Address,
  Ipv4Packet,
  Ipv4Repr,
  UdpPacket,
  UdpRepr,
  isWireError,
  parseFrame,
  parseTransport,
  type FrameRepr,
} from '../wire/index.js';
import { Ipv4Reassembler, type ReassemblyStats } from '../ip/reassembly.js';
import { checksumVerified } from '../switch/gso.js';
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

const NO_VERIFY = { verifyChecksum: false } as const;

export interface GatewayStats {
  frames: number;
  /** Frames the wire layer rejected (bad lengths, checksums, options...). */
  malformed: number;
  /** Well-formed but nothing handles it (IPv6, other EtherTypes, IPv4 to elsewhere without a handler). */
  unhandled: number;
  sent: number;
  arp: ArpStats;
  dhcp: DhcpServerStats;
  icmp: IcmpEchoStats;
  reassembly: ReassemblyStats;
}

export class Gateway {
  readonly arp: Arp;
  readonly dhcp: DhcpServer;
  readonly icmp: IcmpEcho;
  /** IPv4 fragments from guests, reassembled before anything looks at the transport. */
  readonly reassembler = new Ipv4Reassembler();
  private ipv4Handler: Ipv4Handler | undefined;
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
  }

  /** Install the handler for IPv4 traffic the gateway does not serve itself (NAT goes here). */
  onIpv4(handler: Ipv4Handler | undefined): void {
    this.ipv4Handler = handler;
  }

  /** Handle one frame delivered by the switch.  Never throws on hostile input. */
  input(frame: Uint8Array): void {
    this.counters.frames++;
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
    const packet = frame.subarray(14);
    const mac = this.arp.resolve(now, dst, packet);
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
    const a = this.arp.pollAt();
    const r = this.reassembler.pollAt();
    return a === undefined ? r : r === undefined ? a : Math.min(a, r);
  }

  private flushReleased(): void {
    for (const r of this.arp.takeReleased()) for (const p of r.packets) this.sendFramed(r.mac, p);
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
      reassembly: this.reassembler.stats(),
    };
  }
}
