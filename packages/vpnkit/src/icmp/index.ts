/** ICMPv4 echo for the gateway's addresses. */
export { IcmpEcho, type IcmpEchoOptions, type IcmpEchoReply, type IcmpEchoStats } from './echo.js';
