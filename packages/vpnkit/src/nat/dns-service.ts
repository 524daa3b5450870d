/**
 * The gateway's DNS service, over UDP and TCP, in front of any resolver
 * with `handle(message, proto)` (the DNS forwarder in ../dns).
 *
 * RFC 1035 §4.2.2 / RFC 7766 §8: over TCP "the message is prefixed with a
 * two byte length field which gives the message length, excluding the two
 * byte length field".  A TCP session is a Duplex the TCP NAT relays like
 * a host socket; answers may complete out of order (RFC 7766 §6.2.1.1
 * allows it, the id pairs them); at most `MAX_IN_FLIGHT` queries per
 * session are outstanding, beyond that the session stops reading.
 */

import { Duplex } from 'node:stream';
import type { LocalTcpService } from './tcp-nat.js';
import type { LocalUdpService } from './udp-nat.js';

export interface DnsHandler {
  handle(message: Uint8Array, proto: 'udp' | 'tcp'): Promise<Uint8Array | undefined>;
}

const MAX_IN_FLIGHT = 16;

export function dnsUdpService(dns: DnsHandler): LocalUdpService {
  return (payload, reply) => {
    dns.handle(payload, 'udp').then(
      (r) => {
        if (r !== undefined) reply(r);
      },
      () => undefined,
    );
  };
}

export function dnsTcpService(dns: DnsHandler): LocalTcpService {
  return () => new DnsTcpSession(dns);
}

class DnsTcpSession extends Duplex {
  private buf = new Uint8Array(0);
  private inFlight = 0;
  private blocked: (() => void) | undefined;
  private ended = false;

  constructor(private readonly dns: DnsHandler) {
    super({ allowHalfOpen: true });
  }

  override _read(): void {
    /* answers are pushed as they complete */
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const merged = new Uint8Array(this.buf.length + chunk.length);
    merged.set(this.buf);
    merged.set(chunk, this.buf.length);
    this.buf = merged;
    this.drainMessages(cb);
  }

  private drainMessages(cb: (e?: Error | null) => void): void {
    while (this.buf.length >= 2) {
      if (this.inFlight >= MAX_IN_FLIGHT) {
        this.blocked = () => this.drainMessages(cb);
        return;
      }
      const len = ((this.buf[0] as number) << 8) | (this.buf[1] as number);
      if (this.buf.length < 2 + len) break;
      const msg = this.buf.slice(2, 2 + len);
      this.buf = this.buf.subarray(2 + len);
      this.inFlight++;
      this.dns.handle(msg, 'tcp').then(
        (r) => this.answer(r),
        () => this.answer(undefined),
      );
    }
    cb();
  }

  private answer(r: Uint8Array | undefined): void {
    this.inFlight--;
    if (this.destroyed) return;
    if (r !== undefined && r.length <= 0xffff) {
      const out = Buffer.allocUnsafe(2 + r.length);
      out.writeUInt16BE(r.length, 0);
      out.set(r, 2);
      this.push(out);
    }
    const b = this.blocked;
    this.blocked = undefined;
    b?.();
    this.maybeEnd();
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.ended = true;
    this.maybeEnd();
    cb();
  }

  private maybeEnd(): void {
    if (this.ended && this.inFlight === 0 && this.blocked === undefined) this.push(null);
  }
}
