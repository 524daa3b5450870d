/** The DHCP server: a pure state machine over `DhcpRepr`. */
export { DHCP_DEFAULTS, resolveDhcpConfig, type DhcpServerConfig, type DhcpServerOptions } from './config.js';
export { LeaseTable, type Lease, type LeaseState, type LeaseTableOptions } from './leases.js';
export { DhcpServer, leaseKey, type DhcpReply, type DhcpServerStats } from './server.js';
