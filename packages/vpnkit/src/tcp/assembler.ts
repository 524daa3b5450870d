/**
 * Bookkeeping for out-of-order received data (RFC 9293 §3.10.7.4, "seventh,
 * process the segment text"; RFC 2018 §4 for the SACK blocks it yields).
 *
 *   "Segments with higher beginning sequence numbers may be held for later
 *   processing." (RFC 9293 §3.10.7.4)
 *
 *   "The first SACK block (i.e., the one immediately following the kind and
 *   length fields in the option) MUST specify the contiguous block of data
 *   containing the segment which triggered this ACK ... The SACK option
 *   SHOULD be filled out by repeating the most recently reported SACK blocks
 *   ... that are not subsets of a SACK block already included." (RFC 2018 §4)
 *
 * The assembler keeps a sorted list of disjoint byte ranges [start, end)
 * held past the receive pointer (offsets relative to RCV.NXT; the bytes
 * themselves live in the receive ring buffer).  It is bounded: at most
 * `maxRanges` separate ranges (holes) and `maxBytes` bytes; an `add` that
 * would exceed either bound is refused and the data is dropped (the peer
 * retransmits it).
 */

export interface Range {
  start: number;
  end: number;
}

export class Assembler {
  private ranges: Range[] = [];
  /** Ranges most recently touched, newest first (for SACK ordering). */
  private recent: Range[] = [];

  constructor(
    readonly maxRanges: number,
    readonly maxBytes: number,
  ) {}

  get isEmpty(): boolean {
    return this.ranges.length === 0;
  }

  get rangeCount(): number {
    return this.ranges.length;
  }

  /** Bytes held out of order. */
  get bytes(): number {
    let n = 0;
    for (const r of this.ranges) n += r.end - r.start;
    return n;
  }

  /** The ranges, ascending (copies). */
  list(): Range[] {
    return this.ranges.map((r) => ({ ...r }));
  }

  /**
   * Record [start, end) as held.  Returns false (and changes nothing) when
   * the result would exceed a bound.  An empty range is accepted.
   */
  add(start: number, end: number): boolean {
    if (end <= start) return true;
    const out: Range[] = [];
    let merged: Range = { start, end };
    let placed = false;
    for (const r of this.ranges) {
      if (r.end < merged.start) out.push(r);
      else if (r.start > merged.end) {
        if (!placed) {
          out.push(merged);
          placed = true;
        }
        out.push(r);
      } else merged = { start: Math.min(r.start, merged.start), end: Math.max(r.end, merged.end) };
    }
    if (!placed) out.push(merged);
    // Only the contiguous prefix at 0 is about to be consumed; it does not count.
    const held = out.filter((r) => r.start > 0);
    if (held.length > this.maxRanges) return false;
    let bytes = 0;
    for (const r of held) bytes += r.end - r.start;
    if (bytes > this.maxBytes) return false;
    this.ranges = out;
    this.recent = [merged, ...this.recent.filter((r) => r.end < merged.start || r.start > merged.end)].slice(0, 8);
    return true;
  }

  /** Whether [start, end) is entirely held already. */
  contains(start: number, end: number): boolean {
    return this.ranges.some((r) => r.start <= start && end <= r.end);
  }

  /**
   * Remove the range starting at offset 0, if any, and return its length;
   * every remaining offset shifts down by that amount.
   */
  removeFront(): number {
    const first = this.ranges[0];
    if (first === undefined || first.start !== 0) return 0;
    return this.shift(first.end);
  }

  /**
   * Shift all offsets down by `n` (RCV.NXT advanced by `n`), dropping what
   * falls below 0.  Returns `n`.
   */
  shift(n: number): number {
    if (n <= 0) return 0;
    const move = (rs: Range[]): Range[] =>
      rs.filter((r) => r.end > n).map((r) => ({ start: Math.max(0, r.start - n), end: r.end - n }));
    this.ranges = move(this.ranges);
    this.recent = move(this.recent);
    return n;
  }

  /**
   * Up to `max` blocks for a SACK option, most recently changed first
   * (RFC 2018 §4), as offsets from RCV.NXT.
   */
  sackBlocks(max: number): Range[] {
    const out: Range[] = [];
    const taken = (r: Range): boolean => out.some((o) => o.start <= r.start && r.end <= o.end);
    for (const r of this.recent) {
      if (out.length >= max) break;
      const cur = this.ranges.find((x) => x.start <= r.start && r.end <= x.end);
      if (cur !== undefined && cur.start > 0 && !taken(cur)) out.push({ ...cur });
    }
    for (const r of this.ranges) {
      if (out.length >= max) break;
      if (r.start > 0 && !taken(r)) out.push({ ...r });
    }
    return out;
  }

  clear(): void {
    this.ranges = [];
    this.recent = [];
  }
}
