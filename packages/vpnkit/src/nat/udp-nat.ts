/**
 * UDP NAT (RFC 768 datagrams to host sockets), endpoint-independent as
 * RFC 4787 §4.1 recommends: one host socket per guest (address, port), so a
 * guest socket keeps one mapping whatever it talks to, and replies from
 * any host address come back to it.
 *
 *   guest 192.168.65.3:5000 -> 8.8.8.8:53   host socket S (ephemeral port) sends to 8.8.8.8:53
 *   8.8.8.8:53 -> S                         guest gets 8.8.8.8:53 -> 192.168.65.3:5000
 *   guest -> hostIp:P                       S sends to 127.0.0.1:P; replies appear from hostIp
 *
 *   guest [fd00:192:168:65::x]:5000 -> hostIpv6:P   an IPv6 socket sends to [::1]:P
 *
 * Traffic to the host alias takes a connected socket per (guest endpoint,
 * host port) instead: Linux tells an unconnected UDP socket nothing of the
 * ICMP errors its datagrams cause, a connected one gets ECONNREFUSED, which
 * becomes an ICMP port unreachable to the guest (RFC 1122 §4.1.3.1 / RFC
 * 4443 §3.1) quoting the guest's last datagram, rate-limited.  The price:
 * replies to such a flow come only from the port it sent to.
 *
 * The gateway's own UDP services (DNS on port 53) and port-forward replies
 * (both over either family) are handled before the NAT.  Datagrams larger
 * than the MTU are fragmented towards the guest (IPv4 or IPv6 fragments).
 * Flows (both kinds) expire after `idleTimeoutMs` without traffic either
 * way; the table is bounded (`maxFlows`, oldest evicted).
 */

import type * as dgram from 'node:dgram';
import type { Clock, StackConfig } from '../stack/config.js';
import { Ipv4Address, Ipv6Address, type IpAddress, type UdpRepr } from '../wire/index.js';
import { DeadlineQueue } from './deadlines.js';
import { FlowTable, sameAddr } from './flow-table.js';
import {
  IcmpErrorLimiter,
  IcmpErrorType,
  icmpv4ErrorFrame,
  icmpv6ErrorFrame,
  type IcmpErrorLimiterOptions,
} from './icmp-error.js';
import type { HostNetwork } from './host.js';
import { natRoutable, natRoutable6, udpFrames, udpFrames6 } from './packet.js';
import type { GuestPort, IpEnds } from './tcp-nat.js';

/** A UDP service on the gateway: gets a datagram, may answer it. */
export type LocalUdpService = (payload: Uint8Array, reply: (payload: Uint8Array) => void) => void;

export interface UdpNatOptions {
  /** Default 4096 flows. */
  maxFlows?: number;
  /** Default 60000 ms (RFC 4787 REQ-5 asks for at least 2 minutes for arbitrary ports; vpnkit uses 60 s). */
  idleTimeoutMs?: number;
  /** Services on the gateway address, by port. */
  localServices?: ReadonlyMap<number, LocalUdpService>;
  /** Rate of the ICMP port unreachables sent to guests. Default 10 at once, then 10 per second. */
  icmpErrors?: IcmpErrorLimiterOptions;
}

/**
 * The quote of the datagram being handed over, for an ICMP error about it
 * (`icmpv4ErrorQuote`/`icmpv6ErrorQuote`): undefined when no error may be
 * sent about it.  Called only when one may be needed.
 */
export type UdpQuote = () => Uint8Array | undefined;

export interface UdpNatStats {
  flows: number;
  toHost: number;
  toGuest: number;
  /** Datagrams dropped: unroutable destination, send failure, too large. */
  dropped: number;
  expired: number;
  evicted: number;
  /** Host ports that refused a guest's datagram (ECONNREFUSED on a host-alias flow). */
  refused: number;
  /** ICMP port unreachables sent to guests, and those the rate limit held back. */
  icmpErrors: number;
  icmpLimited: number;
}

/** Datagrams held while a host-alias flow's socket connects. */
const MAX_CONNECTING = 64;

interface UdpFlow {
  readonly guestIp: IpAddress;
  readonly guestPort: number;
  /**
   * 0 and 0: one mapping per guest endpoint whatever the peer.  The host
   * alias and a port: a connected socket to the host's loopback.
   */
  readonly peerIp: IpAddress;
  readonly peerPort: number;
  readonly socket: dgram.Socket;
  lastActive: number;
  /** Connected flows: datagrams waiting for connect() (undefined once connected). */
  connecting: Uint8Array[] | undefined;
  /** Connected flows: what an ICMP error about the last datagram quotes. */
  quote: Uint8Array | undefined;
}

/** Replies to datagrams a port forward sent into the guest, by the gateway port it used (either family). */
export type UdpReturnPath = (payload: Uint8Array, guestIp: IpAddress, guestPort: number) => void;

export class UdpNat {
  private readonly flows = new FlowTable<UdpFlow>();
  private readonly deadlines = new DeadlineQueue<UdpFlow>();
  private readonly returnPaths = new Map<number, UdpReturnPath>();
  private readonly maxFlows: number;
  private readonly idleMs: number;
  private readonly services: ReadonlyMap<number, LocalUdpService>;
  private readonly counters = { toHost: 0, toGuest: 0, dropped: 0, expired: 0, evicted: 0, refused: 0, icmpErrors: 0, icmpLimited: 0 };
  private readonly limiter: IcmpErrorLimiter;
  private closed = false;
  private ident6 = (Math.random() * 0x100000000) >>> 0;

  constructor(
    private readonly config: StackConfig,
    private readonly clock: Clock,
    private readonly guest: GuestPort,
    private readonly host: HostNetwork,
    private readonly wake: (at: number) => void,
    opts: UdpNatOptions = {},
  ) {
    this.maxFlows = opts.maxFlows ?? 4096;
    this.idleMs = opts.idleTimeoutMs ?? 60_000;
    this.services = opts.localServices ?? new Map();
    this.limiter = new IcmpErrorLimiter(opts.icmpErrors);
  }

  /**
   * A UDP datagram from the guest, over IPv4 or IPv6 (checksum verified,
   * not a fragment).  `quote` lets a refusal be answered with an ICMP error.
   */
  input(ip: IpEnds, udp: UdpRepr, quote?: UdpQuote): void {
    if (this.closed) return;
    if (typeof ip.src !== 'number' || typeof ip.dst !== 'number') {
      this.input6(ip, udp, quote);
      return;
    }
    const src = ip.src >>> 0;
    const dst = ip.dst >>> 0;
    if (dst === this.config.gatewayIp) {
      this.toGateway(this.config.gatewayIp, src, udp);
      return;
    }
    if (!natRoutable(this.config, dst)) {
      this.counters.dropped++;
      return;
    }
    if (dst === this.config.hostIp) this.toHostAlias(src, udp, this.config.hostIp, quote);
    else this.toHost(src, udp, Ipv4Address.format(dst));
  }

  /** A datagram to the gateway itself: a return path (a forward's reply) or a service (DNS). */
  private toGateway(gateway: IpAddress, src: IpAddress, udp: UdpRepr): void {
    const back = this.returnPaths.get(udp.dstPort);
    if (back !== undefined) {
      back(udp.payload.slice(), src, udp.srcPort);
      return;
    }
    const service = this.services.get(udp.dstPort);
    if (service === undefined) {
      this.counters.dropped++;
      return;
    }
    const srcPort = udp.srcPort;
    const port = udp.dstPort;
    service(udp.payload.slice(), (reply) => this.sendToGuest(gateway, port, src, srcPort, reply));
  }

  private input6(ip: IpEnds, udp: UdpRepr, quote?: UdpQuote): void {
    const src = ip.src as Ipv6Address;
    const dst = ip.dst as Ipv6Address;
    const c = this.config;
    if (!c.ipv6) {
      this.counters.dropped++;
      return;
    }
    if (sameAddr(dst, c.gatewayIpv6)) {
      this.toGateway(c.gatewayIpv6, src.slice(), udp);
      return;
    }
    if (!natRoutable6(c, dst)) {
      this.counters.dropped++;
      return;
    }
    if (Ipv6Address.equals(dst, c.hostIpv6)) this.toHostAlias(src, udp, c.hostIpv6, quote);
    else this.toHost(src, udp, Ipv6Address.format(dst));
  }

  /** To the host alias: the connected flow of (guest endpoint, port). */
  private toHostAlias(src: IpAddress, udp: UdpRepr, alias: IpAddress, quote: UdpQuote | undefined): void {
    const flow = this.aliasFlowFor(src, udp.srcPort, alias, udp.dstPort);
    if (flow === undefined) {
      this.counters.dropped++;
      return;
    }
    flow.lastActive = this.clock.now();
    flow.quote = quote?.();
    // dgram may send after this call returns; the payload is a view into a frame.
    const data = udp.payload.slice();
    if (flow.connecting !== undefined) {
      if (flow.connecting.length >= MAX_CONNECTING) {
        this.counters.dropped++;
        return;
      }
      flow.connecting.push(data);
    } else {
      this.sendConnected(flow, data);
    }
    this.counters.toHost++;
  }

  private sendConnected(flow: UdpFlow, data: Uint8Array): void {
    flow.socket.send(data, (err) => {
      if (err) this.onSocketError(flow, err);
    });
  }

  /** ECONNREFUSED (from send or recv) is the host's port unreachable; anything else ends the flow. */
  private onSocketError(flow: UdpFlow, err: Error): void {
    if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || flow.peerPort === 0) {
      this.counters.dropped++;
      this.drop(flow);
      return;
    }
    if (this.flows.get(flow.guestIp, flow.guestPort, flow.peerIp, flow.peerPort) !== flow) return;
    this.counters.refused++;
    const quote = flow.quote;
    flow.quote = undefined; // one error per datagram, as the host's own kernel
    if (quote === undefined) return;
    if (!this.limiter.take(this.clock.now())) {
      this.counters.icmpLimited++;
      return;
    }
    // From the host alias, as if it had answered itself.
    if (typeof flow.peerIp === 'number' && typeof flow.guestIp === 'number') {
      const f = icmpv4ErrorFrame(flow.peerIp, this.guest.nextIdent(), IcmpErrorType.V4_UNREACHABLE, IcmpErrorType.V4_PORT_UNREACHABLE, 0, quote);
      this.guest.sendIpv4Frame(flow.guestIp, f);
    } else if (typeof flow.peerIp !== 'number' && typeof flow.guestIp !== 'number') {
      const f = icmpv6ErrorFrame(flow.peerIp, IcmpErrorType.V6_UNREACHABLE, IcmpErrorType.V6_PORT_UNREACHABLE, 0, quote);
      this.guest.sendIpv6Frame(flow.guestIp, f);
    } else {
      return;
    }
    this.counters.icmpErrors++;
  }

  private aliasFlowFor(guestIp: IpAddress, guestPort: number, alias: IpAddress, port: number): UdpFlow | undefined {
    if (port === 0) return undefined;
    const existing = this.flows.get(guestIp, guestPort, alias, port);
    if (existing !== undefined) return existing;
    const v4 = typeof guestIp === 'number';
    const flow = this.newFlow(guestIp, guestPort, v4 ? alias : (alias as Ipv6Address).slice(), port, []);
    if (flow === undefined) return undefined;
    const socket = flow.socket;
    socket.on('message', (msg, rinfo) => {
      if (this.flows.get(flow.guestIp, guestPort, flow.peerIp, port) !== flow) return;
      if (rinfo.port !== port) return; // connected: the kernel filters already
      flow.lastActive = this.clock.now();
      this.sendToGuest(flow.peerIp, port, flow.guestIp, guestPort, msg);
    });
    socket.on('error', (err) => this.onSocketError(flow, err));
    try {
      socket.connect(port, v4 ? '127.0.0.1' : '::1', () => {
        const queued = flow.connecting ?? [];
        flow.connecting = undefined;
        if (this.flows.get(flow.guestIp, guestPort, flow.peerIp, port) !== flow) return;
        for (const d of queued) this.sendConnected(flow, d);
      });
    } catch {
      try {
        socket.close();
      } catch {
        /* never bound */
      }
      return undefined;
    }
    socket.unref();
    this.flows.add(flow);
    const at = flow.lastActive + this.idleMs;
    this.deadlines.set(flow, at);
    this.wake(at);
    return flow;
  }

  private toHost(src: IpAddress, udp: UdpRepr, hostAddr: string): void {
    const flow = this.flowFor(src, udp.srcPort);
    if (flow === undefined) {
      this.counters.dropped++;
      return;
    }
    flow.lastActive = this.clock.now();
    // dgram may send after this call returns; the payload is a view into a frame.
    flow.socket.send(udp.payload.slice(), udp.dstPort, hostAddr, (err) => {
      if (err) this.counters.dropped++;
    });
    this.counters.toHost++;
  }

  /** Send a datagram to a guest (from `srcIp:srcPort` as the guest sees it; both of one family). */
  sendToGuest(srcIp: IpAddress, srcPort: number, guestIp: IpAddress, guestPort: number, payload: Uint8Array): void {
    if (typeof srcIp !== 'number' || typeof guestIp !== 'number') {
      const frames =
        typeof srcIp !== 'number' && typeof guestIp !== 'number'
          ? udpFrames6(srcIp, guestIp, this.nextIdent6(), srcPort, guestPort, payload, this.config.mtu)
          : [];
      if (frames.length === 0) {
        this.counters.dropped++;
        return;
      }
      for (const f of frames) this.guest.sendIpv6Frame(guestIp as Ipv6Address, f);
      this.counters.toGuest++;
      return;
    }
    const frames = udpFrames(srcIp, guestIp, this.guest.nextIdent(), srcPort, guestPort, payload, this.config.mtu);
    if (frames.length === 0) {
      this.counters.dropped++;
      return;
    }
    for (const f of frames) this.guest.sendIpv4Frame(guestIp, f);
    this.counters.toGuest++;
  }

  /** IPv6 fragment Identification: a counter from a random start (RFC 7739 asks for unpredictable ones). */
  private nextIdent6(): number {
    this.ident6 = (this.ident6 + 1) >>> 0;
    return this.ident6;
  }

  /** Route guest datagrams sent to the gateway's `port` (gatewayIp or gatewayIpv6) to `path` (port forwards). */
  addReturnPath(port: number, path: UdpReturnPath): void {
    this.returnPaths.set(port, path);
  }

  removeReturnPath(port: number): void {
    this.returnPaths.delete(port);
  }

  /** A flow with a fresh host socket (the oldest flow evicted at the bound), not yet in the table. */
  private newFlow(guestIp: IpAddress, guestPort: number, peerIp: IpAddress, peerPort: number, connecting: UdpFlow['connecting']): UdpFlow | undefined {
    if (this.flows.size >= this.maxFlows) this.evictOldest();
    const v4 = typeof guestIp === 'number';
    let socket: dgram.Socket;
    try {
      socket = this.host.udpSocket(v4 ? 4 : 6);
    } catch {
      return undefined;
    }
    return { guestIp: v4 ? guestIp : guestIp.slice(), guestPort, peerIp, peerPort, socket, lastActive: this.clock.now(), connecting, quote: undefined };
  }

  hasReturnPath(port: number): boolean {
    return this.returnPaths.has(port);
  }

  private flowFor(guestIp: IpAddress, guestPort: number): UdpFlow | undefined {
    const existing = this.flows.get(guestIp, guestPort, 0, 0);
    if (existing !== undefined) return existing;
    const v4 = typeof guestIp === 'number';
    const flow = this.newFlow(guestIp, guestPort, 0, 0, undefined);
    if (flow === undefined) return undefined;
    const socket = flow.socket;
    socket.on('message', (msg, rinfo) => {
      if (this.flows.get(flow.guestIp, guestPort, 0, 0) !== flow) return;
      const src = this.replySource(v4, rinfo);
      if (src === undefined) return;
      flow.lastActive = this.clock.now();
      this.sendToGuest(src, rinfo.port, flow.guestIp, guestPort, msg);
    });
    socket.on('error', () => this.drop(flow));
    socket.bind(0);
    socket.unref();
    this.flows.add(flow);
    const at = flow.lastActive + this.idleMs;
    this.deadlines.set(flow, at);
    this.wake(at);
    return flow;
  }

  /** The address a reply appears from inside the guest: the host's loopback is the host alias. */
  private replySource(v4: boolean, rinfo: dgram.RemoteInfo): IpAddress | undefined {
    if (v4) {
      if (rinfo.family !== 'IPv4') return undefined;
      const from = Ipv4Address.parse(rinfo.address);
      return from >>> 24 === 127 ? this.config.hostIp : from;
    }
    if (rinfo.family !== 'IPv6') return undefined;
    let from: Ipv6Address;
    try {
      from = Ipv6Address.parse(rinfo.address);
    } catch {
      return undefined; // a scoped (link-local %zone) source: nothing the guest can answer
    }
    if (Ipv6Address.isIpv4Mapped(from)) return undefined;
    return Ipv6Address.isLoopback(from) ? this.config.hostIpv6 : from;
  }

  private evictOldest(): void {
    let oldest: UdpFlow | undefined;
    for (const f of this.flows.list()) if (oldest === undefined || f.lastActive < oldest.lastActive) oldest = f;
    if (oldest !== undefined) {
      this.counters.evicted++;
      this.drop(oldest);
    }
  }

  private drop(flow: UdpFlow): void {
    if (!this.flows.delete(flow)) return;
    this.deadlines.delete(flow);
    try {
      flow.socket.close();
    } catch {
      /* already closed */
    }
  }


  pollAt(): number | undefined {
    return this.deadlines.peek();
  }

  /** Expire idle flows (activity only moves `lastActive`; the deadline is re-armed here). */
  poll(now: number): void {
    for (const flow of this.deadlines.popDue(now)) {
      const at = flow.lastActive + this.idleMs;
      if (at <= now) {
        this.counters.expired++;
        this.drop(flow);
      } else {
        this.deadlines.set(flow, at);
      }
    }
  }

  stats(): UdpNatStats {
    return { flows: this.flows.size, ...this.counters };
  }

  close(): void {
    this.closed = true;
    for (const f of this.flows.list()) this.drop(f);
    this.returnPaths.clear();
  }
}
