/**
 * A byte budget shared by the buffers of many connections.
 *
 * Throughput through a relay is bounded by buffer / round trip: with 256 KiB
 * per direction a TAP-attached guest measured 3.0-3.4 Gbit/s, with 4 MiB
 * 4.2-5.3 (same machine, alternating runs).  Large buffers for every one
 * of 16,384 connections would be unbounded in practice, so a connection's
 * buffers grow past their first `BufferPool.FREE_BYTES` only while the pool
 * has room, and give it back when the connection is released.  The first
 * bytes are not charged: a connection can always make progress even when
 * others hold the whole pool (it then runs with a small window).
 */
export class BufferPool {
  /** Per-buffer allowance not charged to any pool. */
  static readonly FREE_BYTES = 16 * 1024;
  private taken = 0;

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`buffer pool limit ${limit}`);
  }

  /** Bytes charged now. */
  get used(): number {
    return this.taken;
  }

  get available(): number {
    return this.limit - this.taken;
  }

  /** Charge `n` bytes; false (nothing charged) when that would pass the limit. */
  take(n: number): boolean {
    if (n < 0 || this.taken + n > this.limit) return false;
    this.taken += n;
    return true;
  }

  give(n: number): void {
    if (n < 0 || n > this.taken) throw new RangeError(`buffer pool: giving back ${n} of ${this.taken}`);
    this.taken -= n;
  }
}
