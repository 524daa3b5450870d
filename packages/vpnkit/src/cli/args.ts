/**
 * `vpnkit` command-line flags, in the spirit of moby/vpnkit's:
 *
 *   vpnkit --ethernet unix:/tmp/vpnkit.eth --port-control unix:/tmp/vpnkit.port
 *   vpnkit --qemu unix:/tmp/qemu.sock --pcap /tmp/vm.pcap
 *   vpnkit --tap vk0 --dns 127.0.0.53 --hosts /etc/hosts
 *
 * Pure: argv in, a validated `CliOptions` out, or a `UsageError` saying
 * which flag is wrong.
 */

import { isIPv6 } from 'node:net';
import { Ipv4Address, Ipv6Address } from '../wire/index.js';

export const USAGE = `usage: vpnkit [options]

Links (at least one; each may be repeated):
  --ethernet unix:PATH     serve the vpnkit/hyperkit protocol (VMN3T) on a Unix socket
  --qemu unix:PATH         serve QEMU's stream protocol (qemu -netdev stream,addr.type=unix,...)
  --tap NAME               attach a Linux TAP interface (needs CAP_NET_ADMIN)

Services:
  --port-control unix:PATH HTTP/JSON port-forwarding API (GET/POST /forwards, DELETE /forwards/ID)
  --forward tcp|udp:HOSTIP:HOSTPORT:GUESTIP:GUESTPORT
                           forward a host port into the guest at start (repeatable);
                           IPv6 addresses in brackets: tcp:[::1]:8080:[fd00:192:168:65::3]:80
  --dns IP[:PORT]          upstream DNS server (repeatable; default: /etc/resolv.conf's)
  --hosts FILE             answer names from this hosts(5) file first
  --pcap FILE              capture every frame the switch sees (pcap, for tshark/wireshark)

Network (defaults as moby/vpnkit):
  --subnet CIDR            guest subnet (192.168.65.0/24)
  --gateway-ip IP          gateway: router, DHCP and DNS server (192.168.65.1)
  --host-ip IP             host alias: reaches the host's 127.0.0.1 (192.168.65.2)
  --mtu N                  MTU advertised by DHCP (1500)
  --domain NAME            DNS domain advertised by DHCP
  --ipv6-prefix P::/64     IPv6 prefix advertised for SLAAC (fd00:192:168:65::/64); the gateway
                           is P::1 and the host alias P::2 (reaches the host's ::1)
  --no-ipv6                no router advertisements, neighbour discovery or IPv6 NAT
  --tcp-buffer-memory MIB  memory all TCP connections' buffers may grow into beyond 16 KiB per
                           direction each (256); each connection's buffers stop at 4 MiB

  --help, --version
`;

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CliForward {
  proto: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  guestIp: string;
  guestPort: number;
}

/** An IPv4 address, or an IPv6 one in brackets (returned without them). */
function forwardAddress(flag: string, text: string): string {
  if (text.startsWith('[')) {
    const inner = text.slice(1, -1);
    if (!isIPv6(inner)) throw new UsageError(`${flag}: ${JSON.stringify(inner)} is not an IPv6 address`);
    return inner;
  }
  ipv4(flag, text);
  return text;
}

export interface CliOptions {
  help: boolean;
  version: boolean;
  ethernet: string[];
  qemu: string[];
  tap: string[];
  portControl?: string;
  forwards: CliForward[];
  dns: Array<{ host: string; port: number }>;
  hosts?: string;
  pcap?: string;
  network?: number;
  prefixLen?: number;
  gatewayIp?: number;
  hostIp?: number;
  mtu?: number;
  /** --tcp-buffer-memory, MiB. */
  tcpBufferMiB?: number;
  domain?: string;
  ipv6Prefix?: Uint8Array;
  noIpv6?: boolean;
}

function ipv4(flag: string, text: string): number {
  try {
    return Ipv4Address.parse(text);
  } catch {
    throw new UsageError(`${flag}: ${JSON.stringify(text)} is not an IPv4 address`);
  }
}

function port(flag: string, text: string, allowZero = false): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(n >= (allowZero ? 0 : 1) && n <= 65535)) throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a port`);
  return n;
}

function unixPath(flag: string, text: string): string {
  if (!text.startsWith('unix:') || text.length <= 5) throw new UsageError(`${flag}: expected unix:PATH, got ${JSON.stringify(text)}`);
  return text.slice(5);
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = { help: false, version: false, ethernet: [], qemu: [], tap: [], forwards: [], dns: [] };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] as string;
    const eq = raw.startsWith('--') ? raw.indexOf('=') : -1;
    const flag = eq > 0 ? raw.slice(0, eq) : raw;
    const value = (): string => {
      if (eq > 0) return raw.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-h':
      case '--help':
        o.help = true;
        break;
      case '--version':
        o.version = true;
        break;
      case '--ethernet':
        o.ethernet.push(unixPath(flag, value()));
        break;
      case '--qemu':
        o.qemu.push(unixPath(flag, value()));
        break;
      case '--tap': {
        const v = value();
        if (!/^[A-Za-z0-9_.%-]{1,15}$/.test(v)) throw new UsageError(`--tap: ${JSON.stringify(v)} is not an interface name (1-15 characters)`);
        o.tap.push(v);
        break;
      }
      case '--port-control':
        o.portControl = unixPath(flag, value());
        break;
      case '--forward': {
        const v = value();
        const m = /^(tcp|udp):(\[[^\]]*\]|[^:[\]]+):(\d+):(\[[^\]]*\]|[^:[\]]+):(\d+)$/.exec(v);
        if (m === null) throw new UsageError(`--forward: expected tcp|udp:HOSTIP:HOSTPORT:GUESTIP:GUESTPORT (IPv6 in brackets), got ${JSON.stringify(v)}`);
        o.forwards.push({
          proto: m[1] as 'tcp' | 'udp',
          hostIp: forwardAddress(flag, m[2] as string),
          hostPort: port(flag, m[3] as string, true),
          guestIp: forwardAddress(flag, m[4] as string),
          guestPort: port(flag, m[5] as string),
        });
        break;
      }
      case '--dns': {
        const v = value();
        const [h, p] = v.split(':');
        o.dns.push({ host: Ipv4Address.format(ipv4(flag, h ?? '')), port: p === undefined ? 53 : port(flag, p) });
        break;
      }
      case '--hosts':
        o.hosts = value();
        break;
      case '--pcap':
        o.pcap = value();
        break;
      case '--subnet': {
        const v = value();
        const m = /^([\d.]+)\/(\d{1,2})$/.exec(v);
        const len = m === null ? NaN : Number(m[2]);
        if (m === null || !(len >= 8 && len <= 30)) throw new UsageError(`--subnet: expected A.B.C.D/N with N in 8..30, got ${JSON.stringify(v)}`);
        const net = ipv4(flag, m[1] as string);
        const mask = Ipv4Address.netmask(len);
        if ((net & ~mask) >>> 0 !== 0) throw new UsageError(`--subnet: ${v} has host bits set`);
        o.network = net;
        o.prefixLen = len;
        break;
      }
      case '--gateway-ip':
        o.gatewayIp = ipv4(flag, value());
        break;
      case '--host-ip':
        o.hostIp = ipv4(flag, value());
        break;
      case '--mtu': {
        const v = value();
        const n = /^\d+$/.test(v) ? Number(v) : NaN;
        if (!(n >= 576 && n <= 65520)) throw new UsageError(`--mtu: expected 576..65520, got ${JSON.stringify(v)}`);
        o.mtu = n;
        break;
      }
      case '--tcp-buffer-memory': {
        const v = value();
        const n = /^\d+$/.test(v) ? Number(v) : NaN;
        if (!(n >= 1 && n <= 65536)) throw new UsageError(`--tcp-buffer-memory: expected 1..65536 (MiB), got ${JSON.stringify(v)}`);
        o.tcpBufferMiB = n;
        break;
      }
      case '--domain': {
        const v = value();
        if (!/^[A-Za-z0-9.-]{1,253}$/.test(v)) throw new UsageError(`--domain: ${JSON.stringify(v)} is not a domain name`);
        o.domain = v;
        break;
      }
      case '--ipv6-prefix': {
        const v = value();
        const m = /^([0-9A-Fa-f:.]+)\/64$/.exec(v);
        let p: Uint8Array | undefined;
        try {
          p = m === null ? undefined : Ipv6Address.parse(m[1] as string);
        } catch {
          p = undefined;
        }
        if (p === undefined) throw new UsageError(`--ipv6-prefix: expected an IPv6 prefix ending in /64, got ${JSON.stringify(v)}`);
        if (p.subarray(8).some((b) => b !== 0)) throw new UsageError(`--ipv6-prefix: ${v} has host bits set`);
        if (p[0] === 0xff || Ipv6Address.isLinkLocal(p) || p.subarray(0, 8).every((b) => b === 0)) {
          throw new UsageError(`--ipv6-prefix: ${v} is not a unicast prefix for guests`);
        }
        o.ipv6Prefix = p;
        break;
      }
      case '--no-ipv6':
        o.noIpv6 = true;
        break;
      default:
        throw new UsageError(`unknown option ${JSON.stringify(raw)}`);
    }
  }
  if (!o.help && !o.version && o.ethernet.length + o.qemu.length + o.tap.length === 0) {
    throw new UsageError('no link: give --ethernet, --qemu or --tap');
  }
  return o;
}
