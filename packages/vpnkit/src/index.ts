/**
 * @kitbox/vpnkit — a user-space TCP/IP stack that turns a VM's Ethernet
 * frames into host socket calls.
 *
 * Public API so far: the wire-format layer (`./wire/`), plus
 * `describeFrame` for one-line, tcpdump-like frame summaries.
 */

export * from './wire/index.js';
