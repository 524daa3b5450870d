/**
 * The gateway's configuration.  Defaults follow moby/vpnkit
 * (src/hostnet/configuration.ml):
 *
 *   let default_gateway_ip = Ipaddr.V4.of_string_exn "192.168.65.1"
 *   let default_host_ip    = Ipaddr.V4.of_string_exn "192.168.65.2"
 *   let default_lowest_ip  = Ipaddr.V4.of_string_exn "192.168.65.3"
 *   let default_highest_ip = Ipaddr.V4.of_string_exn "192.168.65.254"
 *   let default_mtu = 1500
 *   let default_server_macaddr = Macaddr.of_string_exn "F6:16:36:BC:F9:C6"
 */

import { EthernetAddress, Ipv4Address, Ipv6Address } from '../wire/index.js';

/** Time and timers, injected so tests can drive them. */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Call `fn` after `ms`; the returned function cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

/** The real clock: `performance.now()` and unref'd timers. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref();
    return () => clearTimeout(t);
  },
};

export interface StackConfig {
  /** Subnet, e.g. 192.168.65.0/24. */
  readonly network: Ipv4Address;
  readonly prefixLen: number;
  /** The gateway: router, DHCP server, DNS address advertised by default. */
  readonly gatewayIp: Ipv4Address;
  /** The host alias (vpnkit's host_ip): answered by ARP and ICMP like the gateway. */
  readonly hostIp: Ipv4Address;
  readonly gatewayMac: EthernetAddress;
  /** DNS servers advertised by DHCP (default: the gateway). */
  readonly dnsServers: readonly Ipv4Address[];
  /** Domain advertised by DHCP (none by default). */
  readonly domainName?: string;
  /** MTU advertised by DHCP (option 26). */
  readonly mtu: number;
  readonly leaseTimeS: number;
  readonly rangeStart: Ipv4Address;
  readonly rangeEnd: Ipv4Address;
  /**
   * IPv6 on the gateway (router advertisements, neighbour discovery, ICMPv6
   * echo) and in the NAT.  Default true (false when `mtu` < 1280); false
   * leaves IPv6 frames unhandled (switched between links only).
   */
  readonly ipv6: boolean;
  /** The guests' IPv6 prefix, advertised for SLAAC: a /64 (default fd00:192:168:65::/64, a ULA). */
  readonly ipv6Prefix: Ipv6Address;
  readonly ipv6PrefixLen: number;
  /** The gateway's IPv6 address in the prefix (default prefix::1).  It also has fe80:: from its MAC. */
  readonly gatewayIpv6: Ipv6Address;
  /** The host alias over IPv6 (default prefix::2): reaches the host's ::1. */
  readonly hostIpv6: Ipv6Address;
  /** DNS servers advertised in RAs (RFC 8106 RDNSS; default: the gateway's IPv6 address). */
  readonly dnsServersV6: readonly Ipv6Address[];
  /** Bounds. */
  readonly arpCacheSize: number;
  /** IPv6 neighbour cache entries (default 256). */
  readonly neighborCacheSize: number;
  readonly macTableSize: number;
  readonly maxLeases: number;
}

export type StackOptions = Partial<StackConfig> & { readonly clock?: Clock };

const ip = Ipv4Address.parse;

export const STACK_DEFAULTS: StackConfig = {
  network: ip('192.168.65.0'),
  prefixLen: 24,
  gatewayIp: ip('192.168.65.1'),
  hostIp: ip('192.168.65.2'),
  gatewayMac: EthernetAddress.parse('f6:16:36:bc:f9:c6'),
  dnsServers: [ip('192.168.65.1')],
  mtu: 1500,
  leaseTimeS: 7200,
  rangeStart: ip('192.168.65.3'),
  rangeEnd: ip('192.168.65.254'),
  ipv6: true,
  ipv6Prefix: Ipv6Address.parse('fd00:192:168:65::'),
  ipv6PrefixLen: 64,
  gatewayIpv6: Ipv6Address.parse('fd00:192:168:65::1'),
  hostIpv6: Ipv6Address.parse('fd00:192:168:65::2'),
  dnsServersV6: [Ipv6Address.parse('fd00:192:168:65::1')],
  arpCacheSize: 256,
  neighborCacheSize: 256,
  macTableSize: 1024,
  maxLeases: 1024,
};

/** `prefix` with the low 64 bits replaced by `id`. */
function inPrefix(prefix: Ipv6Address, id: number): Ipv6Address {
  const a = new Uint8Array(16);
  a.set(prefix.subarray(0, 8));
  a[14] = (id >>> 8) & 0xff;
  a[15] = id & 0xff;
  return a;
}

export function resolveStackConfig(opts: StackOptions = {}): StackConfig {
  const { clock: _clock, ...rest } = opts;
  let c: StackConfig = { ...STACK_DEFAULTS, ...rest };
  if (rest.dnsServers === undefined) c = { ...c, dnsServers: [c.gatewayIp] };
  // IPv6 needs links of at least 1280 bytes (RFC 8200 §5): below that it is off unless asked for.
  if (c.mtu < 1280) {
    if (rest.ipv6 === true) throw new RangeError(`IPv6 needs an MTU of at least 1280, got ${c.mtu}`);
    c = { ...c, ipv6: false };
  }
  if (c.ipv6Prefix.length !== 16) throw new RangeError('ipv6Prefix must be 16 bytes');
  // SLAAC (RFC 4862 §5.5.3 d, RFC 4291 §2.5.1) forms addresses from 64-bit interface ids.
  if (c.ipv6PrefixLen !== 64) throw new RangeError(`ipv6PrefixLen must be 64 (SLAAC), got ${c.ipv6PrefixLen}`);
  c = { ...c, ipv6Prefix: inPrefix(c.ipv6Prefix, 0) };
  if (rest.ipv6Prefix !== undefined) {
    // A new prefix moves the derived addresses with it unless they were given too.
    if (rest.gatewayIpv6 === undefined) c = { ...c, gatewayIpv6: inPrefix(c.ipv6Prefix, 1) };
    if (rest.hostIpv6 === undefined) c = { ...c, hostIpv6: inPrefix(c.ipv6Prefix, 2) };
  }
  if (rest.dnsServersV6 === undefined) c = { ...c, dnsServersV6: [c.gatewayIpv6] };
  return c;
}
