/**
 * The host boundary of the NAT (conventions #3: vpnkit takes its host as
 * an argument).  Everything the NAT does on the host goes through this
 * interface: outgoing TCP connections, UDP sockets, listeners for port
 * forwards.  `nodeHost` is the real one, over `node:net` and `node:dgram`.
 */

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { openIcmpEchoSocket, openIcmpv6EchoSocket } from '../host/icmp-socket.js';
import type { HostIcmp, HostIcmp6 } from './icmp-nat.js';

export interface HostNetwork {
  /**
   * Start a TCP connection (half-open allowed); the socket emits 'connect' or 'error'.
   * With `onread`, received bytes go to its callback (as `net.connect`'s option of that
   * name) instead of 'data' events; a host that ignores it must emit 'data' as usual.
   */
  connectTcp(host: string, port: number, onread?: net.OnReadOpts): net.Socket;
  /** A UDP socket bound to an ephemeral port on all addresses. */
  udpSocket(family: 4 | 6): dgram.Socket;
  /** A TCP listener (not yet listening), handing over paused, half-open-capable sockets. */
  tcpServer(onConnection: (socket: net.Socket) => void): net.Server;
  /** An ICMP echo socket, or undefined when the host allows none (guests' pings then go unanswered). */
  icmpEcho?(): HostIcmp | undefined;
  /** The same over IPv6, or undefined (guests' pings beyond the gateway then go unanswered). */
  icmpEcho6?(): HostIcmp6 | undefined;
}

export const nodeHost: HostNetwork = {
  connectTcp(host, port, onread) {
    return net.connect({ host, port, noDelay: true, allowHalfOpen: true, ...(onread === undefined ? {} : { onread }) });
  },
  udpSocket(family) {
    return dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
  },
  tcpServer(onConnection) {
    return net.createServer({ noDelay: true, pauseOnConnect: true, allowHalfOpen: true }, onConnection);
  },
  icmpEcho() {
    if (process.platform !== 'linux') return undefined;
    const s = openIcmpEchoSocket();
    return 'error' in s ? undefined : s;
  },
  icmpEcho6() {
    if (process.platform !== 'linux') return undefined;
    const s = openIcmpv6EchoSocket();
    return 'error' in s ? undefined : s;
  },
};
