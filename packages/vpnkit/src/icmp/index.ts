/** ICMPv4 echo for the gateway's addresses. */
export { IcmpEcho, type IcmpEchoOptions, type IcmpEchoReply, type IcmpEchoStats } from './echo.js';
export { Icmpv6Echo, type Icmpv6EchoOptions, type Icmpv6EchoReply } from './echo6.js';
