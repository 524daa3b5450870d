/**
 * Port forwarding from the host into a guest (moby/vpnkit's "expose"):
 * a TCP or UDP listener on a host address and port whose traffic goes to a
 * guest address and port.  TCP connections are relayed by the TCP NAT
 * (the guest sees them come from the gateway address); UDP datagrams from
 * each host client get their own gateway port so replies find their way
 * back.  Added and removed at run time (`expose`, `unexpose`, `list`).
 *
 * Either family on either side: the host listener may be an IPv4 or IPv6
 * address (127.0.0.1, ::1, 0.0.0.0, ::), the guest an IPv4 address in the
 * subnet or an IPv6 one in the prefix (its SLAAC address); an IPv6 guest
 * sees the traffic come from the gateway's IPv6 address.  Ids name the
 * listener: `tcp:127.0.0.1:8080`, `udp:[::1]:5353`.
 */

import type * as dgram from 'node:dgram';
import type * as net from 'node:net';
import type { Clock, StackConfig } from '../stack/config.js';
import { Ipv4Address, Ipv6Address, type IpAddress } from '../wire/index.js';
import { sameAddr } from './flow-table.js';
import type { HostNetwork } from './host.js';
import type { TcpNat } from './tcp-nat.js';
import type { UdpNat } from './udp-nat.js';

export interface ForwardSpec {
  proto: 'tcp' | 'udp';
  /** Host address to listen on, IPv4 or IPv6. Default 127.0.0.1 (::1 for an IPv6 guest). */
  hostIp?: string;
  /** Host port; 0 picks a free one. */
  hostPort: number;
  /** Guest address (on the stack's IPv4 subnet or in its IPv6 prefix) and port. */
  guestIp: string;
  guestPort: number;
}

export interface Forward {
  readonly id: string;
  readonly proto: 'tcp' | 'udp';
  readonly hostIp: string;
  readonly hostPort: number;
  readonly guestIp: string;
  readonly guestPort: number;
}

export class ForwardError extends Error {
  constructor(
    readonly code: 'INVALID' | 'EXISTS' | 'NOT_FOUND' | 'LISTEN_FAILED' | 'LIMIT',
    message: string,
  ) {
    super(message);
    this.name = 'ForwardError';
  }
}

interface Active {
  forward: Forward;
  close(): Promise<void>;
}

/** UDP clients of one forward: host (address, port) <-> gateway port. */
interface UdpClient {
  readonly address: string;
  readonly port: number;
  readonly gatewayPort: number;
  lastActive: number;
}

const MAX_UDP_CLIENTS = 1024;
const UDP_CLIENT_IDLE_MS = 60_000;

function tryParseIpv4(text: string): number | undefined {
  try {
    return Ipv4Address.parse(text);
  } catch {
    return undefined;
  }
}

/** An IPv4 or IPv6 address (no zone): undefined when it is neither. */
function tryParseIp(text: unknown): IpAddress | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const v4 = tryParseIpv4(text);
  if (v4 !== undefined) return v4;
  try {
    return Ipv6Address.parse(text);
  } catch {
    return undefined;
  }
}

function formatIp(a: IpAddress): string {
  return typeof a === 'number' ? Ipv4Address.format(a) : Ipv6Address.format(a);
}

/** `127.0.0.1:80`, `[::1]:80`. */
function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function isWildcard(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

function checkPort(p: unknown, what: string, allowZero: boolean): number {
  if (typeof p !== 'number' || !Number.isInteger(p) || p < (allowZero ? 0 : 1) || p > 65535) {
    throw new ForwardError('INVALID', `${what} must be an integer ${allowZero ? 0 : 1}-65535, got ${JSON.stringify(p)}`);
  }
  return p;
}

export class PortForwarder {
  private readonly active = new Map<string, Active>();
  private readonly maxForwards: number;

  constructor(
    private readonly config: StackConfig,
    private readonly clock: Clock,
    private readonly host: HostNetwork,
    private readonly tcp: TcpNat,
    private readonly udp: UdpNat,
    opts: { maxForwards?: number } = {},
  ) {
    this.maxForwards = opts.maxForwards ?? 1024;
  }

  list(): Forward[] {
    return [...this.active.values()].map((a) => a.forward);
  }

  /** Start forwarding; resolves once the host listener is bound. */
  async expose(spec: ForwardSpec): Promise<Forward> {
    if (spec === null || typeof spec !== 'object') throw new ForwardError('INVALID', 'a forward is an object');
    if (spec.proto !== 'tcp' && spec.proto !== 'udp') {
      throw new ForwardError('INVALID', `proto must be "tcp" or "udp", got ${JSON.stringify(spec.proto)}`);
    }
    const hostPort = checkPort(spec.hostPort, 'hostPort', true);
    const guestPort = checkPort(spec.guestPort, 'guestPort', false);
    const guest = tryParseIp(spec.guestIp);
    if (guest === undefined || !this.isGuestAddress(guest)) {
      const c = this.config;
      const where = `${Ipv4Address.format(c.network)}/${c.prefixLen}` + (c.ipv6 ? ` or ${Ipv6Address.format(c.ipv6Prefix)}/64` : '');
      throw new ForwardError('INVALID', `guestIp must be a guest address in ${where}, got ${JSON.stringify(spec.guestIp)}`);
    }
    const hostAddr = tryParseIp(spec.hostIp ?? (typeof guest === 'number' ? '127.0.0.1' : '::1'));
    if (hostAddr === undefined) {
      throw new ForwardError('INVALID', `hostIp must be an IPv4 or IPv6 address, got ${JSON.stringify(spec.hostIp)}`);
    }
    const hostIp = formatIp(hostAddr); // canonical, so ids and the duplicate check compare text
    if (this.active.size >= this.maxForwards) throw new ForwardError('LIMIT', `at most ${this.maxForwards} forwards`);
    if (hostPort !== 0) {
      for (const a of this.active.values()) {
        const f = a.forward;
        if (f.proto === spec.proto && f.hostPort === hostPort && (f.hostIp === hostIp || isWildcard(f.hostIp) || isWildcard(hostIp))) {
          throw new ForwardError('EXISTS', `${spec.proto} ${hostIp}:${hostPort} is already forwarded (${f.id})`);
        }
      }
    }
    const a = spec.proto === 'tcp' ? await this.exposeTcp(hostIp, hostPort, guest, guestPort) : await this.exposeUdp(hostIp, hostPort, guest, guestPort);
    this.active.set(a.forward.id, a);
    return a.forward;
  }

  /** A guest's address: in the subnet or the IPv6 prefix, and none of the gateway's. */
  private isGuestAddress(a: IpAddress): boolean {
    const c = this.config;
    if (typeof a === 'number') return Ipv4Address.inSubnet(a, c.network, c.prefixLen) && a !== c.gatewayIp && a !== c.hostIp;
    if (!c.ipv6) return false;
    for (let i = 0; i < 8; i++) if (a[i] !== c.ipv6Prefix[i]) return false;
    let iid = 0;
    for (let i = 8; i < 16; i++) iid |= a[i]!;
    // Not the Subnet-Router anycast (interface identifier 0, RFC 4291 §2.6.1), nor the gateway or host alias.
    return iid !== 0 && !sameAddr(a, c.gatewayIpv6) && !sameAddr(a, c.hostIpv6);
  }

  /** The gateway address a forward's traffic comes from, in the guest's family. */
  private gatewayFor(guest: IpAddress): IpAddress {
    return typeof guest === 'number' ? this.config.gatewayIp : this.config.gatewayIpv6;
  }

  /** Stop a forward: its listener closes and its connections are reset. */
  async unexpose(id: string): Promise<void> {
    const a = this.active.get(id);
    if (a === undefined) throw new ForwardError('NOT_FOUND', `no forward ${JSON.stringify(id)}`);
    this.active.delete(id);
    await a.close();
  }

  private async exposeTcp(hostIp: string, hostPort: number, guest: IpAddress, guestPort: number): Promise<Active> {
    let id = '';
    const server = this.host.tcpServer((socket: net.Socket) => {
      this.tcp.openToGuest(socket, guest, guestPort, id);
    });
    const port = await listen(hostIp, hostPort, (cb) => server.on('error', cb), (p, h, cb) => server.listen(p, h, cb), () => {
      const addr = server.address();
      return typeof addr === 'object' && addr !== null ? addr.port : 0;
    });
    id = `tcp:${endpoint(hostIp, port)}`;
    const forward: Forward = { id, proto: 'tcp', hostIp, hostPort: port, guestIp: formatIp(guest), guestPort };
    return {
      forward,
      close: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          this.tcp.closeForward(id);
        }),
    };
  }

  private async exposeUdp(hostIp: string, hostPort: number, guest: IpAddress, guestPort: number): Promise<Active> {
    const socket: dgram.Socket = this.host.udpSocket(hostIp.includes(':') ? 6 : 4);
    const gateway = this.gatewayFor(guest);
    const port = await listen(hostIp, hostPort, (cb) => socket.on('error', cb), (p, h, cb) => socket.bind(p, h, cb), () => socket.address().port);
    const id = `udp:${endpoint(hostIp, port)}`;
    const byClient = new Map<string, UdpClient>();
    const release = (c: UdpClient): void => {
      byClient.delete(`${c.address}:${c.port}`);
      this.udp.removeReturnPath(c.gatewayPort);
    };
    const clientFor = (address: string, p: number): UdpClient | undefined => {
      const key = `${address}:${p}`;
      const now = this.clock.now();
      const known = byClient.get(key);
      if (known !== undefined) return known;
      // Housekeeping on the (rare) new-client path: idle clients go, then the oldest if full.
      for (const c of byClient.values()) if (now - c.lastActive > UDP_CLIENT_IDLE_MS) release(c);
      if (byClient.size >= MAX_UDP_CLIENTS) {
        const oldest = byClient.values().next().value;
        if (oldest !== undefined) release(oldest);
      }
      for (let tries = 0; tries < 64; tries++) {
        const gp = 32768 + Math.floor(Math.random() * (61000 - 32768));
        if (this.udp.hasReturnPath(gp)) continue;
        const c: UdpClient = { address, port: p, gatewayPort: gp, lastActive: now };
        byClient.set(key, c);
        this.udp.addReturnPath(gp, (payload, fromIp, fromPort) => {
          if (!sameAddr(fromIp, guest) || fromPort !== guestPort) return;
          c.lastActive = this.clock.now();
          socket.send(payload, c.port, c.address);
        });
        return c;
      }
      return undefined;
    };
    socket.on('message', (msg, rinfo) => {
      const c = clientFor(rinfo.address, rinfo.port);
      if (c === undefined) return;
      c.lastActive = this.clock.now();
      this.udp.sendToGuest(gateway, c.gatewayPort, guest, guestPort, msg);
    });
    const forward: Forward = { id, proto: 'udp', hostIp, hostPort: port, guestIp: formatIp(guest), guestPort };
    return {
      forward,
      close: () =>
        new Promise<void>((resolve) => {
          for (const c of [...byClient.values()]) release(c);
          socket.close(() => resolve());
        }),
    };
  }

  async close(): Promise<void> {
    const all = [...this.active.values()];
    this.active.clear();
    await Promise.all(all.map((a) => a.close()));
  }
}

/**
 * Bind a listener, turning the bind error into a ForwardError.  The error listener stays: later
 * errors (a failed accept such as EMFILE, a UDP send the host refused) are dropped and the
 * listener goes on, instead of an 'error' with no listener ending the process.
 */
function listen(
  hostIp: string,
  hostPort: number,
  onError: (cb: (e: Error) => void) => void,
  bind: (port: number, host: string, cb: () => void) => void,
  boundPort: () => number,
): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let settled = false;
    onError((e) => {
      if (settled) return;
      settled = true;
      reject(new ForwardError('LISTEN_FAILED', `cannot listen on ${endpoint(hostIp, hostPort)}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    });
    bind(hostPort, hostIp, () => {
      if (settled) return;
      settled = true;
      resolve(boundPort());
    });
  });
}
