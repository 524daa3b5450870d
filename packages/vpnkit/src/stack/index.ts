/** The gateway stack: switch + ARP + DHCP + ICMP echo, with an injected clock. */
export { STACK_DEFAULTS, resolveStackConfig, systemClock, type Clock, type StackConfig, type StackOptions } from './config.js';
export { Gateway, type GatewayStats, type Ipv4Handler, type Ipv4Input, type Ipv6Handler, type Ipv6Input } from './gateway.js';
export { Stack, type StackInit, type StackStats } from './stack.js';
