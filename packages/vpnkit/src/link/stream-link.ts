/**
 * A `Link` over a byte stream (a Unix or TCP socket) carrying frames as
 * `length + frame` records; the length is 4 bytes big-endian (QEMU's
 * `-netdev stream`) or 2 bytes little-endian (vpnkit/hyperkit VMN3T).
 *
 * Bounded both ways.  Inbound: a length above `maxFrameSize` cannot be
 * resynchronised, so it closes the connection (counted); a record shorter
 * than an Ethernet header is dropped; a full inbound queue drops.
 * Outbound: `send` writes one buffer per frame; once the socket reports
 * backpressure (`write` returned false) frames are still accepted until
 * `maxPendingBytes` sit in the socket's buffer, then dropped and counted
 * until 'drain'.
 */

import type { Socket } from 'node:net';
import { FrameQueue } from '../switch/frame-queue.js';
import { emptyLinkStats, type Link, type LinkStats } from '../switch/link.js';

export interface StreamFraming {
  /** Length prefix size in bytes. */
  readonly headerLen: 2 | 4;
  readonly littleEndian: boolean;
}

const EMPTY = new Uint8Array(0);

export const QEMU_FRAMING: StreamFraming = { headerLen: 4, littleEndian: false };
export const VMNET_FRAMING: StreamFraming = { headerLen: 2, littleEndian: true };

export interface StreamLinkOptions {
  readonly name?: string;
  /** Largest frame (default 65535 + 14 for QEMU; VMN3T caps it at 65535 by its 2-byte length). */
  readonly maxFrameSize?: number;
  /** Inbound frames queued (default 1024). */
  readonly queueCapacity?: number;
  /** Bytes allowed in the socket's write buffer before `send` drops (default 1 MiB). */
  readonly maxPendingBytes?: number;
  /** Bytes already read from the socket (after a handshake). */
  readonly initial?: Uint8Array;
}

export interface StreamLinkStats extends LinkStats {
  /** Connections closed because a record's length exceeded maxFrameSize. */
  protocolErrors: number;
  /** Times the socket signalled backpressure. */
  backpressure: number;
}

export class StreamLink implements Link {
  readonly name: string;
  readonly maxFrameSize: number;
  private readonly inbox: FrameQueue;
  private readonly maxPending: number;
  private readonly s: StreamLinkStats = { ...emptyLinkStats(), protocolErrors: 0, backpressure: 0 };
  private pending: Uint8Array = EMPTY;
  private blocked = false;
  private isClosed = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly framing: StreamFraming,
    opts: StreamLinkOptions = {},
  ) {
    this.name = opts.name ?? 'stream';
    const cap = framing.headerLen === 2 ? 0xffff : 0xffffffff;
    this.maxFrameSize = Math.min(opts.maxFrameSize ?? 65535 + 14, cap);
    this.inbox = new FrameQueue(opts.queueCapacity ?? 1024);
    this.maxPending = opts.maxPendingBytes ?? 1 << 20;
    this.done = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => {
      this.blocked = false;
    });
    socket.on('error', () => {
      /* 'close' follows; errors are not ours to rethrow */
    });
    socket.on('close', () => this.finish());
    if (opts.initial !== undefined && opts.initial.length > 0) this.onData(opts.initial);
  }

  private onData(chunk: Uint8Array): void {
    if (this.isClosed) return;
    let buf: Uint8Array;
    if (this.pending.length === 0) {
      buf = chunk;
    } else {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending);
      buf.set(chunk, this.pending.length);
    }
    const h = this.framing.headerLen;
    let off = 0;
    while (buf.length - off >= h) {
      const len = this.readLen(buf, off);
      if (len > this.maxFrameSize) {
        this.s.protocolErrors++;
        this.s.rxDropped++;
        this.socket.destroy();
        this.finish();
        return;
      }
      if (buf.length - off - h < len) break;
      // A plain Uint8Array copy: Buffer#slice would be a view, and the wire
      // layer's `.slice()` copies of addresses rely on Uint8Array semantics.
      const frame = new Uint8Array(len);
      frame.set(buf.subarray(off + h, off + h + len));
      off += h + len;
      if (len < 14 || !this.inbox.push(frame)) {
        this.s.rxDropped++;
        continue;
      }
      this.s.rxFrames++;
      this.s.rxBytes += len;
    }
    // Bounded: at most one partial record (header + maxFrameSize) is kept.
    this.pending = off === buf.length ? EMPTY : Uint8Array.prototype.slice.call(buf, off);
  }

  private readLen(b: Uint8Array, off: number): number {
    const g = (i: number): number => b[off + i] ?? 0;
    if (this.framing.headerLen === 2) return this.framing.littleEndian ? g(0) | (g(1) << 8) : (g(0) << 8) | g(1);
    return this.framing.littleEndian
      ? (g(0) | (g(1) << 8) | (g(2) << 16) | (g(3) << 24)) >>> 0
      : ((g(0) << 24) | (g(1) << 16) | (g(2) << 8) | g(3)) >>> 0;
  }

  frames(): AsyncIterableIterator<Uint8Array> {
    return this.inbox;
  }

  send(frame: Uint8Array): boolean {
    if (this.isClosed || frame.length > this.maxFrameSize || (this.blocked && this.socket.writableLength >= this.maxPending)) {
      this.s.txDropped++;
      return false;
    }
    const h = this.framing.headerLen;
    const rec = Buffer.allocUnsafe(h + frame.length);
    const n = frame.length;
    if (h === 2) {
      if (this.framing.littleEndian) rec.writeUInt16LE(n, 0);
      else rec.writeUInt16BE(n, 0);
    } else if (this.framing.littleEndian) {
      rec.writeUInt32LE(n, 0);
    } else {
      rec.writeUInt32BE(n, 0);
    }
    rec.set(frame, h);
    if (!this.socket.write(rec)) {
      if (!this.blocked) this.s.backpressure++;
      this.blocked = true;
    }
    this.s.txFrames++;
    this.s.txBytes += n;
    return true;
  }

  private finish(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.inbox.end();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  async close(): Promise<void> {
    this.finish();
    this.socket.end();
    this.socket.destroySoon();
    await Promise.race([this.done, new Promise((r) => setTimeout(r, 1000).unref())]);
    this.socket.destroy();
  }

  stats(): StreamLinkStats {
    return { ...this.s };
  }
}
