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

import { EthernetAddress, Ipv4Address } from '../wire/index.js';

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
  /** Bounds. */
  readonly arpCacheSize: number;
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
  arpCacheSize: 256,
  macTableSize: 1024,
  maxLeases: 1024,
};

export function resolveStackConfig(opts: StackOptions = {}): StackConfig {
  const { clock: _clock, ...rest } = opts;
  const c: StackConfig = { ...STACK_DEFAULTS, ...rest };
  if (rest.dnsServers === undefined) return { ...c, dnsServers: [c.gatewayIp] };
  return c;
}
