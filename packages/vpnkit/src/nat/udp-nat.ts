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
 * The gateway's own UDP services (DNS on port 53) and port-forward replies
 * are handled before the NAT.  Flows expire after `idleTimeoutMs` without
 * traffic either way; the table is bounded (`maxFlows`, oldest evicted).
 */

import type * as dgram from 'node:dgram';
import type { Clock, StackConfig } from '../stack/config.js';
import { Ipv4Address, type Ipv4Repr, type UdpRepr } from '../wire/index.js';
import { DeadlineQueue } from './deadlines.js';
import type { HostNetwork } from './host.js';
import { natRoutable, udpFrames } from './packet.js';
import type { GuestPort } from './tcp-nat.js';

/** A UDP service on the gateway: gets a datagram, may answer it. */
export type LocalUdpService = (payload: Uint8Array, reply: (payload: Uint8Array) => void) => void;

export interface UdpNatOptions {
  /** Default 4096 flows. */
  maxFlows?: number;
  /** Default 60000 ms (RFC 4787 REQ-5 asks for at least 2 minutes for arbitrary ports; vpnkit uses 60 s). */
  idleTimeoutMs?: number;
  /** Services on the gateway address, by port. */
  localServices?: ReadonlyMap<number, LocalUdpService>;
}

export interface UdpNatStats {
  flows: number;
  toHost: number;
  toGuest: number;
  /** Datagrams dropped: unroutable destination, send failure, too large. */
  dropped: number;
  expired: number;
  evicted: number;
}

interface UdpFlow {
  readonly key: string;
  readonly guestIp: Ipv4Address;
  readonly guestPort: number;
  readonly socket: dgram.Socket;
  lastActive: number;
}

/** Replies to datagrams a port forward sent into the guest, by the gateway port it used. */
export type UdpReturnPath = (payload: Uint8Array, guestIp: Ipv4Address, guestPort: number) => void;

export class UdpNat {
  private readonly flows = new Map<string, UdpFlow>();
  private readonly deadlines = new DeadlineQueue<UdpFlow>();
  private readonly returnPaths = new Map<number, UdpReturnPath>();
  private readonly maxFlows: number;
  private readonly idleMs: number;
  private readonly services: ReadonlyMap<number, LocalUdpService>;
  private readonly counters = { toHost: 0, toGuest: 0, dropped: 0, expired: 0, evicted: 0 };
  private closed = false;

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
  }

  /** A UDP datagram from the guest (checksum verified, not a fragment). */
  input(ip: Ipv4Repr, udp: UdpRepr): void {
    if (this.closed) return;
    const src = ip.src >>> 0;
    const dst = ip.dst >>> 0;
    if (dst === this.config.gatewayIp) {
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
      service(udp.payload.slice(), (reply) => this.sendToGuest(this.config.gatewayIp, port, src, srcPort, reply));
      return;
    }
    if (!natRoutable(this.config, dst)) {
      this.counters.dropped++;
      return;
    }
    const flow = this.flowFor(src, udp.srcPort);
    if (flow === undefined) {
      this.counters.dropped++;
      return;
    }
    flow.lastActive = this.clock.now();
    const hostAddr = dst === this.config.hostIp ? '127.0.0.1' : Ipv4Address.format(dst);
    // dgram may send after this call returns; the payload is a view into a frame.
    flow.socket.send(udp.payload.slice(), udp.dstPort, hostAddr, (err) => {
      if (err) this.counters.dropped++;
    });
    this.counters.toHost++;
  }

  /** Send a datagram to a guest (from `srcIp:srcPort` as the guest sees it). */
  sendToGuest(srcIp: Ipv4Address, srcPort: number, guestIp: Ipv4Address, guestPort: number, payload: Uint8Array): void {
    const frames = udpFrames(srcIp, guestIp, this.guest.nextIdent(), srcPort, guestPort, payload, this.config.mtu);
    if (frames.length === 0) {
      this.counters.dropped++;
      return;
    }
    for (const f of frames) this.guest.sendIpv4Frame(guestIp, f);
    this.counters.toGuest++;
  }

  /** Route guest datagrams sent to gatewayIp:`port` to `path` (port forwards). */
  addReturnPath(port: number, path: UdpReturnPath): void {
    this.returnPaths.set(port, path);
  }

  removeReturnPath(port: number): void {
    this.returnPaths.delete(port);
  }

  hasReturnPath(port: number): boolean {
    return this.returnPaths.has(port);
  }

  private flowFor(guestIp: Ipv4Address, guestPort: number): UdpFlow | undefined {
    const key = `${guestIp}:${guestPort}`;
    const existing = this.flows.get(key);
    if (existing !== undefined) return existing;
    if (this.flows.size >= this.maxFlows) this.evictOldest();
    let socket: dgram.Socket;
    try {
      socket = this.host.udpSocket(4);
    } catch {
      return undefined;
    }
    const flow: UdpFlow = { key, guestIp, guestPort, socket, lastActive: this.clock.now() };
    socket.on('message', (msg, rinfo) => {
      if (this.flows.get(key) !== flow) return;
      const from = rinfo.family === 'IPv4' ? Ipv4Address.parse(rinfo.address) : undefined;
      if (from === undefined) return;
      // The host's loopback is the host alias inside the guest.
      const src = from >>> 24 === 127 ? this.config.hostIp : from;
      flow.lastActive = this.clock.now();
      this.sendToGuest(src, rinfo.port, guestIp, guestPort, msg);
    });
    socket.on('error', () => this.drop(flow));
    socket.bind(0);
    socket.unref();
    this.flows.set(key, flow);
    const at = flow.lastActive + this.idleMs;
    this.deadlines.set(flow, at);
    this.wake(at);
    return flow;
  }

  private evictOldest(): void {
    let oldest: UdpFlow | undefined;
    for (const f of this.flows.values()) if (oldest === undefined || f.lastActive < oldest.lastActive) oldest = f;
    if (oldest !== undefined) {
      this.counters.evicted++;
      this.drop(oldest);
    }
  }

  private drop(flow: UdpFlow): void {
    if (this.flows.get(flow.key) !== flow) return;
    this.flows.delete(flow.key);
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
    for (const f of [...this.flows.values()]) this.drop(f);
    this.returnPaths.clear();
  }
}
