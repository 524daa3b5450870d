/**
 * The Node implementation of DnsTransport.
 *
 * UDP (RFC 1035 §4.2.1): a fresh socket per query, so the OS picks a random
 * source port; the socket is connected, so only the server's datagrams arrive,
 * and a datagram whose id differs from the query's is ignored (RFC 5452 §9.1).
 * TCP (RFC 1035 §4.2.2): "The message is prefixed with a two byte length field".
 */
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import type { DnsServerAddress, DnsTransport } from './transport.js';

export class DnsTransportError extends Error {
  constructor(
    readonly code: 'EDNSABORT' | 'EDNSCLOSED' | 'EDNSSOCKET',
    message: string,
  ) {
    super(message);
    this.name = 'DnsTransportError';
  }
}

const idOf = (m: Uint8Array): number => (m.length >= 2 ? (m[0]! << 8) | m[1]! : -1); // length checked

function queryUdp(server: DnsServerAddress, message: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new DnsTransportError('EDNSABORT', 'aborted'));
    const host = server.host.split('%')[0] ?? server.host;
    const sock = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    const id = idOf(message);
    let done = false;
    const finish = (err: Error | undefined, value?: Uint8Array): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      sock.close();
      if (err !== undefined) reject(err);
      else resolve(value!);
    };
    const onAbort = (): void => finish(new DnsTransportError('EDNSABORT', `no answer from ${server.host}:${server.port}`));
    signal.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (e) => finish(new DnsTransportError('EDNSSOCKET', e.message)));
    sock.on('message', (msg) => {
      if (idOf(msg) === id) finish(undefined, new Uint8Array(msg));
    });
    sock.connect(server.port, server.host, () => {
      if (!done) sock.send(message, (e) => e && finish(new DnsTransportError('EDNSSOCKET', e.message)));
    });
  });
}

function queryTcp(server: DnsServerAddress, message: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new DnsTransportError('EDNSABORT', 'aborted'));
    const id = idOf(message);
    const sock = connect({ host: server.host, port: server.port });
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (err: Error | undefined, value?: Uint8Array): void => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      sock.destroy();
      if (err !== undefined) reject(err);
      else resolve(value!);
    };
    const onAbort = (): void => finish(new DnsTransportError('EDNSABORT', `no answer from ${server.host}:${server.port}`));
    signal.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (e) => finish(new DnsTransportError('EDNSSOCKET', e.message)));
    sock.on('close', () => finish(new DnsTransportError('EDNSCLOSED', 'connection closed before an answer')));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(message.length);
      sock.write(Buffer.concat([len, message]));
    });
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      // A message is at most 65535 bytes plus its prefix, so buf stays bounded.
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (buf.length < 2 + n) break;
        const msg = new Uint8Array(buf.subarray(2, 2 + n));
        buf = buf.subarray(2 + n);
        if (idOf(msg) === id) return finish(undefined, msg);
      }
    });
  });
}

/** DnsTransport over node:dgram and node:net. */
export function nodeDnsTransport(): DnsTransport {
  return {
    query: (server, message, proto, signal) =>
      proto === 'udp' ? queryUdp(server, message, signal) : queryTcp(server, message, signal),
  };
}
