/**
 * The wire-format layer: zero-copy views over packet buffers (`XxxPacket`,
 * `EthernetFrame`) and plain representations (`XxxRepr`) with
 * `parse` / `headerLen` / `bufferLen` / `emit`.  No I/O, no clocks.
 */

export * from './address.js';
export * from './arp.js';
export { bytesEqual, bytesToHex, hexToBytes } from './bytes.js';
export * from './checksum.js';
export type { EmitOptions, ParseOptions } from './common.js';
export * from './describe.js';
export * from './dhcp.js';
export * from './error.js';
export * from './ethernet.js';
export * from './frame.js';
export * from './icmpv4.js';
export * from './icmpv6.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './tcp.js';
export * from './udp.js';
