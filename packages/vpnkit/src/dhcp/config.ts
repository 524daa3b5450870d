/**
 * DHCP server configuration and its defaults.
 *
 * The defaults are moby/vpnkit's (src/hostnet/configuration.ml):
 *
 *   let default_lowest_ip  = Ipaddr.V4.of_string_exn "192.168.65.3"
 *   let default_gateway_ip = Ipaddr.V4.of_string_exn "192.168.65.1"
 *   let default_host_ip    = Ipaddr.V4.of_string_exn "192.168.65.2"
 *   let default_highest_ip = Ipaddr.V4.of_string_exn "192.168.65.254"
 *   let default_mtu = 1500 (* used for the virtual ethernet link *)
 *
 * so the subnet is 192.168.65.0/24, the gateway (and DHCP server, router
 * and DNS server) 192.168.65.1, and guests get 192.168.65.3 upwards.  The
 * lease time (2 hours) and domain are ours; vpnkit's default domain is
 * "localdomain" and we advertise none unless configured.
 */

import { Ipv4Address } from '../wire/index.js';

export interface DhcpServerConfig {
  /** The server identifier (option 54): the gateway's address. */
  readonly serverIp: Ipv4Address;
  /** Network address of the subnet. */
  readonly network: Ipv4Address;
  readonly prefixLen: number;
  /** Routers (option 3); default [serverIp]. */
  readonly routers: readonly Ipv4Address[];
  /** DNS servers (option 6); none is sent when empty. */
  readonly dnsServers: readonly Ipv4Address[];
  /** Domain name (option 15); not sent when undefined. */
  readonly domainName?: string;
  /** Interface MTU (option 26); not sent when undefined.  RFC 2132 §5.1: at least 68. */
  readonly mtu?: number;
  /** Lease time in seconds (option 51). */
  readonly leaseTimeS: number;
  /** First and last address handed out (inclusive). */
  readonly rangeStart: Ipv4Address;
  readonly rangeEnd: Ipv4Address;
  /** Addresses inside the range that are never handed out (gateway, host alias...). */
  readonly reserved: readonly Ipv4Address[];
  /** How long an OFFER holds its address, ms. */
  readonly offerTimeoutMs: number;
  /** How long a DECLINEd address is kept out of the pool, ms. */
  readonly declineHoldMs: number;
  /** Upper bound on lease records (offered, bound or remembered). */
  readonly maxLeases: number;
}

export type DhcpServerOptions = Partial<DhcpServerConfig>;

const ip = Ipv4Address.parse;

export const DHCP_DEFAULTS: DhcpServerConfig = {
  serverIp: ip('192.168.65.1'),
  network: ip('192.168.65.0'),
  prefixLen: 24,
  routers: [ip('192.168.65.1')],
  dnsServers: [ip('192.168.65.1')],
  mtu: 1500,
  leaseTimeS: 7200,
  rangeStart: ip('192.168.65.3'),
  rangeEnd: ip('192.168.65.254'),
  reserved: [ip('192.168.65.1'), ip('192.168.65.2')],
  offerTimeoutMs: 60_000,
  declineHoldMs: 600_000,
  maxLeases: 4096,
};

/** Fill in defaults and check the result is coherent; throws RangeError otherwise. */
export function resolveDhcpConfig(opts: DhcpServerOptions = {}): DhcpServerConfig {
  const c: DhcpServerConfig = {
    ...DHCP_DEFAULTS,
    ...opts,
    routers: opts.routers ?? [opts.serverIp ?? DHCP_DEFAULTS.serverIp],
  };
  const inNet = (a: Ipv4Address): boolean => Ipv4Address.inSubnet(a, c.network, c.prefixLen);
  if (!Number.isInteger(c.prefixLen) || c.prefixLen < 1 || c.prefixLen > 30) {
    throw new RangeError(`DHCP: prefix length ${c.prefixLen} is not in 1..30`);
  }
  if (!inNet(c.serverIp)) throw new RangeError('DHCP: server address is outside the subnet');
  if (!inNet(c.rangeStart) || !inNet(c.rangeEnd) || c.rangeStart >>> 0 > c.rangeEnd >>> 0) {
    throw new RangeError('DHCP: address range is empty or outside the subnet');
  }
  const mask = Ipv4Address.netmask(c.prefixLen);
  const bcast = ((c.network & mask) | ~mask) >>> 0;
  if ((c.rangeStart >>> 0) === ((c.network & mask) >>> 0) || c.rangeEnd >>> 0 === bcast) {
    throw new RangeError('DHCP: the range must not include the network or broadcast address');
  }
  if (c.mtu !== undefined && (!Number.isInteger(c.mtu) || c.mtu < 68 || c.mtu > 65535)) {
    throw new RangeError(`DHCP: MTU ${c.mtu} is not in 68..65535`);
  }
  if (!Number.isInteger(c.leaseTimeS) || c.leaseTimeS < 60 || c.leaseTimeS > 0xffffffff) {
    throw new RangeError(`DHCP: lease time ${c.leaseTimeS} s is out of range`);
  }
  if (c.domainName !== undefined && (c.domainName.length === 0 || c.domainName.length > 255)) {
    throw new RangeError('DHCP: domain name must be 1..255 characters');
  }
  if (!Number.isInteger(c.maxLeases) || c.maxLeases < 1) throw new RangeError('DHCP: maxLeases must be >= 1');
  return c;
}
