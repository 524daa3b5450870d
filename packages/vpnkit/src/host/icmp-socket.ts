/**
 * ICMP echo on the host, for guests' pings beyond the gateway (Node has no
 * ICMP sockets).  Through koffi (this folder and link/tap are the only
 * places in vpnkit that use it, CONVENTIONS.md #3):
 *
 *   socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP): Linux "ping sockets", for
 *     users in net.ipv4.ping_group_range; the kernel picks the identifier
 *     and hands back only the ICMP message (icmp(7));
 *   socket(AF_INET, SOCK_RAW, IPPROTO_ICMP): when ping sockets are not
 *     permitted but raw sockets are (CAP_NET_RAW, e.g. root); every ICMP
 *     message the host receives arrives, IP header first (raw(7)), so
 *     replies are filtered by our identifier.
 *
 * and the same over IPv6 (`openIcmpv6EchoSocket`): AF_INET6 with
 * IPPROTO_ICMPV6 (RFC 4443 echo, types 128/129; the kernel fills the
 * checksum over the IPv6 pseudo-header for both kinds, RFC 3542 §3.1, and a
 * raw ICMPv6 socket delivers the message without the IPv6 header).
 *
 * Echo requests go out with our identifier and a sequence number the
 * caller chooses; `onReply` gets (source address, sequence, data) of echo
 * replies to us.  Non-blocking fd watched with koffi's uv_poll.
 */

import koffi from 'koffi';

const AF_INET = 2;
const AF_INET6 = 10;
const IPPROTO_ICMPV6 = 58;
const ICMPV6_ECHO_REQUEST = 128;
const ICMPV6_ECHO_REPLY = 129;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_ICMP = 1;

interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, addrlen: number): number;
  recv(fd: number, buf: Uint8Array, len: number, flags: number): number;
  close(fd: number): number;
}

let libc: Libc | undefined;
function lib(): Libc {
  if (libc !== undefined) return libc;
  if (process.platform !== 'linux') throw new Error(`host ICMP needs Linux; this is ${process.platform}`);
  const l = koffi.load('libc.so.6');
  libc = {
    socket: l.func('socket', 'int', ['int', 'int', 'int']) as Libc['socket'],
    sendto: l.func('sendto', 'long', ['int', 'void *', 'size_t', 'int', 'void *', 'uint32']) as Libc['sendto'],
    recv: l.func('recv', 'long', ['int', '_Out_ void *', 'size_t', 'int']) as Libc['recv'],
    close: l.func('close', 'int', ['int']) as Libc['close'],
  };
  return libc;
}

/** RFC 1071 checksum of an ICMP message. */
function icmpChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += ((b[i] as number) << 8) | (b[i + 1] as number);
  if (b.length % 2 === 1) sum += (b[b.length - 1] as number) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface IcmpEchoSocket {
  /** 'ping' (a ping socket) or 'raw'. */
  readonly kind: 'ping' | 'raw';
  /** Send an echo request; false when the kernel refused it. */
  sendEcho(dst: number, seq: number, data: Uint8Array): boolean;
  onReply(fn: (src: number, seq: number, data: Uint8Array) => void): void;
  close(): void;
}

/** Open a host ICMP socket, or undefined (with the reason) when neither kind is permitted. */
export function openIcmpEchoSocket(): IcmpEchoSocket | { error: string } {
  const c = lib();
  let kind: 'ping' | 'raw' = 'ping';
  let fd = c.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
  let errno = fd < 0 ? koffi.errno() : 0;
  if (fd < 0) {
    kind = 'raw';
    fd = c.socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) {
      const rawErrno = koffi.errno();
      return { error: `no ICMP socket: ping socket errno ${errno} (see net.ipv4.ping_group_range), raw socket errno ${rawErrno}` };
    }
    errno = 0;
  }
  // Raw sockets see every echo reply the host gets: ours carry this identifier.
  const ident = (process.pid ^ 0x4b42) & 0xffff;
  const addr = new Uint8Array(16);
  addr[0] = AF_INET; // sin_family (little-endian short), sin_port 0
  const buf = new Uint8Array(65536);
  let handler: ((src: number, seq: number, data: Uint8Array) => void) | undefined;
  let closed = false;
  const drain = (): void => {
    for (let i = 0; i < 256 && !closed; i++) {
      const n = Number(c.recv(fd, buf, buf.length, 0));
      if (n <= 0) return;
      let at = 0;
      let src = 0;
      if (kind === 'raw') {
        if (n < 20) continue;
        at = ((buf[0] as number) & 0x0f) * 4;
        src = (((buf[12] as number) << 24) | ((buf[13] as number) << 16) | ((buf[14] as number) << 8) | (buf[15] as number)) >>> 0;
      }
      if (n - at < 8 || buf[at] !== 0 /* echo reply */) continue;
      const id = ((buf[at + 4] as number) << 8) | (buf[at + 5] as number);
      if (kind === 'raw' && id !== ident) continue;
      const seq = ((buf[at + 6] as number) << 8) | (buf[at + 7] as number);
      if (kind === 'ping') {
        // recv on a ping socket has no source address; the caller matches by sequence number.
        src = 0;
      }
      handler?.(src, seq, buf.slice(at + 8, n));
    }
  };
  // koffi 3.3.4 calls back with (status, events); see link/tap/tap.ts.
  const poller = koffi.node.poll(fd, { readable: true }, (() => drain()) as unknown as (ev: unknown) => void);
  return {
    kind,
    sendEcho(dst, seq, data) {
      if (closed) return false;
      const msg = new Uint8Array(8 + data.length);
      msg[0] = 8; // echo request
      msg[4] = ident >>> 8;
      msg[5] = ident & 0xff;
      msg[6] = (seq >>> 8) & 0xff;
      msg[7] = seq & 0xff;
      msg.set(data, 8);
      const sum = icmpChecksum(msg);
      msg[2] = sum >>> 8;
      msg[3] = sum & 0xff;
      addr[4] = dst >>> 24;
      addr[5] = (dst >>> 16) & 0xff;
      addr[6] = (dst >>> 8) & 0xff;
      addr[7] = dst & 0xff;
      return Number(c.sendto(fd, msg, msg.length, 0, addr, 16)) === msg.length;
    },
    onReply(fn) {
      handler = fn;
    },
    close() {
      if (closed) return;
      closed = true;
      poller.stop();
      poller.close();
      c.close(fd);
    },
  };
}

export interface Icmpv6EchoSocket {
  readonly kind: 'ping' | 'raw';
  /** Send an echo request to a 16-byte address; false when the kernel refused it. */
  sendEcho(dst: Uint8Array, seq: number, data: Uint8Array): boolean;
  onReply(fn: (seq: number, data: Uint8Array) => void): void;
  close(): void;
}

/** Open a host ICMPv6 echo socket, or the reason there is none. */
export function openIcmpv6EchoSocket(): Icmpv6EchoSocket | { error: string } {
  const c = lib();
  let kind: 'ping' | 'raw' = 'ping';
  let fd = c.socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
  if (fd < 0) {
    const pingErrno = koffi.errno();
    kind = 'raw';
    fd = c.socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
    if (fd < 0) return { error: `no ICMPv6 socket: ping socket errno ${pingErrno}, raw socket errno ${koffi.errno()}` };
  }
  const ident = (process.pid ^ 0x4b36) & 0xffff;
  // struct sockaddr_in6: family[2] (little-endian) port[2] flowinfo[4] addr[16] scope_id[4].
  const addr = new Uint8Array(28);
  addr[0] = AF_INET6;
  const buf = new Uint8Array(65536);
  let handler: ((seq: number, data: Uint8Array) => void) | undefined;
  let closed = false;
  const drain = (): void => {
    for (let i = 0; i < 256 && !closed; i++) {
      const n = Number(c.recv(fd, buf, buf.length, 0));
      if (n <= 0) return;
      // Both kinds deliver the ICMPv6 message alone; a raw socket sees every type, and others' echoes.
      if (n < 8 || buf[0] !== ICMPV6_ECHO_REPLY) continue;
      if (kind === 'raw' && (((buf[4] as number) << 8) | (buf[5] as number)) !== ident) continue;
      handler?.(((buf[6] as number) << 8) | (buf[7] as number), buf.slice(8, n));
    }
  };
  const poller = koffi.node.poll(fd, { readable: true }, (() => drain()) as unknown as (ev: unknown) => void);
  return {
    kind,
    sendEcho(dst, seq, data) {
      if (closed || dst.length !== 16) return false;
      const msg = new Uint8Array(8 + data.length);
      msg[0] = ICMPV6_ECHO_REQUEST; // checksum left 0: the kernel computes it
      msg[4] = ident >>> 8;
      msg[5] = ident & 0xff;
      msg[6] = (seq >>> 8) & 0xff;
      msg[7] = seq & 0xff;
      msg.set(data, 8);
      addr.set(dst, 8);
      return Number(c.sendto(fd, msg, msg.length, 0, addr, 28)) === msg.length;
    },
    onReply(fn) {
      handler = fn;
    },
    close() {
      if (closed) return;
      closed = true;
      poller.stop();
      poller.close();
      c.close(fd);
    },
  };
}
