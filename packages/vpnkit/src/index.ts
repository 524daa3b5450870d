/**
 * @kitbox/vpnkit — a user-space TCP/IP stack that turns a VM's Ethernet
 * frames into host socket calls.
 *
 * Public API so far:
 *   - the wire-format layer (`./wire/`) and `describeFrame`;
 *   - the gateway's protocol machines, pure (time passed in): `Arp`,
 *     `DhcpServer`, `IcmpEcho`, `Icmpv6Echo`, `Ndp` (IPv6 router and
 *     neighbour discovery);
 *   - the learning `Switch` and the `Link` interface;
 *   - links: in-process pair, QEMU stream, vpnkit/hyperkit VMN3T, Linux TAP;
 *   - `Stack`: switch + gateway (ARP, DHCP, ICMP echo) with an injected clock,
 *     TCP/UDP NAT to host sockets, port forwarding, the gateway's DNS service;
 *   - `ControlServer`: the HTTP/JSON port-control API on a Unix socket;
 *   - `DnsForwarder`: hosts file, built-in names, TTL cache, upstream failover;
 *   - test kit: `ManualClock`, `PcapWriter`.
 */

export * from './wire/index.js';
export * from './arp/index.js';
export * from './dhcp/index.js';
export * from './icmp/index.js';
export * from './ndp/index.js';
export * from './switch/index.js';
export * from './link/index.js';
export * from './link/tap/index.js';
export * from './stack/index.js';
export * from './nat/index.js';
export { ControlServer, type ControlTarget } from './control/server.js';
export { DnsForwarder, nodeDnsTransport, DnsTransportError, parseResolvConf } from './dns/index.js';
export type { DnsForwarderOptions, DnsForwarderStats, DnsServerAddress, DnsTransport } from './dns/index.js';
export { ManualClock, LINKTYPE_ETHERNET, PCAP_MAGIC, PcapWriter, type PcapSink } from './testing/index.js';
