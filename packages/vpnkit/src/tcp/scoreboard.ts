/**
 * The sender's record of what the peer has selectively acknowledged
 * (RFC 2018 §5, "Sender Behavior"; the scoreboard of RFC 6675 §3 in its
 * simplest form).
 *
 *   "the data sender ... SHOULD skip over the SACKed data when
 *   retransmitting ... After a retransmit timeout the data sender SHOULD
 *   turn off all of the SACKed bits, since the timeout might indicate that
 *   the data receiver has reneged." (RFC 2018 §5, §8)
 *
 * Ranges are absolute sequence numbers [left, right), sorted and disjoint,
 * at most `max` of them (the oldest information past that is dropped: it
 * only makes a retransmission less precise, never wrong).
 */

import { seqGt, seqLe, seqLt, seqMax, seqMin } from './seq.js';

export class SackScoreboard {
  private readonly left: number[] = [];
  private readonly right: number[] = [];

  constructor(private readonly max = 16) {}

  get isEmpty(): boolean {
    return this.left.length === 0;
  }

  /** One past the highest sequence number the peer has SACKed (undefined when none). */
  get highest(): number | undefined {
    return this.right[this.right.length - 1];
  }

  /** Record [l, r) as held by the peer; only the part inside (una, max] counts. */
  add(l: number, r: number, una: number, sndMax: number): void {
    l = seqMax(l, una);
    r = seqMin(r, sndMax);
    if (!seqLt(l, r)) return;
    let i = 0;
    const n = this.left.length;
    while (i < n && seqLt(this.right[i] as number, l)) i++;
    let j = i;
    while (j < n && seqLe(this.left[j] as number, r)) {
      l = seqMin(l, this.left[j] as number);
      r = seqMax(r, this.right[j] as number);
      j++;
    }
    this.left.splice(i, j - i, l);
    this.right.splice(i, j - i, r);
    if (this.left.length > this.max) {
      this.left.shift();
      this.right.shift();
    }
  }

  /** The cumulative ACK advanced to `una`: forget what it covers. */
  advance(una: number): void {
    while (this.left.length > 0 && seqLe(this.right[0] as number, una)) {
      this.left.shift();
      this.right.shift();
    }
    if (this.left.length > 0 && seqLt(this.left[0] as number, una)) this.left[0] = una;
  }

  /**
   * The first sequence number at or after `seq` that is not SACKed, and in
   * `next` the start of the SACKed range after it (or undefined).
   */
  skip(seq: number): { seq: number; next: number | undefined } {
    for (let i = 0; i < this.left.length; i++) {
      const l = this.left[i] as number;
      const r = this.right[i] as number;
      if (seqLe(r, seq)) continue;
      if (seqLe(l, seq)) {
        seq = r;
        continue;
      }
      return { seq, next: l };
    }
    return { seq, next: undefined };
  }

  /** Bytes SACKed in all. */
  get bytes(): number {
    let n = 0;
    for (let i = 0; i < this.left.length; i++) n += ((this.right[i] as number) - (this.left[i] as number)) >>> 0;
    return n;
  }

  /** Whether some SACKed data lies beyond `seq` (so `seq` is a hole worth filling). */
  hasAbove(seq: number): boolean {
    const h = this.highest;
    return h !== undefined && seqGt(h, seq);
  }

  clear(): void {
    this.left.length = 0;
    this.right.length = 0;
  }
}
