/**
 * One TCP connection: the RFC 9293 state machine (§3.3.2, §3.10) with
 * RFC 7323 window scaling, timestamps and PAWS, RFC 2018 SACK, RFC 5961
 * challenge ACKs, RFC 6298 retransmission timing, RFC 5681/6582 congestion
 * control, zero-window probing and delayed ACKs.
 *
 *                              +---------+ ---------\      active OPEN
 *                              |  CLOSED |            \    -----------
 *                              +---------+<---------\   \   create TCB
 *                                |     ^              \   \  snd SYN
 *                   passive OPEN |     |   CLOSE        \   \
 *                   ------------ |     | ----------       \   \
 *                    create TCB  |     | delete TCB         \   \
 *                                V     |                      \   \
 *            rcv RST (note 1)  +---------+            CLOSE    |    \
 *         -------------------->|  LISTEN |          ---------- |     |
 *        /                     +---------+          delete TCB |     |
 *       /           rcv SYN      |     |     SEND              |     |
 *      /           -----------   |     |    -------            |     V
 *  +--------+      snd SYN,ACK  /       \   snd SYN          +--------+
 *  |        |<-----------------           ------------------>|        |
 *  |  SYN   |                    rcv SYN                     |  SYN   |
 *  |  RCVD  |<-----------------------------------------------|  SENT  |
 *  |        |                  snd SYN,ACK                   |        |
 *  |        |------------------           -------------------|        |
 *  +--------+   rcv ACK of SYN  \       /  rcv SYN,ACK       +--------+
 *     |         --------------   |     |   -----------
 *     |                x         |     |     snd ACK
 *     |                          V     V
 *     |  CLOSE                 +---------+
 *     | -------                |  ESTAB  |
 *     | snd FIN                +---------+
 *     |                 CLOSE    |     |    rcv FIN
 *     V                -------   |     |    -------
 *  +---------+         snd FIN  /       \   snd ACK         +---------+
 *  |  FIN    |<----------------          ------------------>|  CLOSE  |
 *  | WAIT-1  |------------------                            |   WAIT  |
 *  +---------+          rcv FIN  \                          +---------+
 *    | rcv ACK of FIN   -------   |                          CLOSE  |
 *    | --------------   snd ACK   |                         ------- |
 *    V        x                   V                         snd FIN V
 *  +---------+               +---------+                    +---------+
 *  |FINWAIT-2|               | CLOSING |                    | LAST-ACK|
 *  +---------+               +---------+                    +---------+
 *    |              rcv ACK of FIN |                 rcv ACK of FIN |
 *    |  rcv FIN     -------------- |    Timeout=2MSL -------------- |
 *    |  -------            x       V    ------------        x       V
 *     \ snd ACK              +---------+delete TCB          +---------+
 *       -------------------->|TIME-WAIT|------------------->| CLOSED  |
 *                            +---------+                    +---------+
 *                                         (RFC 9293 §3.3.2, Figure 5)
 *
 * LISTEN is the owner's business (it decides whether to `accept` a SYN).
 * The connection does no I/O: segments come in through `process`, go out
 * through `dispatch`, and `pollAt` says when to call `dispatch` next.
 *
 * Memory is bounded by the two ring buffers: out-of-order data is stored in
 * the receive ring's unallocated space, and the advertised window is the
 * receive ring's free space (what the owner has not read yet), so a slow
 * reader closes the peer's window (`receiver.ts`).  The sender keeps the
 * peer's SACK blocks in a bounded scoreboard (`scoreboard.ts`) and skips
 * SACKed data when it retransmits.
 *
 * FIN-WAIT-2 is bounded (`finWait2Timeout`, 60 s by default as Linux's
 * tcp_fin_timeout): a peer that acknowledged our FIN and then says nothing
 * more for that long gets a RST and the connection closes ('timeout').
 *
 * Not implemented: urgent data (URG is ignored), ECN, RFC 6675 pipe accounting beyond
 * "retransmit the holes below the highest SACKed byte", RACK/TLP.
 */

import { TCP_MAX_SACK_BLOCKS, TcpFlags, type TcpRepr, type TcpSackBlock, type TcpTimestamp } from '../wire/tcp.js';
import { RingBuffer } from './buffer.js';
import {
  defaultMss,
  mssForMtu,
  resolveOptions,
  windowShiftFor,
  type ResolvedTcpOptions,
  type TcpEndpoint,
  type TcpOptions,
} from './config.js';
import { NewReno } from './congestion.js';
import { generateIsn } from './isn.js';
import { Receiver, Rx } from './receiver.js';
import { RttEstimator } from './rtt.js';
import { SackScoreboard } from './scoreboard.js';
import { seqAdd, seqGe, seqGt, seqLe, seqLt, seqSub } from './seq.js';
import type { TimeWait } from './time-wait.js';

export { resetFor } from './reset.js';

export type TcpState =
  | 'SYN-SENT'
  | 'SYN-RECEIVED'
  | 'ESTABLISHED'
  | 'FIN-WAIT-1'
  | 'FIN-WAIT-2'
  | 'CLOSE-WAIT'
  | 'CLOSING'
  | 'LAST-ACK'
  | 'TIME-WAIT'
  | 'CLOSED';

export type TcpCloseReason = 'normal' | 'reset' | 'refused' | 'timeout' | 'aborted';

export type TcpEvent =
  | { type: 'established' }
  | { type: 'readable' }
  | { type: 'writable' }
  | { type: 'eof' }
  | { type: 'closed'; reason: TcpCloseReason };

export interface TcpConnectionStats {
  state: TcpState;
  segmentsIn: number;
  segmentsOut: number;
  /** In-order payload bytes delivered to the receive buffer. */
  bytesIn: number;
  /** Payload bytes sent for the first time. */
  bytesOut: number;
  /** Segments (data, SYN or FIN) sent again, and their payload bytes. */
  retransmissions: number;
  bytesRetransmitted: number;
  fastRetransmits: number;
  timeouts: number;
  dupAcksIn: number;
  challengeAcks: number;
  zeroWindowProbes: number;
  /** Out-of-order segments dropped because the reassembly bounds were reached. */
  outOfOrderDropped: number;
  cwnd: number;
  ssthresh: number;
  srtt: number | undefined;
  rto: number;
  /** Peer's window (bytes, scaled) and ours as last computed. */
  sndWnd: number;
  rcvWnd: number;
  /** Bytes sent and not yet acknowledged (SND.MAX - SND.UNA). */
  inFlight: number;
  mss: number;
  windowScaling: boolean;
  timestamps: boolean;
  sack: boolean;
}

const EMPTY = new Uint8Array(0);
/** RSTs held for the next dispatch at most (one per bad segment). */
const MAX_QUEUED_RSTS = 4;
/** Least interval between ACKs answering unacceptable bare ACKs, ms. */
const OOW_ACK_INTERVAL = 500;
// Payload-free events are shared, not allocated per occurrence.
const EV_ESTABLISHED: TcpEvent = Object.freeze({ type: 'established' });
const EV_READABLE: TcpEvent = Object.freeze({ type: 'readable' });
const EV_WRITABLE: TcpEvent = Object.freeze({ type: 'writable' });
const EV_EOF: TcpEvent = Object.freeze({ type: 'eof' });
const { Fin, Syn, Rst, Psh, Ack } = TcpFlags;

interface Control {
  seq: number;
  ack: number;
  flags: number;
}

/**
 * One connection.  The owner feeds it segments and calls `dispatch` when
 * `pollAt` says so; the connection never reads a clock.
 *
 * @example
 *   const c = TcpConnection.accept(now, local, remote, syn, { random });
 *   c.dispatch(now, (seg) => sendToGuest(seg));          // the SYN,ACK
 *   c.process(now, nextSegment);                         // per segment
 *   for (const e of c.takeEvents()) if (e.type === 'readable') host.write(c.read()!);
 *   c.write(bytesFromHost);                              // returns what fit
 *   const at = c.pollAt();                               // schedule the next dispatch
 */
export class TcpConnection {
  private st: TcpState;
  private readonly o: ResolvedTcpOptions;
  private readonly active: boolean;

  // Send sequence space (RFC 9293 §3.3.1).  SND.MAX is the highest SND.NXT
  // ever reached: after a timeout SND.NXT goes back to SND.UNA (go-back-N).
  private readonly iss: number;
  private sndUna: number;
  private sndNxt: number;
  private sndMax: number;
  private sndWnd = 0;
  private maxSndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private sndShift = 0;
  /** Sequence number of the first byte in `tx`. */
  private txBase: number;
  private readonly tx: RingBuffer;
  private finQueued = false;
  private finAcked = false;

  // Receive sequence space, reassembly and the advertised window.
  private readonly rcv: Receiver;

  // Negotiated options.
  private smss: number;
  private readonly rcvMss: number;
  /** The largest payload the peer sends us (our MSS less its timestamp option). */
  private rcvSegMax: number;
  private wsOk = false;
  private sackOk = false;
  private tsOk = false;
  private readonly tsOffset: number;
  private tsRecent = 0;
  private lastAckSent = 0;

  private readonly cc: NewReno;
  private readonly rtt: RttEstimator;
  private readonly sacked = new SackScoreboard();

  // Timers (absolute ms) and pending work.
  private rtoAt: number | undefined;
  private retries = 0;
  private persistAt: number | undefined;
  private persistBackoff = 0;
  private unansweredProbes = 0;
  private probeDue = false;
  private ackAt: number | undefined;
  private ackNow = false;
  private unackedBytes = 0;
  private timeWaitUntil: number | undefined;
  /** Deadline of an idle FIN-WAIT-2 (moved by every segment from the peer). */
  private finWait2Until: number | undefined;
  private synDue = false;
  private synRetries = 0;
  private synSentAt = 0;
  /** Retransmit the segment at SND.UNA (fast retransmit, NewReno partial ACK). */
  private rexmitUna = false;
  /** Holes below the highest SACKed byte that may be retransmitted now. */
  private holeBudget = 0;
  /** RFC 3042 limited transmit: segments allowed past cwnd by the first two dup ACKs. */
  private limitedTx = 0;
  /** Highest sequence number retransmitted in this recovery episode. */
  private highRxt = 0;
  // RTT timing of one segment when timestamps are off (Karn's rule).
  private rttActive = false;
  private rttSeq = 0;
  private rttTime = 0;
  private readonly ctl: Control[] = [];
  private abortPending = false;
  private challengeStart = -Infinity;
  private oowAckAt = -Infinity;
  private challengeCount = 0;
  private lastNow: number;

  private events: TcpEvent[] = [];
  private readableQueued = false;
  private writeBlocked = false;

  private readonly st_ = {
    segmentsIn: 0,
    segmentsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    retransmissions: 0,
    bytesRetransmitted: 0,
    fastRetransmits: 0,
    timeouts: 0,
    dupAcksIn: 0,
    challengeAcks: 0,
    zeroWindowProbes: 0,
    outOfOrderDropped: 0,
  };

  // The segment handed to `emit`, reused (valid only during the call).
  private readonly out: TcpRepr;
  private readonly outTs: TcpTimestamp = { tsVal: 0, tsEcr: 0 };
  /** `outSack[n]`: n pooled SACK blocks (the array handed out for an n-block option). */
  private readonly outSack: TcpSackBlock[][] = [];

  private constructor(
    now: number,
    readonly local: TcpEndpoint,
    readonly remote: TcpEndpoint,
    opts: TcpOptions,
    active: boolean,
  ) {
    this.o = resolveOptions(opts);
    this.active = active;
    this.st = active ? 'SYN-SENT' : 'SYN-RECEIVED';
    this.lastNow = now;
    this.iss = generateIsn(this.o.random, now);
    this.tsOffset = this.o.random() >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.txBase = seqAdd(this.iss, 1);
    this.tx = new RingBuffer(this.o.txBufferSize, this.o.pool);
    this.rcvMss = Math.min(0xffff, mssForMtu(this.o.mtu, local.addr));
    this.rcv = new Receiver(this.o.rxBufferSize, this.o.maxOutOfOrderRanges, this.o.maxOutOfOrderBytes, this.rcvMss, this.o.pool);
    this.smss = Math.min(defaultMss(remote.addr), this.rcvMss);
    this.rcvSegMax = this.rcvMss;
    this.cc = new NewReno(this.smss, this.iss);
    this.rtt = new RttEstimator({
      initialRto: this.o.initialRto,
      minRto: this.o.minRto,
      maxRto: this.o.maxRto,
      granularity: 1,
    });
    this.out = {
      srcPort: local.port,
      dstPort: remote.port,
      seqNumber: 0,
      ackNumber: 0,
      flags: 0,
      windowLen: 0,
      payload: EMPTY,
    };
    this.synDue = true;
  }

  /** Passive open from a received SYN that the owner decided to accept. The SYN/ACK goes out on the next dispatch. */
  static accept(now: number, local: TcpEndpoint, remote: TcpEndpoint, syn: TcpRepr, opts: TcpOptions): TcpConnection {
    const c = new TcpConnection(now, local, remote, opts, false);
    c.rcv.start(syn.seqNumber);
    c.negotiate(syn);
    c.sndWnd = syn.windowLen; // never scaled in a SYN (RFC 7323 §2.2)
    c.maxSndWnd = c.sndWnd;
    c.sndWl1 = syn.seqNumber;
    c.sndWl2 = c.iss;
    c.st_.segmentsIn++;
    return c;
  }

  /** Active open. The SYN goes out on the next dispatch. */
  static connect(now: number, local: TcpEndpoint, remote: TcpEndpoint, opts: TcpOptions): TcpConnection {
    const c = new TcpConnection(now, local, remote, opts, true);
    c.rcv.shift = c.o.windowScaling ? windowShiftFor(c.o.rxBufferSize) : 0;
    return c;
  }

  get state(): TcpState {
    return this.st;
  }

  /** The send MSS in use (segments larger than this are offloaded super-segments). */
  get mss(): number {
    return this.smss;
  }

  get writeSpace(): number {
    return this.canWrite() ? this.txSpace() : 0;
  }

  get readable(): number {
    return this.rcv.readable;
  }

  // -------------------------------------------------------------------------
  // Owner calls

  write(data: Uint8Array): number {
    if (!this.canWrite()) return 0;
    const space = this.txSpace();
    const n = space >= data.length ? this.tx.enqueue(data) : this.tx.enqueue(data.subarray(0, space));
    if (n < data.length) this.writeBlocked = true;
    this.armTimers(this.lastNow);
    return n;
  }

  /**
   * What the send buffer takes now: up to twice what the network can have in
   * flight (min of cwnd and the peer's largest window), at least 64 KiB, at
   * most the buffer's size and what its pool backs.  Holding more than that
   * keeps the pipe no fuller, only memory (and a shared pool) busier; it
   * grows as cwnd does, and `writable` follows.
   */
  private txSpace(): number {
    const target = Math.min(this.o.txBufferSize, Math.max(64 * 1024, 2 * Math.min(this.cc.cwnd, this.maxSndWnd)));
    return Math.max(0, Math.min(this.tx.room, target - this.tx.length));
  }

  /**
   * Give back the storage of buffers that hold nothing now (all sent data
   * acknowledged, all received data read): for an idle connection that once
   * moved a lot.  The connection goes on; storage is allocated again when
   * data comes.
   */
  trimBuffers(): void {
    if (this.tx.length === 0) this.tx.release();
    this.rcv.trim();
  }

  /**
   * What TIME-WAIT needs of this connection (`time-wait.ts`), for an owner
   * that keeps that instead of the connection for 2*MSL; undefined in any
   * other state.
   */
  timeWait(): TimeWait | undefined {
    if (this.st !== 'TIME-WAIT' || this.timeWaitUntil === undefined) return undefined;
    return {
      localPort: this.local.port,
      remotePort: this.remote.port,
      sndNxt: this.sndNxt,
      rcvNxt: this.rcv.nxt,
      window: this.rcv.advertise(),
      ts: this.tsOk ? { offset: this.tsOffset, recent: this.tsRecent } : undefined,
      until: this.timeWaitUntil,
    };
  }

  /**
   * Give both buffers' storage back (to the buffer pool, if any): for the
   * owner, once the connection is closed and its data read.  Unread data is
   * dropped; the connection must not be used after.
   */
  releaseBuffers(): void {
    this.tx.release();
    this.rcv.release();
  }

  /**
   * Zero-copy reading: the next received bytes as a view into the receive
   * buffer, which stays untouched (and the bytes out of the window) until
   * `returnRead` gives them back.  Use either this pair or `read`, not both.
   */
  lendRead(max?: number): Uint8Array | undefined {
    return this.rcv.lend(max);
  }

  /** Give back the first `n` bytes lent by `lendRead` (their consumer is done with them). */
  returnRead(n: number): void {
    if (this.rcv.lent === 0) return; // released meanwhile
    this.rcv.giveBack(n);
    if (this.receiving() && this.rcv.updateDue) this.ackNow = true;
  }

  read(max?: number): Uint8Array | undefined {
    const out = this.rcv.read(max);
    // Receiver SWS avoidance (RFC 9293 §3.8.6.2.2): announce the larger
    // window only once it has grown by min(buffer / 2, MSS).
    if (out !== undefined && this.receiving() && this.rcv.updateDue) this.ackNow = true;
    return out;
  }

  shutdown(): void {
    if (this.finQueued || this.abortPending || this.st === 'CLOSED') return;
    this.finQueued = true;
    if (this.st === 'ESTABLISHED') this.st = 'FIN-WAIT-1';
    else if (this.st === 'CLOSE-WAIT') this.st = 'LAST-ACK';
    // SYN-SENT / SYN-RECEIVED: the FIN follows once established.
    this.armTimers(this.lastNow);
  }

  abort(): void {
    if (this.st === 'CLOSED') return;
    this.abortPending = true;
  }

  takeEvents(): TcpEvent[] {
    const e = this.events;
    if (e.length === 0) return e;
    this.events = [];
    this.readableQueued = false;
    return e;
  }

  stats(): TcpConnectionStats {
    return {
      state: this.st,
      ...this.st_,
      cwnd: this.cc.cwnd,
      ssthresh: this.cc.ssthresh,
      srtt: this.rtt.srtt,
      rto: this.rtt.rto,
      sndWnd: this.sndWnd,
      rcvWnd: this.rcv.advertised,
      inFlight: seqSub(this.sndMax, this.sndUna),
      mss: this.smss,
      windowScaling: this.wsOk,
      timestamps: this.tsOk,
      sack: this.sackOk,
    };
  }

  pollAt(): number | undefined {
    if (this.st === 'CLOSED') return undefined;
    if (
      this.abortPending ||
      this.ctl.length > 0 ||
      this.ackNow ||
      this.synDue ||
      this.probeDue ||
      (this.rexmitUna && seqLt(this.sndUna, this.sndMax)) ||
      (this.holeBudget > 0 && this.nextHole() !== undefined) ||
      this.sendable() >= 0
    ) {
      return this.lastNow;
    }
    return earliest(earliest(earliest(this.rtoAt, this.persistAt), earliest(this.ackAt, this.timeWaitUntil)), this.finWait2Until);
  }

  // -------------------------------------------------------------------------
  // Input (RFC 9293 §3.10.7)

  process(now: number, seg: TcpRepr): void {
    this.lastNow = now;
    if (this.st === 'CLOSED' || this.abortPending) return;
    this.st_.segmentsIn++;
    if (this.st === 'SYN-SENT') this.processSynSent(now, seg);
    else this.processSynchronized(now, seg);
    // Entering FIN-WAIT-2 or hearing from the peer in it (re)starts its bound.
    if (this.st === 'FIN-WAIT-2' && this.o.finWait2Timeout > 0) this.finWait2Until = now + this.o.finWait2Timeout;
    this.armTimers(now);
  }

  private processSynSent(now: number, seg: TcpRepr): void {
    const f = seg.flags;
    const ack = seg.ackNumber;
    if (f & Ack) {
      if (seqLe(ack, this.iss) || seqGt(ack, this.sndNxt)) {
        if (!(f & Rst)) this.queueRst(ack);
        return;
      }
    }
    if (f & Rst) {
      // RFC 5961 §3.2: only a RST acknowledging our SYN is believed.
      if (f & Ack) this.close('refused');
      return;
    }
    if (!(f & Syn)) return;
    this.rcv.start(seg.seqNumber);
    this.negotiate(seg);
    this.sndWnd = seg.windowLen;
    this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
    this.sndWl1 = seg.seqNumber;
    this.sndWl2 = ack;
    if (f & Ack) {
      this.sndUna = ack;
      if (this.tsOk && seg.timestamp !== undefined && seg.timestamp.tsEcr !== 0) this.sampleTs(now, seg.timestamp.tsEcr);
      else if (this.synRetries === 0) this.rtt.sample(now - this.synSentAt);
      this.rtt.resetBackoff();
      this.rtoAt = undefined;
      this.establish();
      this.ackNow = true;
    } else {
      // Simultaneous open (RFC 9293 §3.5, Figure 8).
      this.st = 'SYN-RECEIVED';
      this.synDue = true;
    }
  }

  private processSynchronized(now: number, seg: TcpRepr): void {
    const f = seg.flags;
    let seq = seg.seqNumber;
    let syn = (f & Syn) !== 0;
    const rst = (f & Rst) !== 0;
    const fin = (f & Fin) !== 0;
    const payload = seg.payload;

    if (syn && !rst && this.st === 'SYN-RECEIVED' && seq === this.rcv.irs) {
      if (f & Ack && seqGt(seg.ackNumber, this.sndUna) && seqLe(seg.ackNumber, this.sndNxt)) {
        // Simultaneous open: the peer's SYN,ACK completes our handshake.  ACK
        // its SYN at once (our own SYN,ACK may not have gone out yet).
        seq = seqAdd(seq, 1);
        syn = false;
        this.ackNow = true;
      } else {
        this.synDue = true; // a retransmitted SYN: our SYN,ACK was lost
        return;
      }
    }

    const segLen = payload.length + (syn ? 1 : 0) + (fin ? 1 : 0);
    const ts = seg.timestamp;

    // RFC 7323 §5.3 R1: PAWS, before the sequence-number check.
    if (this.tsOk && this.o.paws && ts !== undefined && !rst && seqLt(ts.tsVal, this.tsRecent)) {
      this.ackNow = true;
      return;
    }

    const wnd = this.rcv.window;
    if (!this.rcv.acceptable(seq, segLen)) {
      if (rst) return;
      if (this.st === 'TIME-WAIT' && fin) this.timeWaitUntil = now + 2 * this.o.msl;
      // A full receive buffer still lets the ACK field through (§3.10.7.4:
      // "special allowance should be made to accept valid ACKs").
      if (wnd === 0 && seq === this.rcv.nxt && f & Ack && !syn && this.st !== 'SYN-RECEIVED') {
        this.processAck(now, seg, seq);
      }
      // RFC 9293 asks for an ACK; for bare ACKs it is rate-limited (as
      // Linux's tcp_invalid_ratelimit does) so two confused peers cannot
      // keep answering each other's ACKs.
      if (this.st !== 'CLOSED' && (segLen > 0 || now - this.oowAckAt >= OOW_ACK_INTERVAL)) {
        this.oowAckAt = now;
        this.ackNow = true;
      }
      return;
    }

    if (rst) {
      // RFC 5961 §3.2: only an exact match resets; in-window gets a challenge.
      if (seq === this.rcv.nxt) {
        if (this.st === 'SYN-RECEIVED') this.close(this.active ? 'refused' : 'reset');
        else if (this.st === 'TIME-WAIT') this.close('normal');
        else this.close('reset');
      } else this.challengeAck(now);
      return;
    }
    if (syn) {
      this.challengeAck(now); // RFC 5961 §4
      return;
    }
    if (!(f & Ack)) return;

    // RFC 7323 §4.3: remember the timestamp to echo.
    if (this.tsOk && ts !== undefined && seqLe(seq, this.lastAckSent)) this.tsRecent = ts.tsVal;

    if (!this.processAck(now, seg, seq)) return;

    if (this.st !== 'ESTABLISHED' && this.st !== 'FIN-WAIT-1' && this.st !== 'FIN-WAIT-2') return;

    // §3.10.7.4 "seventh, process the segment text" and "eighth, check the FIN bit".
    const rx = this.rcv.receive(seq, payload, fin);
    if (rx & Rx.InOrder) {
      this.st_.bytesIn += this.rcv.lastDelivered;
      if (!this.readableQueued) {
        this.readableQueued = true;
        this.events.push(EV_READABLE);
      }
      // RFC 5681 §4.2: ACK at least every second full-sized segment, and at
      // once when a hole is being filled.
      this.unackedBytes += this.rcv.lastInOrder;
      if (rx & Rx.Filled || this.o.delayedAck === 0 || this.unackedBytes >= 2 * this.rcvSegMax) this.ackNow = true;
      else if (this.ackAt === undefined) this.ackAt = now + this.o.delayedAck;
    }
    // RFC 5681 §4.2: an out-of-order segment is ACKed at once (with SACK blocks).
    if (rx & (Rx.OutOfOrder | Rx.FinAhead)) this.ackNow = true;
    if (rx & Rx.Dropped) this.st_.outOfOrderDropped++;
    if (rx & Rx.Fin) this.receiveFin(now);
  }

  /** §3.10.7.4 "fifth, check the ACK field".  Returns false when the segment is finished with. */
  private processAck(now: number, seg: TcpRepr, seq: number): boolean {
    const ack = seg.ackNumber;
    if (this.st === 'SYN-RECEIVED') {
      if (!(seqGt(ack, this.sndUna) && seqLe(ack, this.sndNxt))) {
        this.queueRst(ack);
        return false;
      }
      if (this.synRetries === 0 && !(this.tsOk && seg.timestamp !== undefined)) this.rtt.sample(now - this.synSentAt);
      this.establish();
      this.sndWnd = seg.windowLen * 2 ** this.sndShift;
      this.maxSndWnd = Math.max(this.maxSndWnd, this.sndWnd);
      this.sndWl1 = seq;
      this.sndWl2 = ack;
    }
    if (seqGt(ack, this.sndMax)) {
      this.ackNow = true; // acknowledges something not yet sent
      return false;
    }
    if (seqLt(ack, seqAdd(this.sndUna, -this.maxSndWnd))) {
      this.ackNow = true; // RFC 5961 §5.2: too old to be believed
      return false;
    }
    this.unansweredProbes = 0;
    const wndField = seg.windowLen * 2 ** this.sndShift;

    if (this.sackOk && seg.sackBlocks !== undefined) {
      for (const b of seg.sackBlocks) this.sacked.add(b.left, b.right, ack, this.sndMax);
    }

    if (seqGt(ack, this.sndUna)) {
      this.newAck(now, ack, seg);
    } else if (
      ack === this.sndUna &&
      seg.payload.length === 0 &&
      !(seg.flags & (Syn | Fin)) &&
      wndField === this.sndWnd &&
      wndField > 0 && // zero-window probe answers are not loss signals
      seqGt(this.sndMax, this.sndUna)
    ) {
      this.dupAck(ack);
    }
    if (
      this.sackOk &&
      !this.cc.inRecovery &&
      this.sacked.bytes >= 3 * this.smss &&
      this.cc.enterRecovery(ack, seqSub(this.sndMax, this.sndUna), this.sndMax)
    ) {
      // RFC 6675 §5: three segments' worth SACKed above the hole means it was
      // lost, even when lost or piggybacked ACKs kept the dup ACK count low.
      this.startFastRetransmit();
    }

    // Window update (§3.10.7.4): only from segments newer than the last one used.
    if (seqLt(this.sndWl1, seq) || (this.sndWl1 === seq && seqLe(this.sndWl2, ack))) {
      if (this.sndWnd === 0 && wndField > 0) {
        this.persistAt = undefined;
        this.persistBackoff = 0;
      }
      this.sndWnd = wndField;
      this.sndWl1 = seq;
      this.sndWl2 = ack;
      if (wndField > this.maxSndWnd) this.maxSndWnd = wndField;
    }
    if (this.sndWnd === 0 && seqGt(this.sndNxt, this.sndUna)) {
      // What we sent past a closed window was dropped (a receiver never
      // shrinks its window): the persist timer takes over.
      this.sndNxt = this.sndUna;
      this.rtoAt = undefined;
      this.rttActive = false;
    }

    const finAcked = this.finQueued && this.finAcked;
    switch (this.st) {
      case 'FIN-WAIT-1':
        if (finAcked) this.st = 'FIN-WAIT-2';
        break;
      case 'CLOSING':
        if (finAcked) this.enterTimeWait(now);
        break;
      case 'LAST-ACK':
        if (finAcked) {
          this.close('normal');
          return false;
        }
        break;
      default:
        break;
    }
    return true;
  }

  private newAck(now: number, ack: number, seg: TcpRepr): void {
    const acked = seqSub(ack, this.sndUna);
    let dataAcked = acked;
    if (this.sndUna === this.iss) dataAcked--; // our SYN
    const finWasAcked = this.finAcked;
    if (this.finQueued && ack === seqAdd(this.finSeq(), 1)) {
      dataAcked--;
      this.finAcked = true;
    }
    dataAcked = Math.min(dataAcked, this.tx.length);
    if (dataAcked > 0) {
      this.tx.consume(dataAcked);
      this.txBase = seqAdd(this.txBase, dataAcked);
    }
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    if (seqLt(this.highRxt, ack)) this.highRxt = ack;
    this.sacked.advance(ack);

    // RTT (RFC 6298, RFC 7323 §4): Karn's rule for the timed segment.
    const ts = seg.timestamp;
    if (this.tsOk && ts !== undefined && ts.tsEcr !== 0) this.sampleTs(now, ts.tsEcr);
    else if (this.rttActive && seqGe(ack, this.rttSeq)) {
      this.rtt.sample(now - this.rttTime);
      this.rttActive = false;
    }
    this.rtt.resetBackoff();
    this.retries = 0;
    this.limitedTx = 0;

    const flight = seqSub(this.sndMax, this.sndUna);
    if (dataAcked > 0 || this.finAcked !== finWasAcked) {
      const wasInRecovery = this.cc.inRecovery;
      const cwndBefore = this.cc.cwnd;
      const outcome = this.cc.onNewAck(ack, acked, flight);
      // Grow cwnd only while it limits the sender (RFC 7661 §4.1 in spirit):
      // a receiver-limited or application-limited flow would otherwise
      // inflate it without bound and burst later.
      if (outcome === 'normal' && 2 * (flight + acked) < cwndBefore) this.cc.cwnd = cwndBefore;
      if (outcome === 'partial') {
        // RFC 6582: retransmit the first unacknowledged segment, unless this
        // recovery already resent it (SACK-driven hole filling did).
        if (!seqLt(ack, this.highRxt) || !this.sackOk) this.rexmitUna = true;
        else this.holeBudget++;
      } else if (wasInRecovery) this.holeBudget = 0;
    }
    this.rtoAt = flight > 0 ? now + this.rtt.rto : undefined;
    if (this.writeBlocked && this.txSpace() > 0 && this.canWrite()) {
      this.writeBlocked = false;
      this.events.push(EV_WRITABLE);
    }
  }

  private dupAck(ack: number): void {
    this.st_.dupAcksIn++;
    const flight = seqSub(this.sndMax, this.sndUna);
    if (this.cc.onDupAck(ack, flight, this.sndMax)) {
      this.startFastRetransmit();
    } else if (this.cc.inRecovery && this.sackOk) {
      this.holeBudget++;
    } else if (!this.cc.inRecovery && this.cc.dupAcks <= 2) {
      this.limitedTx = this.cc.dupAcks;
    }
  }

  private startFastRetransmit(): void {
    this.limitedTx = 0;
    this.st_.fastRetransmits++;
    this.rexmitUna = true;
    this.holeBudget = 0;
    this.highRxt = this.sndUna;
    this.rttActive = false;
  }

  private sampleTs(now: number, tsEcr: number): void {
    const r = ((now + this.tsOffset) >>> 0) - tsEcr;
    const rtt = r >>> 0;
    if (rtt < 0x7fffffff) this.rtt.sample(rtt);
  }

  /** The peer's FIN is in order (RCV.NXT already moved past it). */
  private receiveFin(now: number): void {
    this.ackNow = true;
    this.events.push(EV_EOF);
    switch (this.st) {
      case 'ESTABLISHED':
        this.st = 'CLOSE-WAIT';
        break;
      case 'FIN-WAIT-1':
        if (this.finAcked) this.enterTimeWait(now);
        else this.st = 'CLOSING';
        break;
      case 'FIN-WAIT-2':
        this.enterTimeWait(now);
        break;
      default:
        break;
    }
  }

  // -------------------------------------------------------------------------
  // Output

  dispatch(now: number, emit: (seg: TcpRepr) => void): void {
    this.lastNow = now;
    if (this.st === 'CLOSED') return;
    if (this.abortPending) {
      if (this.st !== 'SYN-SENT' && this.st !== 'TIME-WAIT') {
        // RST,ACK: a peer still in SYN-SENT believes a RST only with an ACK of its SYN.
        this.sendCtl(emit, this.sndMax, this.rcv.nxt, Rst | Ack);
      }
      this.close('aborted');
      return;
    }
    for (const c of this.ctl) this.sendCtl(emit, c.seq, c.ack, c.flags);
    this.ctl.length = 0;

    if (this.timeWaitUntil !== undefined && now >= this.timeWaitUntil) {
      this.close('normal');
      return;
    }
    if (this.finWait2Until !== undefined && now >= this.finWait2Until) {
      if (this.st === 'FIN-WAIT-2') {
        // As Linux when tcp_fin_timeout runs out: tell the peer, then forget the connection.
        this.sendCtl(emit, this.sndMax, this.rcv.nxt, Rst | Ack);
        this.close('timeout');
        return;
      }
      this.finWait2Until = undefined;
    }
    if (this.rtoAt !== undefined && now >= this.rtoAt && !this.onRto()) return;
    if (this.persistAt !== undefined && now >= this.persistAt && !this.onPersist(now)) return;
    if (this.ackAt !== undefined && now >= this.ackAt) this.ackNow = true;

    if (this.st === 'SYN-SENT') {
      if (this.synDue) this.sendSyn(now, emit);
    } else if (this.st === 'SYN-RECEIVED') {
      if (this.synDue || this.ackNow) this.sendSyn(now, emit);
    } else {
      this.output(now, emit);
    }
    this.ackNow = false;
    this.armTimers(now);
  }

  private output(now: number, emit: (seg: TcpRepr) => void): void {
    let sent = false;
    if (this.rexmitUna) {
      this.rexmitUna = false;
      if (seqLt(this.sndUna, this.sndMax) && this.retransmit(now, emit, this.sndUna)) sent = true;
    }
    while (this.holeBudget > 0) {
      const s = this.nextHole();
      if (s === undefined) {
        this.holeBudget = 0;
        break;
      }
      this.holeBudget--;
      if (!this.retransmit(now, emit, s)) continue;
      // The retransmission takes the place of the segment this dup ACK's
      // window inflation would have sent (keeps the pipe near ssthresh).
      if (this.cc.cwnd - this.smss >= this.cc.ssthresh) this.cc.cwnd -= this.smss;
      sent = true;
    }
    if (this.probeDue) {
      this.probeDue = false;
      if (this.sendable() !== -2) {
        this.sendProbe(now, emit);
        sent = true;
      }
    }
    for (;;) {
      const len = this.sendable();
      if (len < 0) break;
      this.sendNew(now, emit, len);
      sent = true;
    }
    if (!sent && this.ackNow) this.sendSegment(emit, Ack, this.bareAckSeq(), EMPTY);
  }

  /**
   * Bytes of data the next segment at SND.NXT may carry (0 for a bare FIN),
   * or -1 when nothing may be sent now (-2: nothing is ever sent in this
   * state).  `sendFin` says whether the FIN rides along.  Shared by
   * `dispatch` and `pollAt` so the two always agree.
   */
  private sendable(): number {
    this.sendFin = false;
    const s = this.st;
    if (s !== 'ESTABLISHED' && s !== 'CLOSE-WAIT' && s !== 'FIN-WAIT-1' && s !== 'CLOSING' && s !== 'LAST-ACK') {
      return -2; // nothing is ever sent in this state
    }
    const off = seqSub(this.sndNxt, this.txBase);
    const avail = this.tx.length - off;
    const finWaiting = this.finQueued && !this.finAcked && avail <= 0 && this.sndNxt === this.finSeq();
    if (avail <= 0 && !finWaiting) return -1;
    const inFlight = seqSub(this.sndNxt, this.sndUna);
    const wndRoom = this.sndWnd - inFlight;
    const cwnd = this.cc.cwnd + (this.cc.inRecovery ? 0 : this.limitedTx * this.smss);
    const room = Math.min(wndRoom, cwnd - inFlight);
    if (avail > 0) {
      // With segmentation offload, up to maxSegmentBytes in whole MSS multiples at once.
      const burst = this.o.maxSegmentBytes > this.smss ? this.smss * Math.floor(this.o.maxSegmentBytes / this.smss) : this.smss;
      let len = Math.min(avail, burst, room);
      if (len > this.smss && len < avail) len -= len % this.smss; // keep super-segments whole MSS multiples
      if (len <= 0) return -1;
      // Sender SWS avoidance (RFC 9293 §3.8.6.2.1): no small segment while
      // more data waits, unless nothing is in flight or it is half the
      // largest window seen.
      if (len < this.smss && len < avail && inFlight > 0 && len < this.maxSndWnd / 2) return -1;
      if (this.o.nagle && len < this.smss && inFlight > 0) return -1;
      len = Math.min(len, this.tx.contiguousAt(off)); // one view per segment: stop at the wrap
      if (this.finQueued && len === avail && wndRoom > len) this.sendFin = true;
      return len;
    }
    if (wndRoom <= 0) return -1; // the FIN takes a sequence number inside the window
    this.sendFin = true;
    return 0;
  }

  private sendFin = false;

  private sendNew(now: number, emit: (seg: TcpRepr) => void, len: number): void {
    const fin = this.sendFin;
    const seq = this.sndNxt;
    const off = seqSub(seq, this.txBase);
    const payload = len > 0 ? this.tx.view(off, len) : EMPTY;
    const rexmit = seqLt(seq, this.sndMax);
    let flags = Ack;
    if (len > 0 && off + len === this.tx.length) flags |= Psh;
    if (fin) flags |= Fin;
    this.sendSegment(emit, flags, seq, payload);
    this.sndNxt = seqAdd(seq, len + (fin ? 1 : 0));
    if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
    if (rexmit) {
      this.st_.retransmissions++;
      this.st_.bytesRetransmitted += len;
      this.rttActive = false;
    } else {
      this.st_.bytesOut += len;
      if (!this.rttActive && !this.tsOk) {
        this.rttActive = true;
        this.rttSeq = this.sndNxt;
        this.rttTime = now;
      }
    }
    if (this.rtoAt === undefined) this.rtoAt = now + this.rtt.rto;
  }

  /** Resend one segment at `seq` (< SND.MAX), stopping before SACKed data.  False when there was nothing to resend. */
  private retransmit(now: number, emit: (seg: TcpRepr) => void, seq: number): boolean {
    const off = seqSub(seq, this.txBase);
    let len = Math.min(this.smss, Math.max(0, this.tx.length - off), seqSub(this.sndMax, seq));
    const next = this.sackOk ? this.sacked.skip(seq).next : undefined;
    if (next !== undefined) len = Math.min(len, seqSub(next, seq));
    const payload = len > 0 ? this.tx.view(off, len) : EMPTY;
    len = payload.length;
    const fin = this.finQueued && seqAdd(seq, len) === this.finSeq() && seqGt(this.sndMax, this.finSeq());
    if (len === 0 && !fin) return false;
    this.sendSegment(emit, Ack | (fin ? Fin : 0), seq, payload);
    const end = seqAdd(seq, len + (fin ? 1 : 0));
    if (seqGt(end, this.highRxt)) this.highRxt = end;
    this.st_.retransmissions++;
    this.st_.bytesRetransmitted += len;
    this.rttActive = false;
    if (this.rtoAt === undefined) this.rtoAt = now + this.rtt.rto;
    return true;
  }

  /** The next hole (not SACKed, not yet resent in this recovery) below the highest SACKed byte. */
  private nextHole(): number | undefined {
    if (!this.sackOk || !this.cc.inRecovery) return undefined;
    let from = seqLt(this.highRxt, this.sndUna) ? this.sndUna : this.highRxt;
    from = this.sacked.skip(from).seq;
    return this.sacked.hasAbove(from) && seqLt(from, this.sndMax) ? from : undefined;
  }

  /** Zero-window probe (RFC 9293 §3.8.6.1): one byte (or the FIN) past the closed window. */
  private sendProbe(now: number, emit: (seg: TcpRepr) => void): void {
    const off = seqSub(this.sndUna, this.txBase);
    const seq = this.sndUna;
    this.st_.zeroWindowProbes++;
    if (this.tx.length - off > 0) {
      this.sendSegment(emit, Ack, seq, this.tx.view(off, 1));
      this.sndNxt = seqAdd(seq, 1);
    } else if (this.finQueued && !this.finAcked) {
      this.sendSegment(emit, Ack | Fin, seq, EMPTY);
      this.sndNxt = seqAdd(seq, 1);
    } else return;
    if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
    if (this.persistAt === undefined) this.persistAt = now + this.persistInterval();
  }

  private sendSyn(now: number, emit: (seg: TcpRepr) => void): void {
    const withAck = this.st === 'SYN-RECEIVED';
    const offer = !withAck || this.active; // our first offer, or repeated in simultaneous open
    const r = this.out;
    r.seqNumber = this.iss;
    r.ackNumber = withAck ? this.rcv.nxt : 0;
    r.flags = Syn | (withAck ? Ack : 0);
    r.windowLen = this.rcv.advertiseSyn(); // never scaled in a SYN
    r.maxSegSize = this.rcvMss;
    r.windowScale = (offer ? this.o.windowScaling : this.wsOk) ? this.rcv.shift : undefined;
    r.sackPermitted = offer ? this.o.sack : this.sackOk;
    if (offer ? this.o.timestamps : this.tsOk) {
      this.outTs.tsVal = (now + this.tsOffset) >>> 0;
      this.outTs.tsEcr = withAck ? this.tsRecent : 0;
      r.timestamp = this.outTs;
    } else r.timestamp = undefined;
    r.sackBlocks = undefined;
    r.payload = EMPTY;
    if (withAck) this.lastAckSent = this.rcv.nxt;
    this.synDue = false;
    this.ackNow = false;
    this.sndNxt = seqAdd(this.iss, 1);
    if (seqGt(this.sndNxt, this.sndMax)) this.sndMax = this.sndNxt;
    this.synSentAt = now;
    if (this.rtoAt === undefined) this.rtoAt = now + this.rtt.rto;
    this.st_.segmentsOut++;
    emit(r);
    r.maxSegSize = undefined;
    r.windowScale = undefined;
    r.sackPermitted = undefined;
  }

  /** Any non-SYN segment: ACK, window, timestamps and SACK blocks filled in. */
  private sendSegment(emit: (seg: TcpRepr) => void, flags: number, seq: number, payload: Uint8Array): void {
    const r = this.out;
    r.seqNumber = seq;
    r.flags = flags;
    r.payload = payload;
    r.ackNumber = this.rcv.nxt;
    r.windowLen = this.rcv.advertise();
    if (this.tsOk) {
      this.outTs.tsVal = (this.lastNow + this.tsOffset) >>> 0;
      this.outTs.tsEcr = this.tsRecent;
      r.timestamp = this.outTs;
    } else r.timestamp = undefined;
    r.sackBlocks = undefined;
    if (this.sackOk && this.rcv.hasOutOfOrder) {
      const blocks = this.rcv.sackBlocks(this.tsOk ? 3 : TCP_MAX_SACK_BLOCKS);
      const n = blocks.length;
      if (n > 0) {
        let arr = this.outSack[n];
        if (arr === undefined) {
          arr = Array.from({ length: n }, () => ({ left: 0, right: 0 }));
          this.outSack[n] = arr;
        }
        for (let i = 0; i < n; i++) {
          const b = blocks[i] as { start: number; end: number };
          const o = arr[i] as TcpSackBlock;
          o.left = seqAdd(this.rcv.nxt, b.start);
          o.right = seqAdd(this.rcv.nxt, b.end);
        }
        r.sackBlocks = arr;
      }
    }
    this.lastAckSent = this.rcv.nxt;
    this.ackNow = false;
    this.ackAt = undefined;
    this.unackedBytes = 0;
    this.st_.segmentsOut++;
    emit(r);
  }

  private sendCtl(emit: (seg: TcpRepr) => void, seq: number, ack: number, flags: number): void {
    const r = this.out;
    r.seqNumber = seq;
    r.ackNumber = ack;
    r.flags = flags;
    r.windowLen = 0;
    r.timestamp = undefined;
    r.sackBlocks = undefined;
    r.payload = EMPTY;
    this.st_.segmentsOut++;
    emit(r);
  }

  /**
   * The sequence number of a bare ACK: SND.MAX, not a rolled-back SND.NXT
   * (the peer's RCV.NXT may already be past SND.NXT, and an old sequence
   * number would make the ACK unacceptable there, to be answered by another
   * ACK), but never past the peer's window (a zero-window probe byte it
   * dropped).  Linux's tcp_acceptable_seq() makes the same choice.
   */
  private bareAckSeq(): number {
    const right = seqAdd(this.sndUna, this.sndWnd);
    return seqGt(this.sndMax, right) ? right : this.sndMax;
  }

  // -------------------------------------------------------------------------
  // Timers

  /** The retransmission timer fired.  Returns false when the connection closed. */
  private onRto(): boolean {
    this.rtoAt = undefined;
    if (this.st === 'SYN-SENT' || this.st === 'SYN-RECEIVED') {
      if (++this.synRetries > this.o.maxSynRetries) {
        this.close('timeout');
        return false;
      }
      this.rtt.backoff();
      this.synDue = true;
      this.st_.retransmissions++;
      this.st_.timeouts++;
      return true;
    }
    if (!seqGt(this.sndMax, this.sndUna)) return true;
    if (++this.retries > this.o.maxRetries) {
      this.close('timeout');
      return false;
    }
    this.st_.timeouts++;
    this.rtt.backoff();
    this.cc.onTimeout(seqSub(this.sndMax, this.sndUna), this.sndMax);
    this.sndNxt = this.sndUna; // go back N (RFC 5681 §3.1, RFC 6582 §4)
    this.sacked.clear(); // the receiver may have reneged (RFC 2018 §8)
    this.rttActive = false;
    this.rexmitUna = false;
    this.holeBudget = 0;
    this.limitedTx = 0;
    this.highRxt = this.sndUna;
    return true;
  }

  private onPersist(now: number): boolean {
    this.persistAt = undefined;
    if (this.sndWnd !== 0) return true;
    if (++this.unansweredProbes > this.o.maxRetries) {
      this.close('timeout');
      return false;
    }
    this.sndNxt = this.sndUna;
    this.persistBackoff++;
    this.probeDue = true;
    this.persistAt = now + this.persistInterval();
    return true;
  }

  private persistInterval(): number {
    return Math.min(this.o.maxPersist, this.rtt.rto * 2 ** Math.min(this.persistBackoff, 16));
  }

  /** Start the persist or retransmission timer when something waits on one. */
  private armTimers(now: number): void {
    const s = this.st;
    if (s === 'CLOSED' || s === 'TIME-WAIT' || s === 'SYN-SENT' || s === 'SYN-RECEIVED') return;
    if (this.sndWnd === 0 && this.sndNxt === this.sndUna) {
      const off = seqSub(this.sndNxt, this.txBase);
      const waiting = this.tx.length - off > 0 || (this.finQueued && !this.finAcked);
      if (waiting && this.persistAt === undefined) this.persistAt = now + this.persistInterval();
      if (!waiting) this.persistAt = undefined;
    } else if (this.sndWnd > 0) this.persistAt = undefined;
    if (seqGt(this.sndNxt, this.sndUna) && this.rtoAt === undefined && this.persistAt === undefined) {
      this.rtoAt = now + this.rtt.rto;
    }
  }

  // -------------------------------------------------------------------------
  // Helpers

  private negotiate(syn: TcpRepr): void {
    const o = this.o;
    this.wsOk = o.windowScaling && syn.windowScale !== undefined;
    this.sndShift = this.wsOk ? Math.min(14, syn.windowScale ?? 0) : 0; // RFC 7323 §2.3
    this.rcv.shift = this.wsOk ? windowShiftFor(o.rxBufferSize) : 0;
    this.sackOk = o.sack && syn.sackPermitted === true;
    this.tsOk = o.timestamps && syn.timestamp !== undefined;
    if (this.tsOk && syn.timestamp !== undefined) this.tsRecent = syn.timestamp.tsVal;
    const peerMss = syn.maxSegSize !== undefined && syn.maxSegSize > 0 ? syn.maxSegSize : defaultMss(this.remote.addr);
    // RFC 9293 §3.7.1: the MSS option counts no TCP options; timestamps take 12 bytes.
    this.smss = Math.max(1, Math.min(peerMss, this.rcvMss) - (this.tsOk ? 12 : 0));
    this.rcvSegMax = Math.max(1, this.rcvMss - (this.tsOk ? 12 : 0));
    this.cc.setMss(this.smss);
  }

  private establish(): void {
    this.synDue = false; // a SYN,ACK still queued (simultaneous open) is moot now
    this.st = this.finQueued ? 'FIN-WAIT-1' : 'ESTABLISHED';
    this.events.push(EV_ESTABLISHED);
  }

  private enterTimeWait(now: number): void {
    this.st = 'TIME-WAIT';
    this.timeWaitUntil = now + 2 * this.o.msl;
    this.finWait2Until = undefined;
    this.rtoAt = undefined;
    this.persistAt = undefined;
  }

  private challengeAck(now: number): void {
    // RFC 5961 §7: at most challengeAckLimit per second.
    if (now - this.challengeStart >= 1000) {
      this.challengeStart = now;
      this.challengeCount = 0;
    }
    if (this.challengeCount >= this.o.challengeAckLimit) return;
    this.challengeCount++;
    this.st_.challengeAcks++;
    this.ackNow = true;
  }

  /** A RST answering a bad ACK; bounded so a flood of them cannot grow memory. */
  private queueRst(seq: number): void {
    if (this.ctl.length < MAX_QUEUED_RSTS) this.ctl.push({ seq, ack: 0, flags: Rst });
  }

  private finSeq(): number {
    return seqAdd(this.txBase, this.tx.length);
  }

  private canWrite(): boolean {
    return !this.finQueued && !this.abortPending && this.st !== 'CLOSED' && this.st !== 'TIME-WAIT';
  }

  /** States in which data is still accepted from the peer. */
  private receiving(): boolean {
    return this.st === 'ESTABLISHED' || this.st === 'FIN-WAIT-1' || this.st === 'FIN-WAIT-2';
  }

  private close(reason: TcpCloseReason): void {
    this.st = 'CLOSED';
    this.rtoAt = undefined;
    this.persistAt = undefined;
    this.ackAt = undefined;
    this.timeWaitUntil = undefined;
    this.finWait2Until = undefined;
    this.ackNow = false;
    this.synDue = false;
    this.probeDue = false;
    this.rexmitUna = false;
    this.holeBudget = 0;
    this.abortPending = false;
    this.ctl.length = 0;
    this.events.push({ type: 'closed', reason });
  }
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a < b ? a : b;
}
