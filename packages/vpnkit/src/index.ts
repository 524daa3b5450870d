/**
 * @kitbox/vpnkit — a user-space TCP/IP stack that turns a VM's Ethernet
 * frames into host socket calls.
 *
 * Public API so far:
 *   - the wire-format layer (`./wire/`) and `describeFrame`;
 *   - the gateway's protocol machines, pure (time passed in): `Arp`,
 *     `DhcpServer`, `IcmpEcho`;
 *   - the learning `Switch` and the `Link` interface;
 *   - links: in-process pair, QEMU stream, vpnkit/hyperkit VMN3T, Linux TAP;
 *   - `Stack`: switch + gateway (ARP, DHCP, ICMP echo) with an injected clock;
 *   - test kit: `ManualClock`, `PcapWriter`.
 */

export * from './wire/index.js';
export * from './arp/index.js';
export * from './dhcp/index.js';
export * from './icmp/index.js';
export * from './switch/index.js';
export * from './link/index.js';
export * from './link/tap/index.js';
export * from './stack/index.js';
export { ManualClock, LINKTYPE_ETHERNET, PCAP_MAGIC, PcapWriter, type PcapSink } from './testing/index.js';
