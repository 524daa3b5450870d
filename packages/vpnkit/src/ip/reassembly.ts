/**
 * IPv4 fragment reassembly (RFC 791 §3.2, "An Example Reassembly
 * Procedure"; RFC 815), and IPv6's (RFC 8200 §4.5: fragments identified by
 * source, destination and the 32-bit Identification), bounded and pure
 * (time passed in).
 *
 *   "The internet identification field (ID) is used together with the
 *   source and destination address, and the protocol fields, to identify
 *   datagram fragments for reassembly."
 *
 * Defences (the guest is hostile): at most `maxDatagrams` partial
 * datagrams and `maxBytes` buffered in total (a new datagram that does not
 * fit is dropped, the table is not grown); a datagram is given up
 * `timeoutMs` after its first fragment (RFC 791 suggests 15 s; Linux uses
 * 30 s); overlapping fragments drop the whole datagram (as RFC 5722 does
 * for IPv6: overlaps only serve to evade filters); a fragment ending past
 * 65535 bytes, or data beyond a known end, drops it too.
 */

import { IpAddress } from '../wire/index.js';

export interface ReassemblyOptions {
  maxDatagrams?: number;
  maxBytes?: number;
  timeoutMs?: number;
}

export interface FragmentInput {
  /** IPv4 (uint32) or IPv6 (16 bytes) addresses. */
  src: IpAddress;
  dst: IpAddress;
  protocol: number;
  ident: number;
  /** Byte offset of this fragment's data (a multiple of 8). */
  fragOffset: number;
  moreFrags: boolean;
  /** The fragment's data (copied if kept). */
  payload: Uint8Array;
  /** Largest reassembled payload (default 65515: an IPv4 datagram's). */
  maxLen?: number;
}

function keyOf(f: FragmentInput): string {
  if (typeof f.src === 'number' && typeof f.dst === 'number') return `${f.src >>> 0}:${f.dst >>> 0}:${f.protocol}:${f.ident}`;
  // IPv6 (RFC 8200 §4.5): the Next Header is not part of the identity.
  return `6:${IpAddress.format(f.src)}:${IpAddress.format(f.dst)}:${f.ident >>> 0}`;
}

export interface ReassemblyStats {
  pending: number;
  bufferedBytes: number;
  completed: number;
  timedOut: number;
  /** Dropped for overlap, bad bounds, or table limits. */
  dropped: number;
}

interface Partial {
  readonly key: string;
  readonly deadline: number;
  /** Sorted, non-overlapping [start, end) ranges received. */
  ranges: Array<[number, number]>;
  chunks: Array<{ off: number; data: Uint8Array }>;
  bytes: number;
  /** Total length, known once the last fragment (MF=0) arrived. */
  total: number | undefined;
}

export class Ipv4Reassembler {
  private readonly table = new Map<string, Partial>();
  private readonly maxDatagrams: number;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  private buffered = 0;
  private readonly counters = { completed: 0, timedOut: 0, dropped: 0 };

  constructor(opts: ReassemblyOptions = {}) {
    this.maxDatagrams = opts.maxDatagrams ?? 64;
    this.maxBytes = opts.maxBytes ?? 1 << 20;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** Add a fragment; returns the whole payload when this fragment completes the datagram. */
  input(now: number, f: FragmentInput): Uint8Array | undefined {
    this.expire(now);
    const key = keyOf(f);
    const start = f.fragOffset;
    const end = start + f.payload.length;
    let p = this.table.get(key);
    // Every fragment but the last carries a multiple of 8 bytes (RFC 791 §3.2).
    const bad = end > (f.maxLen ?? 0xffff - 20) || (f.moreFrags && f.payload.length % 8 !== 0) || (f.moreFrags && f.payload.length === 0);
    if (bad) {
      if (p !== undefined) this.drop(p);
      this.counters.dropped++;
      return undefined;
    }
    if (p === undefined) {
      if (this.table.size >= this.maxDatagrams || this.buffered + f.payload.length > this.maxBytes) {
        this.counters.dropped++;
        return undefined;
      }
      p = { key, deadline: now + this.timeoutMs, ranges: [], chunks: [], bytes: 0, total: undefined };
      this.table.set(key, p);
    } else if (this.buffered + f.payload.length > this.maxBytes) {
      this.drop(p);
      this.counters.dropped++;
      return undefined;
    }
    if (!f.moreFrags) {
      if ((p.total !== undefined && p.total !== end) || p.ranges.some(([, e]) => e > end)) {
        this.drop(p);
        this.counters.dropped++;
        return undefined;
      }
      p.total = end;
    } else if (p.total !== undefined && end > p.total) {
      this.drop(p);
      this.counters.dropped++;
      return undefined;
    }
    // Insert [start, end) if it overlaps nothing.  Data already held in full
    // (a retransmitted fragment) is ignored: the first copy wins.
    let i = 0;
    while (i < p.ranges.length && (p.ranges[i] as [number, number])[1] <= start) i++;
    const next = p.ranges[i];
    if (next !== undefined && next[0] < end) {
      if (next[0] <= start && end <= next[1]) return undefined; // duplicate
      this.drop(p);
      this.counters.dropped++;
      return undefined;
    }
    if (end > start) {
      p.ranges.splice(i, 0, [start, end]);
      p.chunks.push({ off: start, data: f.payload.slice() });
      p.bytes += f.payload.length;
      this.buffered += f.payload.length;
      // Merge neighbours so `ranges` stays short.
      const merged: Array<[number, number]> = [];
      for (const r of p.ranges) {
        const last = merged[merged.length - 1];
        if (last !== undefined && last[1] === r[0]) last[1] = r[1];
        else merged.push([r[0], r[1]]);
      }
      p.ranges = merged;
    }
    if (p.total === undefined) return undefined;
    const only = p.ranges[0];
    if (p.ranges.length !== 1 || only === undefined || only[0] !== 0 || only[1] !== p.total) return undefined;
    const out = new Uint8Array(p.total);
    for (const c of p.chunks) out.set(c.data, c.off);
    this.drop(p);
    this.counters.completed++;
    return out;
  }

  private drop(p: Partial): void {
    if (this.table.get(p.key) !== p) return;
    this.table.delete(p.key);
    this.buffered -= p.bytes;
  }

  /** Give up datagrams whose time ran out. */
  expire(now: number): void {
    for (const p of this.table.values()) {
      // Insertion order is deadline order (all get the same timeout).
      if (p.deadline > now) break;
      this.drop(p);
      this.counters.timedOut++;
    }
  }

  pollAt(): number | undefined {
    for (const p of this.table.values()) return p.deadline;
    return undefined;
  }

  stats(): ReassemblyStats {
    return { pending: this.table.size, bufferedBytes: this.buffered, ...this.counters };
  }
}
