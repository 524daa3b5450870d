/**
 * Congestion control: RFC 5681 slow start / congestion avoidance / fast
 * retransmit, with the RFC 6582 NewReno modification of fast recovery.
 *
 *   RFC 5681 §3.1: "IW, the initial value of cwnd, MUST be set using the
 *   following guidelines as an upper bound." [RFC 3390 form used here:
 *   IW = min (4*SMSS, max (2*SMSS, 4380 bytes))]
 *   "During slow start, a TCP increments cwnd by at most SMSS bytes for
 *   each ACK received that cumulatively acknowledges new data."
 *   "During congestion avoidance ... cwnd += SMSS*SMSS/cwnd" (eq. 3).
 *   §3.1 (eq. 4): "ssthresh = max (FlightSize / 2, 2*SMSS)" on loss;
 *   "Furthermore, upon a timeout ... cwnd MUST be set to no more than the
 *   loss window, LW, which equals 1 full-sized segment".
 *
 *   RFC 6582 §3.2:
 *   "2) Three duplicate ACKs: When the third duplicate ACK is received, the
 *   TCP sender first checks the value of recover to see if the Cumulative
 *   Acknowledgment field covers more than recover.  If so, the value of
 *   recover is incremented to the value of the highest sequence number
 *   transmitted by the TCP so far.  The TCP then enters fast retransmit
 *   (step 2 of Section 3.2 of [RFC5681]) ...
 *   3) Response to newly acknowledged data: ... If this ACK acknowledges
 *   all of the data up to and including recover, then the ACK acknowledges
 *   all the intermediate segments sent between the original transmission
 *   of the lost segment and the receipt of the third duplicate ACK.  Set
 *   cwnd to either (1) min (ssthresh, max(FlightSize, SMSS) + SMSS) or (2)
 *   ssthresh ... Partial acknowledgments: If this ACK does *not*
 *   acknowledge all of the data up to and including recover, then this is
 *   a partial ACK.  In this case, retransmit the first unacknowledged
 *   segment.  Deflate the congestion window by the amount of new data
 *   acknowledged by the Cumulative Acknowledgment field.  If the partial
 *   ACK acknowledges at least one SMSS of new data, then add back SMSS bytes
 *   to the congestion window. ... Do not exit the fast recovery procedure."
 *   §4: "After a retransmit timeout, record the highest sequence number
 *   transmitted in the variable recover, and exit the fast recovery
 *   procedure if applicable."
 *
 * Sequence-number comparisons are modular (see seq.ts).
 */

import { seqAdd, seqGt } from './seq.js';

/** What an ACK of new data means for loss recovery. */
export type AckOutcome = 'normal' | 'partial' | 'full';

export class NewReno {
  cwnd: number;
  ssthresh: number;
  dupAcks = 0;
  inRecovery = false;
  /** RFC 6582 `recover`: the highest sequence number sent (SND.MAX - 1) at the last loss event. */
  recover: number;

  constructor(
    public smss: number,
    iss: number,
    initialSsthresh = 0x3fffffff,
  ) {
    this.cwnd = NewReno.initialWindow(smss);
    this.ssthresh = initialSsthresh;
    this.recover = iss;
  }

  static initialWindow(smss: number): number {
    return Math.min(4 * smss, Math.max(2 * smss, 4380));
  }

  /** Re-derive IW once the real SMSS is known (before any data is sent). */
  setMss(smss: number): void {
    this.smss = smss;
    this.cwnd = NewReno.initialWindow(smss);
  }

  /**
   * An ACK advanced SND.UNA to `ack`, acknowledging `acked` bytes;
   * `flight` is the data still outstanding after it.
   */
  onNewAck(ack: number, acked: number, flight: number): AckOutcome {
    this.dupAcks = 0;
    if (this.inRecovery) {
      if (seqGt(ack, this.recover)) {
        this.inRecovery = false;
        this.cwnd = Math.min(this.ssthresh, Math.max(flight, this.smss) + this.smss);
        return 'full';
      }
      this.cwnd = Math.max(this.smss, this.cwnd - acked + (acked >= this.smss ? this.smss : 0));
      return 'partial';
    }
    if (this.cwnd < this.ssthresh) this.cwnd += Math.min(acked, this.smss);
    else this.cwnd += Math.max(1, Math.floor((this.smss * this.smss) / this.cwnd));
    return 'normal';
  }

  /**
   * A duplicate ACK (RFC 5681 §2 definition) for `ack`; `flight` is the
   * outstanding data and `highest` is SND.MAX (one past the highest sequence number sent).
   * Returns true when the first unacknowledged segment must be
   * retransmitted now (fast retransmit).
   */
  onDupAck(ack: number, flight: number, highest: number): boolean {
    this.dupAcks++;
    if (this.inRecovery) {
      this.cwnd += this.smss; // RFC 5681 §3.2 step 4: inflate
      return false;
    }
    if (this.dupAcks !== 3) return false;
    return this.enterRecovery(ack, flight, highest);
  }

  /**
   * Loss detected at `ack` by other means than the third duplicate ACK (the
   * SACK scoreboard shows three segments' worth of data above the hole,
   * RFC 6675 §5 `IsLost`).  Same rules as the third dup ACK; returns true
   * when the first unacknowledged segment must be retransmitted now.
   */
  enterRecovery(ack: number, flight: number, highest: number): boolean {
    if (this.inRecovery) return false;
    // RFC 6582 §3.2 step 2: only if the ACK covers more than recover.
    if (!seqGt(ack, this.recover)) return false;
    this.dupAcks = Math.max(this.dupAcks, 3);
    this.recover = seqAdd(highest, -1);
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.smss);
    this.cwnd = this.ssthresh + 3 * this.smss;
    this.inRecovery = true;
    return true;
  }

  /** The retransmission timer expired; `highest` is SND.MAX. */
  onTimeout(flight: number, highest: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.smss);
    this.cwnd = this.smss;
    this.inRecovery = false;
    this.dupAcks = 0;
    this.recover = seqAdd(highest, -1);
  }
}
