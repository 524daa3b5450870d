/**
 * The outer loop: a `Switch` with the `Gateway` on its local port, a clock
 * and the links.  The only place in the stack that owns timers.
 *
 *   const stack = new Stack({ domainName: 'internal' });
 *   stack.start();
 *   stack.addLink(TapLink.open({ name: 'vk0' }));
 *   ...
 *   await stack.close();
 */

import { dnsTcpService, dnsUdpService, type DnsHandler } from '../nat/dns-service.js';
import { PortForwarder } from '../nat/forward.js';
import { nodeHost, type HostNetwork } from '../nat/host.js';
import { IcmpNat, type IcmpNatStats } from '../nat/icmp-nat.js';
import { icmpv4ErrorQuote, icmpv6ErrorQuote } from '../nat/icmp-error.js';
import { TcpNat, type LocalTcpService, type TcpNatOptions, type TcpNatStats } from '../nat/tcp-nat.js';
import { UdpNat, type LocalUdpService, type UdpNatOptions, type UdpNatStats } from '../nat/udp-nat.js';
import { Switch, type Link, type SwitchStats } from '../switch/index.js';
import { resolveStackConfig, systemClock, type Clock, type StackConfig, type StackOptions } from './config.js';
import { Gateway, type GatewayStats, type Ipv4Input, type Ipv6Input } from './gateway.js';
import {
  EthernetAddress,
  IpProtocol,
  Ipv4Packet,
  Ipv4Repr,
  Ipv6Packet,
  Ipv6Repr,
  UdpPacket,
  UdpRepr,
} from '../wire/index.js';

export interface StackInit extends StackOptions {
  /** Host sockets for the NAT and port forwards (default: the real ones). */
  readonly host?: HostNetwork;
  /** The DNS service on the gateway's port 53 (UDP and TCP); none by default. */
  readonly dns?: DnsHandler;
  readonly tcp?: TcpNatOptions;
  readonly udp?: UdpNatOptions;
}

export interface StackStats {
  switch: SwitchStats;
  gateway: GatewayStats;
  links: Record<string, ReturnType<Link['stats']>>;
  tcp: TcpNatStats;
  udp: UdpNatStats;
  icmp: IcmpNatStats;
}

/**
 * What an ICMP error about a guest's UDP datagram quotes: its own bytes,
 * or for one reassembled from fragments, its header re-made as the first
 * fragment's with the UDP header after it.  Nothing for a frame sent to a
 * link-layer group (RFC 1122 §3.2.2).
 */
function udpQuote4(input: Ipv4Input, c: StackConfig): Uint8Array | undefined {
  const { ethernet, network } = input.frame;
  if (!EthernetAddress.isUnicast(ethernet.dst) || network.transport.kind !== 'udp') return undefined;
  const subnet = { network: c.network, prefixLen: c.prefixLen };
  const raw = input.packet;
  const p = Ipv4Packet.checkedHeader(raw);
  if (p.fragOffset === 0 && !p.moreFrags) return icmpv4ErrorQuote(raw, subnet);
  // Reassembled: the raw packet is the last fragment.
  const udp = network.transport.udp;
  const whole = new Uint8Array(20 + UdpRepr.bufferLen(udp));
  Ipv4Repr.emit({ ...network.ip, moreFrags: false, fragOffset: 0, payloadLen: whole.length - 20 }, Ipv4Packet.unchecked(whole));
  UdpRepr.emit(udp, UdpPacket.unchecked(whole.subarray(20)), network.ip.src, network.ip.dst);
  return icmpv4ErrorQuote(whole.subarray(0, 28), subnet);
}

function udpQuote6(input: Ipv6Input): Uint8Array | undefined {
  const { ethernet, network } = input.frame;
  if (!EthernetAddress.isUnicast(ethernet.dst) || network.transport.kind !== 'udp') return undefined;
  const raw = input.packet;
  if (raw !== undefined) return icmpv6ErrorQuote(raw);
  // Reassembled: the packet re-made without extension headers (bounded by the quote's 1232 bytes).
  const udp = network.transport.udp;
  const udpLen = UdpRepr.bufferLen(udp);
  const whole = new Uint8Array(40 + udpLen);
  Ipv6Repr.emit({ ...network.ip, nextHeader: IpProtocol.Udp, payloadLen: udpLen }, Ipv6Packet.unchecked(whole));
  UdpRepr.emit(udp, UdpPacket.unchecked(whole.subarray(40)), network.ip.src, network.ip.dst);
  return icmpv6ErrorQuote(whole);
}

/** Housekeeping interval for MAC aging when nothing else is due, ms. */
const TICK_MS = 10_000;

export class Stack {
  readonly config: StackConfig;
  readonly clock: Clock;
  readonly switch: Switch;
  readonly gateway: Gateway;
  /** Guest TCP connections to host sockets (and forwarded ones the other way). */
  readonly tcp: TcpNat;
  /** Guest UDP flows to host sockets. */
  readonly udp: UdpNat;
  /** Guests' pings beyond the gateway (IPv4 and IPv6), through a host ICMP socket. */
  readonly icmp: IcmpNat;
  /** Host ports forwarded into guests. */
  readonly forwards: PortForwarder;
  private readonly links = new Set<Link>();
  private cancelTimer: (() => void) | undefined;
  private timerAt = Infinity;
  private running = false;

  constructor(opts: StackInit = {}) {
    this.config = resolveStackConfig(opts);
    this.clock = opts.clock ?? systemClock;
    this.switch = new Switch({
      localMac: this.config.gatewayMac,
      now: () => this.clock.now(),
      macTable: { capacity: this.config.macTableSize },
    });
    this.gateway = new Gateway(this.config, this.clock, (f) => this.switch.sendLocal(f));
    const host = opts.host ?? nodeHost;
    const wake = (at: number): void => this.wake(at);
    const tcpServices = new Map<number, LocalTcpService>(opts.tcp?.localServices ?? []);
    const udpServices = new Map<number, LocalUdpService>(opts.udp?.localServices ?? []);
    if (opts.dns !== undefined) {
      tcpServices.set(53, dnsTcpService(opts.dns));
      udpServices.set(53, dnsUdpService(opts.dns));
    }
    this.tcp = new TcpNat(this.config, this.clock, this.gateway, host, wake, { ...opts.tcp, localServices: tcpServices });
    this.udp = new UdpNat(this.config, this.clock, this.gateway, host, wake, { ...opts.udp, localServices: udpServices });
    this.icmp = new IcmpNat(this.config, this.clock, this.gateway, () => host.icmpEcho?.(), undefined, () => host.icmpEcho6?.());
    this.forwards = new PortForwarder(this.config, this.clock, host, this.tcp, this.udp);
    this.gateway.onIpv4((input) => this.inputIpv4(input));
    this.gateway.onIpv6((input) => this.inputIpv6(input));
  }

  private inputIpv6(input: Ipv6Input): void {
    const { ip, transport } = input.frame.network;
    if (!this.running) return;
    if (transport.kind === 'tcp') this.tcp.input(ip, transport.tcp);
    else if (transport.kind === 'udp') this.udp.input(ip, transport.udp, () => udpQuote6(input));
    else if (transport.kind === 'icmpv6') this.icmp.input6(ip, transport.icmp);
  }

  private inputIpv4(input: Ipv4Input): void {
    const { ip, transport } = input.frame.network;
    if (!this.running) return;
    switch (transport.kind) {
      case 'tcp':
        this.tcp.input(ip, transport.tcp);
        return;
      case 'udp':
        this.udp.input(ip, transport.udp, () => udpQuote4(input, this.config));
        return;
      case 'icmpv4':
        this.icmp.input(ip, transport.icmp);
        return;
      default:
        return;
    }
  }

  /** Start answering frames. */
  start(): void {
    if (this.running) return;
    this.running = true;
    // Frames do not reschedule the timer: nothing a guest frame does creates
    // timed work (replies go out at once, parked packets leave when ARP
    // resolves), and it keeps per-frame cost independent of table sizes.
    this.switch.onLocal((frame) => this.gateway.input(frame));
    this.schedule();
  }

  /** Attach a link; resolves when the link closes. */
  addLink(link: Link): Promise<void> {
    this.links.add(link);
    return this.switch.addLink(link).finally(() => this.links.delete(link));
  }

  /** Send an IPv4 datagram to a guest (see `Gateway.sendIpv4`), then run due timers. */
  sendIpv4(dst: number, packet: Uint8Array): boolean {
    const ok = this.gateway.sendIpv4(dst, packet);
    this.schedule();
    return ok;
  }

  /** Arm the timer for `at` if it is earlier than the one armed. */
  private wake(at: number): void {
    if (!this.running || at >= this.timerAt) return;
    this.cancelTimer?.();
    this.timerAt = at;
    this.cancelTimer = this.clock.setTimer(Math.max(0, at - this.clock.now()), () => this.tick());
  }

  private tick(): void {
    this.cancelTimer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    this.switch.expire();
    this.tcp.poll(now);
    this.udp.poll(now);
    this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    const next = Math.min(this.gateway.poll() ?? Infinity, this.tcp.pollAt() ?? Infinity, this.udp.pollAt() ?? Infinity);
    const now = this.clock.now();
    const at = Math.min(next, now + TICK_MS);
    if (at >= this.timerAt && this.cancelTimer !== undefined) return;
    this.cancelTimer?.();
    this.timerAt = at;
    this.cancelTimer = this.clock.setTimer(Math.max(0, at - now), () => this.tick());
  }

  stats(): StackStats {
    const links: Record<string, ReturnType<Link['stats']>> = {};
    for (const l of this.links) links[l.name] = l.stats();
    return { switch: this.switch.stats(), gateway: this.gateway.stats(), links, tcp: this.tcp.stats(), udp: this.udp.stats(), icmp: this.icmp.stats() };
  }

  /** Stop timers and close every link. */
  async close(): Promise<void> {
    await this.forwards.close();
    this.tcp.close();
    this.udp.close();
    this.icmp.close();
    this.running = false;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.switch.onLocal(undefined);
    await this.switch.close();
  }
}
