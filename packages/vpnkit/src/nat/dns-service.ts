/**
 * The gateway's DNS service, over UDP and TCP, in front of any resolver
 * with `handle(message, proto)` (the DNS forwarder in ../dns).
 *
 * RFC 1035 §4.2.2 / RFC 7766 §8: over TCP "the message is prefixed with a
 * two byte length field which gives the message length, excluding the two
 * byte length field".  A TCP session is a Duplex the TCP NAT relays like
 * a host socket; answers may complete out of order (RFC 7766 §6.2.1.1
 * allows it, the id pairs them).  Memory per session is bounded: at most
 * `MAX_IN_FLIGHT` queries are outstanding and no query is taken while the
 * answers queued towards the guest are past the readable side's high-water
 * mark; meanwhile the write callback waits, so the TCP NAT stops reading
 * from the guest and its window closes.  A query is read into one buffer of
 * its own length (at most 64 KiB), each byte copied once.  A session with
 * nothing in flight that receives nothing for `idleMs` is closed (FIN), as
 * RFC 7766 §6.2.3 lets a server do.
 */

import { Duplex } from 'node:stream';
import type { LocalTcpService } from './tcp-nat.js';
import type { LocalUdpService } from './udp-nat.js';

export interface DnsHandler {
  handle(message: Uint8Array, proto: 'udp' | 'tcp'): Promise<Uint8Array | undefined>;
}

const MAX_IN_FLIGHT = 16;

export interface DnsTcpOptions {
  /** Close a session that has nothing in flight and receives nothing for this long. Default 30000 ms; 0 never. */
  idleMs?: number;
}

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

export function dnsTcpService(dns: DnsHandler, opts: DnsTcpOptions = {}): LocalTcpService {
  const idleMs = opts.idleMs ?? 30_000;
  if (!Number.isInteger(idleMs) || idleMs < 0) throw new RangeError(`dns idleMs must be a non-negative integer, not ${idleMs}`);
  return () => new DnsTcpSession(dns, idleMs);
}

/** Exported for tests; made by `dnsTcpService`. */
export class DnsTcpSession extends Duplex {
  /** The 2-byte length of the message being read, and how much of it has come. */
  private readonly lenBytes = new Uint8Array(2);
  private lenFill = 0;
  /** The message being read, once its length is known. */
  private msg: Uint8Array | undefined;
  private msgFill = 0;
  /** The chunk being parsed and its callback, held while the session may take no query. */
  private chunk: Uint8Array | undefined;
  private chunkOff = 0;
  private chunkCb: ((e?: Error | null) => void) | undefined;
  private inFlight = 0;
  /** push() said the readable side is full: no query is taken until _read(). */
  private outFull = false;
  private ended = false;
  /** The session closed its side (idle): what arrives later is read and dropped. */
  private closedOut = false;
  private readonly idle: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly dns: DnsHandler,
    idleMs: number,
  ) {
    super({ allowHalfOpen: true });
    if (idleMs > 0) {
      this.idle = setTimeout(() => this.onIdle(), idleMs);
      this.idle.unref();
    }
  }

  /** Queries answered or being answered, and answer bytes queued (for tests and stats). */
  get pending(): { inFlight: number; queuedBytes: number } {
    return { inFlight: this.inFlight, queuedBytes: this.readableLength };
  }

  override _read(): void {
    this.outFull = false;
    this.pump();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.idle?.refresh();
    if (this.closedOut) {
      cb();
      return;
    }
    this.chunk = chunk;
    this.chunkOff = 0;
    this.chunkCb = cb;
    this.pump();
  }

  /** Parse the held chunk into queries while the session may take them; release it when consumed. */
  private pump(): void {
    const chunk = this.chunk;
    if (chunk === undefined) return;
    let off = this.chunkOff;
    while (off < chunk.length) {
      if (this.inFlight >= MAX_IN_FLIGHT || this.outFull) {
        this.chunkOff = off; // resumed by answer() or _read()
        return;
      }
      let msg = this.msg;
      if (msg === undefined) {
        while (this.lenFill < 2 && off < chunk.length) this.lenBytes[this.lenFill++] = chunk[off++] as number;
        if (this.lenFill < 2) break;
        msg = this.msg = new Uint8Array(((this.lenBytes[0] as number) << 8) | (this.lenBytes[1] as number));
        this.msgFill = 0;
      }
      const n = Math.min(msg.length - this.msgFill, chunk.length - off);
      msg.set(chunk.subarray(off, off + n), this.msgFill);
      this.msgFill += n;
      off += n;
      if (this.msgFill < msg.length) break;
      this.msg = undefined;
      this.lenFill = 0;
      this.ask(msg);
    }
    const cb = this.chunkCb as (e?: Error | null) => void;
    this.chunk = undefined;
    this.chunkCb = undefined;
    cb();
  }

  private ask(msg: Uint8Array): void {
    this.inFlight++;
    this.dns.handle(msg, 'tcp').then(
      (r) => this.answer(r),
      () => this.answer(undefined),
    );
  }

  private answer(r: Uint8Array | undefined): void {
    this.inFlight--;
    if (this.destroyed) return;
    if (r !== undefined && r.length <= 0xffff && !this.closedOut) {
      const out = Buffer.allocUnsafe(2 + r.length);
      out.writeUInt16BE(r.length, 0);
      out.set(r, 2);
      if (!this.push(out)) this.outFull = true;
    }
    if (this.inFlight === 0) this.idle?.refresh();
    this.pump();
    this.maybeEnd();
  }

  private onIdle(): void {
    if (this.destroyed || this.closedOut) return;
    if (this.inFlight > 0 || this.chunk !== undefined) {
      this.idle?.refresh();
      return;
    }
    this.closedOut = true;
    this.push(null);
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.ended = true;
    this.maybeEnd();
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (this.idle !== undefined) clearTimeout(this.idle);
    cb(err);
  }

  private maybeEnd(): void {
    if (!this.ended || this.inFlight > 0 || this.chunk !== undefined || this.closedOut) return;
    this.closedOut = true;
    if (this.idle !== undefined) clearTimeout(this.idle);
    this.push(null);
  }
}
