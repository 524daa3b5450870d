export { DnsForwarder, type DnsForwarderOptions, type DnsForwarderStats } from './forwarder.js';
export type { DnsServerAddress, DnsTransport } from './transport.js';
export { nodeDnsTransport, DnsTransportError } from './upstream.js';
export { parseResolvConf } from './resolvconf.js';
