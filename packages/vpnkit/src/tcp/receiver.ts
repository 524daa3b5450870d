/**
 * The receive half of a connection: receive sequence space, reassembly and
 * the advertised window (RFC 9293 §3.3.1, §3.8.6.2.2, §3.10.7.4).
 *
 *                       1          2          3
 *                   ----------|----------|----------
 *                          RCV.NXT    RCV.NXT
 *                                    +RCV.WND
 *
 *        1 - old sequence numbers that have been acknowledged
 *        2 - sequence numbers allowed for new reception
 *        3 - future sequence numbers that are not yet allowed
 *
 *   "Segment Length Receive Window  Test
 *    ------- -------  -------  -------------------------------------------
 *       0       0     SEG.SEQ = RCV.NXT
 *       0      >0     RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
 *      >0       0     not acceptable
 *      >0      >0     RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
 *                  or RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND"
 *
 *   Receiver SWS avoidance (§3.8.6.2.2): "the receiver should not advance
 *   the right window edge unless it can do so by ... min(Fr * RCV.BUFF, Eff.snd.MSS)"
 *   with Fr = 1/2.
 *
 * RCV.WND is the free space of the receive ring: what the owner has not
 * read closes the window.  Out-of-order data is written straight into the
 * ring's unallocated space (the `Assembler` only records which ranges are
 * held), so the receive side never holds more than `capacity` bytes.
 */

import { Assembler, type Range } from './assembler.js';
import { RingBuffer } from './buffer.js';
import type { BufferPool } from './pool.js';
import { seqAdd, seqGt, seqLt, seqSub } from './seq.js';

/** `Receiver.receive` outcome bits. */
export const Rx = {
  /** New in-order data became readable. */
  InOrder: 1,
  /** ...and it filled all or part of a hole before out-of-order data. */
  Filled: 2,
  /** Data held out of order (an immediate ACK with SACK is due). */
  OutOfOrder: 4,
  /** Out-of-order data dropped: the reassembly bounds were reached. */
  Dropped: 8,
  /** The peer's FIN is now in order: RCV.NXT moved past it. */
  Fin: 16,
  /** A FIN arrived ahead of a hole; it is taken when the hole fills. */
  FinAhead: 32,
} as const;

const EMPTY = new Uint8Array(0);

export class Receiver {
  /** RCV.NXT. */
  nxt = 0;
  /** IRS. */
  irs = 0;
  /** Our RFC 7323 window shift (0 unless negotiated). */
  shift = 0;
  /** Payload bytes of the last `receive` that were in order (for the ACK policy). */
  lastInOrder = 0;
  /** Bytes the last `receive` made readable (its own plus joined out-of-order data). */
  lastDelivered = 0;
  /** RCV.NXT + the window last advertised: never moved left. */
  private advRight = 0;
  private readonly ring: RingBuffer;
  private readonly asm: Assembler;
  private lentBytes = 0;
  private finAt: number | undefined;

  constructor(
    capacity: number,
    maxRanges: number,
    maxBytes: number,
    /** The MSS we announced (for the SWS threshold). */
    readonly mss: number,
    pool?: BufferPool,
  ) {
    this.ring = new RingBuffer(capacity, pool);
    this.asm = new Assembler(maxRanges, maxBytes);
  }

  /** The peer's SYN arrived with sequence number `irs`. */
  start(irs: number): void {
    this.irs = irs;
    this.nxt = seqAdd(irs, 1);
    this.advRight = this.nxt;
  }

  get capacity(): number {
    return this.ring.capacity;
  }

  /** In-order bytes not yet read (nor lent). */
  get readable(): number {
    return this.ring.length - this.lentBytes;
  }

  /** Bytes handed out by `lend` and not yet given back: still queued, still out of the window. */
  get lent(): number {
    return this.lentBytes;
  }

  /** RCV.WND for the acceptability test: the room in the ring (what its buffer pool backs). */
  get window(): number {
    return this.ring.room;
  }

  /** The window last advertised (bytes from RCV.NXT). */
  get advertised(): number {
    return Math.max(0, seqSub(this.advRight, this.nxt));
  }

  get hasOutOfOrder(): boolean {
    return !this.asm.isEmpty;
  }

  /** The sequence-number test of §3.10.7.4 for a segment of `len` sequence numbers. */
  acceptable(seq: number, len: number): boolean {
    const wnd = this.ring.room;
    const off = seqSub(seq, this.nxt);
    if (len === 0) return wnd === 0 ? off === 0 : off >= 0 && off < wnd;
    if (wnd === 0) return false;
    const endOff = off + len - 1;
    return (off >= 0 && off < wnd) || (endOff >= 0 && endOff < wnd);
  }

  /**
   * Take the text of an acceptable segment starting at `seq` (after any
   * SYN), with a FIN after it when `fin`; trims to the window.  `data` is
   * copied.  Returns `Rx` bits.
   */
  receive(seq: number, payload: Uint8Array, fin: boolean): number {
    let out = 0;
    this.lastInOrder = 0;
    this.lastDelivered = 0;
    const finSeq = seqAdd(seq, payload.length);
    let data = payload;
    let start = seq;
    if (seqLt(start, this.nxt)) {
      const d = seqSub(this.nxt, start);
      data = d >= data.length ? EMPTY : data.subarray(d);
      start = this.nxt;
    }
    const off = seqSub(start, this.nxt);
    const room = this.ring.room - off;
    if (data.length > room) {
      data = data.subarray(0, Math.max(0, room));
      fin = false; // the FIN lies beyond the window
    }
    if (fin && seqLt(finSeq, this.nxt)) fin = false; // a FIN we already took
    if (data.length > 0) {
      if (off === 0) {
        const n = this.ring.writeUnallocated(0, data);
        let len = n;
        if (!this.asm.isEmpty) {
          this.asm.add(0, n);
          len = this.asm.removeFront();
          out |= Rx.Filled; // all or part of a gap (RFC 5681 §4.2: ACK at once)
        }
        this.ring.enqueueUnallocated(len);
        this.nxt = seqAdd(this.nxt, len);
        this.lastInOrder = n;
        this.lastDelivered = len;
        out |= Rx.InOrder;
      } else {
        const n = this.ring.writeUnallocated(off, data);
        out |= this.asm.add(off, off + n) ? Rx.OutOfOrder : Rx.OutOfOrder | Rx.Dropped;
      }
    }
    if (fin) {
      if (finSeq === this.nxt) out |= this.takeFin();
      else {
        this.finAt = finSeq;
        out |= Rx.FinAhead;
      }
    } else if (this.finAt !== undefined && this.finAt === this.nxt) {
      out |= this.takeFin();
    }
    return out;
  }

  private takeFin(): number {
    this.finAt = undefined;
    this.nxt = seqAdd(this.nxt, 1);
    return Rx.Fin;
  }

  /**
   * Give the ring's storage back while it holds nothing (no unread, lent or
   * out-of-order bytes); false when it does.  The receiver stays usable: the
   * next byte allocates afresh.
   */
  trim(): boolean {
    if (this.ring.length > 0 || this.lentBytes > 0 || !this.asm.isEmpty) return false;
    this.ring.release();
    return true;
  }

  /** Give the ring's storage back (to its buffer pool); the receiver is not used after. */
  release(): void {
    this.ring.release();
    this.lentBytes = 0;
  }

  /** Up to `max` bytes in order, copied out (undefined when none).  Not while bytes are lent. */
  read(max?: number): Uint8Array | undefined {
    if (this.lentBytes > 0) throw new Error('Receiver.read while bytes are lent (use lend/giveBack throughout)');
    if (this.ring.length === 0) return undefined;
    return this.ring.dequeue(max ?? this.ring.length);
  }

  /**
   * The next in-order bytes after those already lent, as a view into the
   * buffer (no copy; at most `max`, stopping at the wrap point), or
   * undefined when none.  They stay queued, and out of the advertised
   * window, until `giveBack`: the view is not overwritten before that, so a
   * socket write may hold it until it is flushed.
   */
  lend(max?: number): Uint8Array | undefined {
    const n = this.readable;
    if (n === 0) return undefined;
    const v = this.ring.view(this.lentBytes, Math.min(n, max ?? n));
    this.lentBytes += v.length;
    return v;
  }

  /** Release the first `n` lent bytes (in the order they were lent). */
  giveBack(n: number): void {
    const k = Math.max(0, Math.min(n, this.lentBytes));
    this.ring.consume(k);
    this.lentBytes -= k;
  }

  /**
   * The window field to send (scaled), moving the advertised right edge
   * (never left).  It opens past the edge already advertised only by at
   * least the SWS threshold.
   */
  advertise(): number {
    const cur = this.advertised;
    const free = this.ring.room;
    const w = free - cur >= this.swsThreshold() ? free : cur;
    const field = Math.min(0xffff, Math.floor(w / 2 ** this.shift));
    const right = seqAdd(this.nxt, field * 2 ** this.shift);
    if (seqGt(right, this.advRight)) this.advRight = right;
    return field;
  }

  /** The window field of a SYN or SYN,ACK (never scaled, RFC 7323 §2.2). */
  advertiseSyn(): number {
    const field = Math.min(0xffff, this.ring.room);
    this.advRight = seqAdd(this.nxt, field);
    return field;
  }

  /** Whether reading has opened enough room to be worth a window update. */
  get updateDue(): boolean {
    return this.ring.room - this.advertised >= this.swsThreshold();
  }

  /** SACK blocks (RFC 2018 §4), most recent first, as offsets from RCV.NXT. */
  sackBlocks(max: number): Range[] {
    return this.asm.sackBlocks(max);
  }

  private swsThreshold(): number {
    return Math.max(1, Math.min(Math.floor(this.ring.capacity / 2), this.mss));
  }
}
