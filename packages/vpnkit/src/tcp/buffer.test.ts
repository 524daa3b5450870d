import { describe, expect, it } from 'vitest';
import { RingBuffer } from './buffer.js';
import { BufferPool } from './pool.js';
import { seededRandom } from './isn.js';

const bytes = (...v: number[]): Uint8Array => Uint8Array.from(v);

describe('RingBuffer', () => {
  it('enqueues up to capacity and wraps', () => {
    const b = new RingBuffer(5);
    expect(b.enqueue(bytes(1, 2, 3, 4))).toBe(4);
    expect(b.dequeue(3)).toEqual(bytes(1, 2, 3));
    expect(b.enqueue(bytes(5, 6, 7, 8, 9))).toBe(4);
    expect(b.isFull).toBe(true);
    expect(b.peek(1, 10)).toEqual(bytes(5, 6, 7, 8));
    expect(b.dequeue(10)).toEqual(bytes(4, 5, 6, 7, 8));
    expect(b.isEmpty).toBe(true);
  });
  it('writes out-of-order data into unallocated space', () => {
    const b = new RingBuffer(8);
    b.enqueue(bytes(1, 2, 3));
    b.consume(2);
    expect(b.writeUnallocated(2, bytes(9, 9, 9, 9, 9, 9, 9))).toBe(5);
    expect(b.writeUnallocated(0, bytes(7, 8))).toBe(2);
    b.enqueueUnallocated(7);
    expect(b.dequeue(8)).toEqual(bytes(3, 7, 8, 9, 9, 9, 9, 9));
    expect(() => b.enqueueUnallocated(9)).toThrow(RangeError);
    expect(b.writeUnallocated(8, bytes(1))).toBe(0);
  });
});

describe('RingBuffer (regressions and views)', () => {
  it('keeps out-of-order bytes in place when the queued data is drained to empty', () => {
    const b = new RingBuffer(8);
    b.enqueue(bytes(1, 2, 3));
    expect(b.writeUnallocated(1, bytes(8, 9))).toBe(2); // held past a one-byte hole
    expect(b.dequeue(3)).toEqual(bytes(1, 2, 3)); // empties the queue
    expect(b.writeUnallocated(0, bytes(7))).toBe(1); // the hole arrives
    b.enqueueUnallocated(3);
    expect(b.dequeue(3)).toEqual(bytes(7, 8, 9));
  });
  it('views stop at the wrap point', () => {
    const b = new RingBuffer(5);
    b.enqueue(bytes(0, 0, 0, 1, 2));
    b.consume(3);
    b.enqueue(bytes(3, 4));
    expect(b.contiguousAt(0)).toBe(2);
    expect(b.view(0, 10)).toEqual(bytes(1, 2));
    expect(b.view(2, 10)).toEqual(bytes(3, 4));
    expect(b.view(1, 1)).toEqual(bytes(2));
  });
});

describe('RingBuffer with a BufferPool', () => {
  it('charges storage past the free 16 KiB, limits room to what the pool backs, and gives it back', () => {
    const pool = new BufferPool(48 * 1024);
    const a = new RingBuffer(1 << 20, pool);
    const b = new RingBuffer(1 << 20, pool);
    expect(a.room).toBe(16 * 1024 + 48 * 1024);
    expect(a.enqueue(new Uint8Array(10_000))).toBe(10_000);
    expect(pool.used).toBe(0); // the first 16 KiB are free
    expect(a.enqueue(new Uint8Array(20_000))).toBe(20_000);
    expect(pool.used).toBe(32 * 1024 - 16 * 1024); // grew to 32 KiB
    const left = pool.available;
    expect(b.enqueue(new Uint8Array(100_000))).toBe(16 * 1024 + left); // b gets what is left
    expect(pool.used).toBe(48 * 1024);
    expect(a.room).toBe(32 * 1024 - 30_000); // a cannot grow further now
    expect(a.enqueue(new Uint8Array(5_000))).toBe(32 * 1024 - 30_000);
    expect(a.free).toBe((1 << 20) - 32 * 1024); // the logical capacity is unchanged
    b.release();
    expect(pool.used).toBe(16 * 1024);
    expect(a.room).toBe(64 * 1024 - a.length); // a may grow to 64 KiB now
    a.release();
    expect(pool.used).toBe(0);
    expect(a.length).toBe(0);
    expect(() => pool.give(1)).toThrow(RangeError);
  });

  it('keeps its bytes intact and the pool within its limit under random use by three rings', () => {
    const rnd = seededRandom(5);
    const pool = new BufferPool(10_000);
    const rings = [0, 1, 2].map(() => ({ r: new RingBuffer(30_000, pool), model: [] as number[] }));
    let next = 0;
    for (let step = 0; step < 6000; step++) {
      const x = rings[rnd() % 3] as { r: RingBuffer; model: number[] };
      if (rnd() % 3 !== 0) {
        const n = rnd() % 3_000;
        const data = new Uint8Array(n).map(() => next++ & 0xff);
        const room = x.r.room;
        const took = x.r.enqueue(data);
        expect(took).toBe(Math.min(n, room));
        x.model.push(...data.subarray(0, took));
      } else {
        const out = x.r.dequeue(rnd() % 4_000);
        expect([...out]).toEqual(x.model.splice(0, out.length));
      }
      expect(pool.used).toBeLessThanOrEqual(pool.limit);
      if (step % 1000 === 999) {
        x.r.release();
        x.model = [];
      }
    }
    for (const x of rings) x.r.release();
    expect(pool.used).toBe(0);
  });
});

describe('RingBuffer growth', () => {
  it('allocates nothing until the first byte, and every operation works before it', () => {
    const r = new RingBuffer(1 << 18);
    expect(r.allocated).toBe(0);
    expect(r.view(0, 100).length).toBe(0);
    expect(r.peek(0, 100).length).toBe(0);
    expect(r.consume(10)).toBe(0);
    expect(r.dequeue(10).length).toBe(0);
    expect(r.contiguousAt(0)).toBe(0);
    expect(r.free).toBe(1 << 18);
    expect(r.enqueue(bytes(1, 2, 3))).toBe(3);
    expect(r.allocated).toBe(16 * 1024);
    expect([...r.dequeue(3)]).toEqual([1, 2, 3]);
    // Out-of-order bytes first, then marking them queued, also allocate first.
    const o = new RingBuffer(8);
    expect(o.writeUnallocated(2, bytes(5))).toBe(1);
    expect(o.allocated).toBe(8);
    const q = new RingBuffer(8);
    q.enqueueUnallocated(2); // nothing was written: zeros, but never an unbacked length
    expect(q.allocated).toBe(8);
    expect([...q.dequeue(2)]).toEqual([0, 0]);
  });

  it('grows on demand up to its capacity and matches a plain-array model under random use', () => {
    const rnd = seededRandom(99);
    const cap = 200_000;
    const r = new RingBuffer(cap);
    expect(r.allocated).toBeLessThan(cap);
    let model: number[] = [];
    // Out-of-order bytes written past the queue, by offset.
    let ooo = new Map<number, number>();
    let next = 0;
    for (let step = 0; step < 3000; step++) {
      const op = rnd() % 4;
      if (op === 0) {
        const n = rnd() % 5000;
        const data = Uint8Array.from({ length: n }, () => next++ & 255);
        const took = r.enqueue(data);
        expect(took).toBe(Math.min(n, cap - model.length));
        model.push(...data.subarray(0, took));
        ooo = new Map(); // enqueue overwrites what lay beyond the queue
      } else if (op === 1) {
        const n = rnd() % 6000;
        const out = r.dequeue(n);
        expect([...out]).toEqual(model.slice(0, n));
        model = model.slice(out.length);
        const shifted = new Map<number, number>();
        for (const [o, v] of ooo) shifted.set(o + out.length, v);
        ooo = shifted;
      } else if (op === 2) {
        const off = rnd() % 3000;
        const n = rnd() % 3000;
        const data = Uint8Array.from({ length: n }, (_, i) => (off + i * 7) & 255);
        const w = r.writeUnallocated(off, data);
        for (let i = 0; i < w; i++) ooo.set(off + i, data[i] as number);
      } else {
        // Promote the out-of-order bytes that start right at the end of the queue.
        let k = 0;
        while (ooo.has(k)) k++;
        if (k > 0) {
          r.enqueueUnallocated(k);
          for (let i = 0; i < k; i++) model.push(ooo.get(i) as number);
          const rest = new Map<number, number>();
          for (const [o, v] of ooo) if (o >= k) rest.set(o - k, v);
          ooo = rest;
        }
      }
      expect(r.length).toBe(model.length);
      expect(r.allocated).toBeLessThanOrEqual(cap);
    }
    expect([...r.peek(0, r.length)]).toEqual(model);
  }, 30_000); // ~2.5 s alone; minutes of CPU contention must not fail it
});
