/**
 * Retransmission timeout computation (RFC 6298).
 *
 *   "(2.1) Until a round-trip time (RTT) measurement has been made for a
 *   segment sent between the sender and receiver, the sender SHOULD set
 *   RTO <- 1 second ...
 *   (2.2) When the first RTT measurement R is made, the host MUST set
 *         SRTT <- R
 *         RTTVAR <- R/2
 *         RTO <- SRTT + max (G, K*RTTVAR)   where K = 4.
 *   (2.3) When a subsequent RTT measurement R' is made, a host MUST set
 *         RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|
 *         SRTT <- (1 - alpha) * SRTT + alpha * R'
 *   ... using alpha=1/8 and beta=1/4 ...
 *   (2.4) Whenever RTO is computed, if it is less than 1 second, then the
 *   RTO SHOULD be rounded up to 1 second."  [here: to `minRto`, 200 ms by
 *   default as Linux does; configurable]
 *   "(2.5) A maximum value MAY be placed on RTO provided it is at least 60
 *   seconds."
 *   "(5.5) The host MUST set RTO <- RTO * 2 ("back off the timer")."
 *
 *   Karn's algorithm (§3): "RTT samples MUST NOT be made using segments
 *   that were retransmitted (and thus for which it is ambiguous whether the
 *   reply was for the first instance of the packet or a later instance)."
 *   The connection enforces Karn's rule by only timing segments sent once;
 *   this class only does the arithmetic.
 */

export interface RttOptions {
  /** RTO before any sample, ms (RFC 6298 (2.1): 1 s). */
  initialRto: number;
  /** Lower bound on RTO, ms. */
  minRto: number;
  /** Upper bound on RTO (and on the backed-off timeout), ms. */
  maxRto: number;
  /** Clock granularity G, ms. */
  granularity: number;
}

export const DEFAULT_RTT_OPTIONS: RttOptions = { initialRto: 1000, minRto: 200, maxRto: 60_000, granularity: 1 };

export class RttEstimator {
  /** Smoothed RTT, ms (undefined before the first sample). */
  srtt: number | undefined;
  rttvar = 0;
  private baseRto: number;
  /** Number of times the timer has been backed off since the last new ACK. */
  backoffs = 0;

  constructor(readonly opts: RttOptions = DEFAULT_RTT_OPTIONS) {
    this.baseRto = opts.initialRto;
  }

  /** The current (backed-off) retransmission timeout, ms. */
  get rto(): number {
    return Math.min(this.opts.maxRto, this.baseRto * 2 ** this.backoffs);
  }

  /** Feed one RTT measurement `r` (ms). */
  sample(r: number): void {
    const rtt = Math.max(0, r);
    if (this.srtt === undefined) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
    const rto = this.srtt + Math.max(this.opts.granularity, 4 * this.rttvar);
    this.baseRto = Math.min(this.opts.maxRto, Math.max(this.opts.minRto, Math.ceil(rto)));
  }

  /** RFC 6298 (5.5): double the timeout (bounded by `maxRto`). */
  backoff(): void {
    if (this.rto < this.opts.maxRto) this.backoffs++;
  }

  /** An ACK for new data arrived: the backed-off value is dropped. */
  resetBackoff(): void {
    this.backoffs = 0;
  }
}
