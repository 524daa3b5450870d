/** NAT to host sockets and port forwarding. */
export { dnsTcpService, dnsUdpService, type DnsHandler, type DnsTcpOptions } from './dns-service.js';
export { ForwardError, PortForwarder, type Forward, type ForwardSpec } from './forward.js';
export { nodeHost, type HostNetwork } from './host.js';
export { TcpNat, type GuestPort, type LocalTcpService, type TcpNatOptions, type TcpNatStats } from './tcp-nat.js';
export { UdpNat, type LocalUdpService, type UdpNatOptions, type UdpNatStats, type UdpReturnPath } from './udp-nat.js';
