/**
 * A fixed-capacity byte ring buffer: the send and receive buffers of a
 * connection (RFC 9293 §3.3.1, "Send Sequence Space" / "Receive Sequence
 * Space").
 *
 *   "The receive window ... represents the sequence numbers the local
 *   (receiving) TCP endpoint is willing to receive."
 *
 * The receive side also stores out-of-order data directly in the
 * unallocated space after the queued bytes (`writeUnallocated`), so the
 * memory a connection uses never exceeds the two capacities it was given.
 *
 * No storage is allocated until the first byte is written; it then starts
 * small and doubles (up to `capacity`) only when data needs it.  Most
 * connections move little data: allocating and zeroing two 256 KiB buffers
 * per connection once dominated the cost of opening one, and two 16 KiB
 * ones still cost ~5% of a connect+close loop's CPU (a profile of the
 * sequential-connection benchmark), for connections that carry no data.
 */

import { BufferPool } from './pool.js';

/** First storage allocated, bytes (never more than the capacity). */
const INITIAL = BufferPool.FREE_BYTES;
const NONE = new Uint8Array(0);

export class RingBuffer {
  private storage: Uint8Array;
  private head = 0;
  private len = 0;

  /**
   * With a `pool`, storage past the first `BufferPool.FREE_BYTES` is charged
   * to it and grows only while it has room: `room` then says what can be
   * queued now, and `release` gives the charge back.
   */
  constructor(
    readonly capacity: number,
    private readonly pool?: BufferPool,
  ) {
    if (!Number.isInteger(capacity) || capacity <= 0) throw new RangeError(`ring buffer capacity ${capacity}`);
    this.storage = NONE;
  }

  /** Bytes of `size` storage charged to the pool. */
  private charged(size: number): number {
    return this.pool === undefined ? 0 : Math.max(0, size - INITIAL);
  }

  /** The most storage this ring may have now. */
  private get maxStorage(): number {
    if (this.pool === undefined) return this.capacity;
    const base = Math.max(this.storage.length, Math.min(this.capacity, INITIAL));
    return Math.min(this.capacity, Math.max(base, INITIAL + this.charged(this.storage.length) + this.pool.available));
  }

  /** Bytes that can be queued now (`free`, less what the pool cannot back). */
  get room(): number {
    return this.pool === undefined ? this.capacity - this.len : Math.max(0, this.maxStorage - this.len);
  }

  /** Drop everything and give the storage (and its pool charge) back. */
  release(): void {
    this.pool?.give(this.charged(this.storage.length));
    this.storage = NONE;
    this.head = 0;
    this.len = 0;
  }

  /** Bytes of storage allocated now (<= capacity). */
  get allocated(): number {
    return this.storage.length;
  }

  /**
   * Make logical positions [0, end) addressable without wrapping onto live
   * data; false when the pool cannot back that much (nothing changes).
   */
  private reserve(end: number): boolean {
    const size = this.storage.length;
    if (end <= size) return true;
    let next = Math.max(size, Math.min(this.capacity, INITIAL));
    while (next < end) next *= 2;
    next = Math.min(next, this.capacity);
    if (this.pool !== undefined) {
      const most = this.maxStorage;
      if (end > most) return false;
      next = Math.min(next, most);
      const charge = this.charged(next) - this.charged(size);
      if (charge > 0 && !this.pool.take(charge)) return false;
    }
    const grown = new Uint8Array(next);
    // Linearize the whole old ring from the head: queued bytes and any
    // out-of-order bytes beyond them keep their logical positions.
    const first = size - this.head;
    grown.set(this.storage.subarray(this.head), 0);
    if (this.head > 0) grown.set(this.storage.subarray(0, this.head), first);
    this.storage = grown;
    this.head = 0;
    return true;
  }

  /** Bytes queued. */
  get length(): number {
    return this.len;
  }

  /** Bytes that can still be queued. */
  get free(): number {
    return this.capacity - this.len;
  }

  get isEmpty(): boolean {
    return this.len === 0;
  }

  get isFull(): boolean {
    return this.len === this.capacity;
  }

  /** Append as much of `data` as fits; returns the number of bytes taken. */
  enqueue(data: Uint8Array): number {
    const n = Math.min(data.length, this.room);
    this.writeAt(this.len, n === data.length ? data : data.subarray(0, n));
    this.len += n;
    return n;
  }

  /**
   * Write `data` at `offset` bytes past the end of the queued data without
   * queuing it (for out-of-order reassembly).  Returns the bytes written
   * (clipped to the free space).
   */
  writeUnallocated(offset: number, data: Uint8Array): number {
    const room = this.room;
    if (offset < 0 || offset >= room) return 0;
    const n = Math.min(data.length, room - offset);
    this.writeAt(this.len + offset, n === data.length ? data : data.subarray(0, n));
    return n;
  }

  /** Mark `n` bytes already written by `writeUnallocated` at offset 0 as queued. */
  enqueueUnallocated(n: number): void {
    if (n < 0 || n > this.free) throw new RangeError(`enqueueUnallocated(${n}) with ${this.free} free`);
    // A no-op after writeUnallocated; keeps len <= storage regardless.
    if (!this.reserve(this.len + n)) throw new RangeError(`enqueueUnallocated(${n}) past what the pool backs`);
    this.len += n;
  }

  /** Copy out up to `max` bytes starting `offset` bytes into the queued data. */
  peek(offset: number, max: number): Uint8Array {
    const start = Math.max(0, offset);
    const n = Math.max(0, Math.min(max, this.len - start));
    const out = new Uint8Array(n);
    if (n === 0) return out;
    const size = this.storage.length;
    const from = (this.head + start) % size;
    const first = Math.min(n, size - from);
    out.set(this.storage.subarray(from, from + first), 0);
    if (first < n) out.set(this.storage.subarray(0, n - first), first);
    return out;
  }

  /**
   * A view (no copy) of up to `max` queued bytes from `offset`, stopping at
   * the wrap point: the caller asks again for the rest.  Valid until the
   * ring is next written.
   */
  view(offset: number, max: number): Uint8Array {
    const start = Math.max(0, offset);
    const n = Math.max(0, Math.min(max, this.len - start));
    if (n === 0) return NONE;
    const size = this.storage.length;
    const from = (this.head + start) % size;
    return this.storage.subarray(from, from + Math.min(n, size - from));
  }

  /** How many bytes from `offset` (into the queued data) lie before the wrap point. */
  contiguousAt(offset: number): number {
    const size = this.storage.length;
    return size === 0 ? 0 : size - ((this.head + offset) % size);
  }

  /** Drop up to `n` bytes from the front; returns the number dropped. */
  consume(n: number): number {
    const k = Math.max(0, Math.min(n, this.len));
    if (k === 0) return 0;
    this.head = (this.head + k) % this.storage.length;
    this.len -= k;
    // The head is not reset when the ring empties: out-of-order bytes written
    // past the queued data (`writeUnallocated`) must stay where they are.
    return k;
  }

  /** Copy out and remove up to `max` bytes. */
  dequeue(max: number): Uint8Array {
    const out = this.peek(0, max);
    this.consume(out.length);
    return out;
  }

  clear(): void {
    this.head = 0;
    this.len = 0;
  }

  /** Write at a logical position (0 = head), wrapping. */
  private writeAt(pos: number, data: Uint8Array): void {
    if (data.length === 0) return;
    // Callers stay within `room`, which the pool backs.
    if (!this.reserve(pos + data.length)) throw new RangeError('ring buffer write past what the pool backs');
    const size = this.storage.length;
    const at = (this.head + pos) % size;
    const first = Math.min(data.length, size - at);
    if (first === data.length) {
      this.storage.set(data, at); // the common case: no wrap, no view to allocate
      return;
    }
    this.storage.set(data.subarray(0, first), at);
    if (first < data.length) this.storage.set(data.subarray(first), 0);
  }
}
