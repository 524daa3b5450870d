/**
 * Test kit: the driver side of a virtio split virtqueue (virtio 1.2 §2.7), written into guest
 * memory the way a guest's driver writes it, so that device code can be tested without a
 * guest. `add()` builds well-formed chains from a buffer area; `desc()` and `offer()` write
 * raw descriptors and ring entries, for the hostile chains a real guest could build.
 *
 * @example
 * const drv = new VirtqueueDriver(mem, { size: 8, descTable: 0x1000, availRing: 0x2000, usedRing: 0x3000, buffers: { addr: 0x10000, size: 0x10000 } });
 * const head = drv.add([request], [512]);   // one readable part, one 512-byte writable part
 * device.notify();                          // the device pops the chain and pushes it used
 * const [{ id, len }] = drv.used();         // id === head; the reply is drv.read(addr, len)
 */
import type { GuestMemory } from '../memory/guest-memory.js';

export const DESC_F_NEXT = 1;
export const DESC_F_WRITE = 2;
export const DESC_F_INDIRECT = 4;

export interface VirtqueueDriverLayout {
  /** Entries: a power of 2. */
  size: number;
  descTable: number;
  availRing: number;
  usedRing: number;
  /** Where `add()` places buffers (bump-allocated, wrapping to the start when full). */
  buffers?: { addr: number; size: number };
}

export interface UsedElement {
  id: number;
  len: number;
}

export class VirtqueueDriver {
  readonly #mem: GuestMemory;
  readonly #l: VirtqueueDriverLayout;
  #availIdx = 0;
  #lastUsed = 0;
  #nextDesc = 0;
  #bufferOffset = 0;
  /** Guest addresses of the writable parts of each chain `add()` made, by head. */
  readonly writableParts = new Map<number, { addr: number; len: number }[]>();

  constructor(mem: GuestMemory, layout: VirtqueueDriverLayout) {
    if (!Number.isInteger(layout.size) || layout.size < 1 || (layout.size & (layout.size - 1)) !== 0) {
      throw new RangeError(`queue size ${layout.size} is not a power of 2`);
    }
    this.#mem = mem;
    this.#l = layout;
    mem.slice(layout.descTable, 16 * layout.size).fill(0);
    mem.slice(layout.availRing, 6 + 2 * layout.size).fill(0);
    mem.slice(layout.usedRing, 6 + 8 * layout.size).fill(0);
  }

  #dv(addr: number, len: number): DataView {
    const b = this.#mem.slice(addr, len);
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /** Writes descriptor `i` of `table` (the queue's table by default) as given, valid or not. */
  desc(i: number, addr: number | bigint, len: number, flags: number, next = 0, table = this.#l.descTable): void {
    const dv = this.#dv(table + 16 * i, 16);
    dv.setBigUint64(0, BigInt(addr), true);
    dv.setUint32(8, len >>> 0, true);
    dv.setUint16(12, flags, true);
    dv.setUint16(14, next, true);
  }

  /** Makes `head` available: the ring entry first, then the index that publishes it. */
  offer(head: number): void {
    this.#dv(this.#l.availRing + 4 + 2 * (this.#availIdx % this.#l.size), 2).setUint16(0, head, true);
    this.#availIdx = (this.#availIdx + 1) & 0xffff;
    this.#dv(this.#l.availRing + 2, 2).setUint16(0, this.#availIdx, true);
  }

  /** Sets the avail ring's flags (e.g. VIRTQ_AVAIL_F_NO_INTERRUPT) or used_event (EVENT_IDX). */
  setAvailFlags(flags: number): void {
    this.#dv(this.#l.availRing, 2).setUint16(0, flags, true);
  }

  setUsedEvent(idx: number): void {
    this.#dv(this.#l.availRing + 4 + 2 * this.#l.size, 2).setUint16(0, idx & 0xffff, true);
  }

  #alloc(len: number): number {
    const area = this.#l.buffers;
    if (!area) throw new Error('VirtqueueDriver: add() needs a buffer area');
    if (len > area.size) throw new RangeError(`a ${len}-byte buffer does not fit the ${area.size}-byte area`);
    if (this.#bufferOffset + len > area.size) this.#bufferOffset = 0;
    const addr = area.addr + this.#bufferOffset;
    this.#bufferOffset += (len + 15) & ~15;
    return addr;
  }

  /**
   * Adds one well-formed chain: `readable` copied into buffers the device reads, then
   * writable buffers of `writableLens` bytes (zeroed). Descriptors are taken round-robin, so
   * at most `size` chain parts may be outstanding. Returns the head.
   */
  add(readable: readonly Uint8Array[], writableLens: readonly number[] = []): number {
    const parts = readable.length + writableLens.length;
    if (parts === 0 || parts > this.#l.size) throw new RangeError(`a chain of ${parts} parts in a queue of ${this.#l.size}`);
    const ids = Array.from({ length: parts }, (_, k) => (this.#nextDesc + k) % this.#l.size);
    this.#nextDesc = (this.#nextDesc + parts) % this.#l.size;
    const writable: { addr: number; len: number }[] = [];
    ids.forEach((id, k) => {
      const isWrite = k >= readable.length;
      const data = isWrite ? undefined : (readable[k] as Uint8Array);
      const len = isWrite ? (writableLens[k - readable.length] as number) : (data as Uint8Array).length;
      const addr = this.#alloc(len);
      if (data) this.#mem.write(addr, data);
      else {
        this.#mem.slice(addr, len).fill(0);
        writable.push({ addr, len });
      }
      const last = k === parts - 1;
      this.desc(id, addr, len, (last ? 0 : DESC_F_NEXT) | (isWrite ? DESC_F_WRITE : 0), last ? 0 : (ids[k + 1] as number));
    });
    const head = ids[0] as number;
    this.writableParts.set(head, writable);
    this.offer(head);
    return head;
  }

  /** Used elements the device published since the last call, in order. */
  used(): UsedElement[] {
    const idx = this.#dv(this.#l.usedRing + 2, 2).getUint16(0, true);
    const out: UsedElement[] = [];
    while (this.#lastUsed !== idx) {
      const e = this.#dv(this.#l.usedRing + 4 + 8 * (this.#lastUsed % this.#l.size), 8);
      out.push({ id: e.getUint32(0, true), len: e.getUint32(4, true) });
      this.#lastUsed = (this.#lastUsed + 1) & 0xffff;
    }
    return out;
  }

  /** The bytes the device wrote into chain `head`'s writable parts, concatenated, up to `len`. */
  reply(head: number, len: number): Uint8Array {
    const parts = this.writableParts.get(head) ?? [];
    const out = new Uint8Array(Math.min(len, parts.reduce((n, p) => n + p.len, 0)));
    let o = 0;
    for (const p of parts) {
      if (o >= out.length) break;
      const n = Math.min(p.len, out.length - o);
      out.set(this.#mem.slice(p.addr, n), o);
      o += n;
    }
    return out;
  }
}
