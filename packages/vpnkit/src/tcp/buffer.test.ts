import { describe, expect, it } from 'vitest';
import { RingBuffer } from './buffer.js';

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
