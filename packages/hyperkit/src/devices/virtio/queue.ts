/**
 * The split virtqueue (virtio 1.2 §2.7), device side, treating the driver
 * (the guest) as hostile.
 *
 *   struct virtq_desc  { le64 addr; le32 len; le16 flags; le16 next; };   16 bytes, align 16
 *   struct virtq_avail { le16 flags; le16 idx; le16 ring[N]; le16 used_event; };   align 2
 *   struct virtq_used  { le16 flags; le16 idx; struct { le32 id; le32 len; } ring[N]; le16 avail_event; };  align 4
 *   VIRTQ_DESC_F_NEXT 1, VIRTQ_DESC_F_WRITE 2, VIRTQ_DESC_F_INDIRECT 4
 *
 * §2.7.5: "The device MUST NOT write to a device-readable buffer"; "A driver
 * MUST NOT create a descriptor chain longer than the Queue Size";
 * §2.7.5.3.1: "The driver MUST NOT set the VIRTQ_DESC_F_INDIRECT flag within
 * an indirect descriptor"; "A driver MUST NOT set both VIRTQ_DESC_F_INDIRECT
 * and VIRTQ_DESC_F_NEXT in flags"; §2.7.4.2: device-writable descriptors come
 * after every device-readable one.
 *
 * Every address and length is checked against guest memory before a byte
 * is touched; a chain is capped at the queue size (an indirect table at its
 * own entries, at most the queue size); a descriptor visited twice is a
 * loop; the available index may not run more than the queue size ahead.
 * Any violation throws a `QueueError`: the device then sets
 * DEVICE_NEEDS_RESET (§2.1.2) and stops using the queue, it never loops,
 * crashes or reads outside guest memory.  Buffers are zero-copy views.
 */

import { HyperkitError } from '../../errors.js';
import type { GuestMemory } from '../../memory/guest-memory.js';

export const VIRTQ_DESC_F_NEXT = 1;
export const VIRTQ_DESC_F_WRITE = 2;
export const VIRTQ_DESC_F_INDIRECT = 4;
/** virtq_avail.flags: "the driver does not want an interrupt" (without EVENT_IDX). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** Largest queue size the spec allows (§2.7: "Queue Size ... maximum 32768"). */
export const MAX_QUEUE_SIZE = 32768;

export class QueueError extends HyperkitError {}

export interface QueueConfig {
  /** Entries: a power of 2, 1..32768. */
  size: number;
  descTable: number;
  availRing: number;
  usedRing: number;
  /** VIRTIO_F_EVENT_IDX negotiated. */
  eventIdx?: boolean;
  /** VIRTIO_F_INDIRECT_DESC negotiated (else an indirect descriptor is an error). */
  indirect?: boolean;
}

/** One available buffer: its head index and the guest's memory as views. */
export interface DescriptorChain {
  readonly head: number;
  /** Device-readable parts, in order (views into guest memory: read only). */
  readonly readable: Uint8Array[];
  /** Device-writable parts, in order (views into guest memory). */
  readonly writable: Uint8Array[];
  readonly readableLen: number;
  readonly writableLen: number;
}

function le16(b: Uint8Array, at: number): number {
  return (b[at] as number) | ((b[at + 1] as number) << 8);
}
function le32(b: Uint8Array, at: number): number {
  return ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16) | ((b[at + 3] as number) << 24)) >>> 0;
}
function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
}
function put32(b: Uint8Array, at: number, v: number): void {
  put16(b, at, v & 0xffff);
  put16(b, at + 2, v >>> 16);
}

export class SplitQueue {
  readonly size: number;
  private readonly desc: Uint8Array;
  private readonly avail: Uint8Array;
  private readonly used: Uint8Array;
  private readonly eventIdx: boolean;
  private readonly indirect: boolean;
  /** Next available-ring entry to consume (free-running, mod 2^16). */
  private lastAvail = 0;
  /** Next used-ring entry to fill (free-running, mod 2^16). */
  private usedIdx = 0;
  /** used.idx when the driver was last notified (EVENT_IDX). */
  private signalledUsed = 0;
  /** Scratch for loop detection: the pass number that last visited each descriptor. */
  private readonly seen: Uint32Array;
  private pass = 0;

  constructor(
    private readonly mem: GuestMemory,
    cfg: QueueConfig,
  ) {
    const n = cfg.size;
    if (!Number.isInteger(n) || n < 1 || n > MAX_QUEUE_SIZE || (n & (n - 1)) !== 0) {
      throw new QueueError('QUEUE_SIZE', `queue size ${n} is not a power of 2 in 1..${MAX_QUEUE_SIZE}`);
    }
    if (cfg.descTable % 16 !== 0 || cfg.availRing % 2 !== 0 || cfg.usedRing % 4 !== 0) {
      throw new QueueError('QUEUE_ALIGN', 'virtqueue areas are misaligned (descriptors 16, available 2, used 4)');
    }
    this.size = n;
    this.eventIdx = cfg.eventIdx === true;
    this.indirect = cfg.indirect === true;
    const area = (gpa: number, len: number, what: string): Uint8Array => {
      const v = mem.view(gpa, len);
      if (v === undefined) throw new QueueError('QUEUE_ADDRESS', `the ${what} (0x${gpa.toString(16)}+${len}) is outside guest memory`);
      return v;
    };
    this.desc = area(cfg.descTable, 16 * n, 'descriptor table');
    this.avail = area(cfg.availRing, 6 + 2 * n, 'available ring');
    this.used = area(cfg.usedRing, 6 + 8 * n, 'used ring');
    this.seen = new Uint32Array(n);
  }

  /** Buffers the driver made available that we have not consumed (0 when none). */
  pending(): number {
    const idx = le16(this.avail, 2);
    const ahead = (idx - this.lastAvail) & 0xffff;
    if (ahead > this.size) throw new QueueError('AVAIL_IDX', `available index ran ${ahead} entries ahead of a ${this.size}-entry queue`);
    return ahead;
  }

  /** The next available chain, or undefined when there is none. Throws QueueError on a malformed one. */
  pop(): DescriptorChain | undefined {
    if (this.pending() === 0) return undefined;
    const slot = this.lastAvail % this.size;
    const head = le16(this.avail, 4 + 2 * slot);
    this.lastAvail = (this.lastAvail + 1) & 0xffff;
    if (head >= this.size) throw new QueueError('DESC_INDEX', `available ring names descriptor ${head} of ${this.size}`);
    const chain = this.walk(head);
    if (this.eventIdx) put16(this.used, 4 + 8 * this.size, this.lastAvail); // avail_event
    return chain;
  }

  private walk(head: number): DescriptorChain {
    const readable: Uint8Array[] = [];
    const writable: Uint8Array[] = [];
    let readableLen = 0;
    let writableLen = 0;
    let table = this.desc;
    let entries = this.size;
    let i = head;
    let count = 0;
    let inIndirect = false;
    this.pass = (this.pass + 1) >>> 0 || 1;
    let indirectSeen: Uint8Array | undefined;
    for (;;) {
      // Loop detection: each descriptor (of the queue's table, or of the indirect table) once.
      if (inIndirect) {
        const seen = indirectSeen as Uint8Array;
        if (seen[i] === 1) throw new QueueError('DESC_LOOP', `indirect descriptor ${i} is visited twice`);
        seen[i] = 1;
      } else {
        if (this.seen[i] === this.pass) throw new QueueError('DESC_LOOP', `descriptor ${i} is visited twice`);
        this.seen[i] = this.pass;
      }
      if (++count > this.size) throw new QueueError('CHAIN_LENGTH', `chain longer than the queue size ${this.size}`);
      const at = 16 * i;
      const lo = le32(table, at);
      const hi = le32(table, at + 4);
      const len = le32(table, at + 8);
      const flags = le16(table, at + 12);
      const next = le16(table, at + 14);
      if (hi >= 0x200000) throw new QueueError('DESC_ADDRESS', `descriptor ${i} address is beyond 2^53`);
      const addr = hi * 0x1_0000_0000 + lo;
      if (flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.indirect) throw new QueueError('DESC_INDIRECT', 'indirect descriptor without VIRTIO_F_INDIRECT_DESC');
        if (inIndirect) throw new QueueError('DESC_INDIRECT', 'indirect descriptor inside an indirect table');
        if (flags & VIRTQ_DESC_F_NEXT) throw new QueueError('DESC_INDIRECT', 'indirect descriptor with NEXT set');
        if (len === 0 || len % 16 !== 0 || len / 16 > this.size) {
          throw new QueueError('DESC_INDIRECT', `indirect table of ${len} bytes (a multiple of 16, at most ${this.size} entries)`);
        }
        const t = this.mem.view(addr, len);
        if (t === undefined) throw new QueueError('DESC_ADDRESS', `indirect table 0x${addr.toString(16)}+${len} is outside guest memory`);
        table = t;
        entries = len / 16;
        indirectSeen = new Uint8Array(entries);
        inIndirect = true;
        i = 0;
        continue;
      }
      const buf = this.mem.view(addr, len);
      if (buf === undefined) throw new QueueError('DESC_ADDRESS', `descriptor ${i} buffer 0x${addr.toString(16)}+${len} is outside guest memory`);
      if (flags & VIRTQ_DESC_F_WRITE) {
        writable.push(buf);
        writableLen += len;
      } else {
        if (writable.length > 0) throw new QueueError('DESC_ORDER', `device-readable descriptor ${i} after a device-writable one`);
        readable.push(buf);
        readableLen += len;
      }
      if (!(flags & VIRTQ_DESC_F_NEXT)) break;
      if (next >= entries) throw new QueueError('DESC_INDEX', `descriptor ${i} chains to ${next} of ${entries}`);
      i = next;
    }
    return { head, readable, writable, readableLen, writableLen };
  }

  /** Return a chain to the driver, `len` bytes written into its writable part. */
  pushUsed(head: number, len: number): void {
    if (head >= this.size) throw new QueueError('DESC_INDEX', `used entry for descriptor ${head} of ${this.size}`);
    const slot = this.usedIdx % this.size;
    put32(this.used, 4 + 8 * slot, head);
    put32(this.used, 8 + 8 * slot, len >>> 0);
    this.usedIdx = (this.usedIdx + 1) & 0xffff;
    // The ring entry is written before the index that publishes it (Atomics would be needed
    // only with a concurrent writer in this process; the guest reads through its own caches).
    put16(this.used, 2, this.usedIdx);
  }

  /**
   * Whether to interrupt the driver after the used entries pushed since the
   * last call (§2.7.7.2: with EVENT_IDX, when used_event falls in the
   * entries just added; else unless VIRTQ_AVAIL_F_NO_INTERRUPT is set).
   */
  needsInterrupt(): boolean {
    const old = this.signalledUsed;
    const now = this.usedIdx;
    this.signalledUsed = now;
    if (old === now) return false;
    if (!this.eventIdx) return (le16(this.avail, 0) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    const usedEvent = le16(this.avail, 4 + 2 * this.size);
    // vring_need_event(): (u16)(new_idx - event_idx - 1) < (u16)(new_idx - old)
    return ((now - usedEvent - 1) & 0xffff) < ((now - old) & 0xffff);
  }
}
