import { describe, expect, it } from 'vitest';
import { Receiver, Rx } from './receiver.js';
import { seqAdd } from './seq.js';

const IRS = 0xfffffff0; // RCV.NXT wraps during the tests
const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

function receiver(capacity = 100, mss = 40): Receiver {
  const r = new Receiver(capacity, 4, capacity, mss);
  r.start(IRS);
  return r;
}

describe('Receiver', () => {
  it('trim gives storage back only while nothing is held (unread, lent or out of order)', () => {
    const r = receiver(10);
    expect(r.trim()).toBe(true); // nothing ever held
    r.receive(seqAdd(r.nxt, 3), fill(2, 9), false); // out of order
    expect(r.trim()).toBe(false);
    r.receive(r.nxt, fill(3, 8), false); // fills the hole: 5 readable
    expect(r.trim()).toBe(false);
    const v = r.lend();
    expect(v?.length).toBe(5);
    expect(r.trim()).toBe(false); // lent
    r.giveBack(5);
    expect(r.trim()).toBe(true);
    expect(r.window).toBe(10);
    r.receive(r.nxt, fill(4, 7), false); // and it goes on
    expect([...(r.read() ?? [])]).toEqual([7, 7, 7, 7]);
  });

  it('lends views without copying; lent bytes stay out of the window and intact until given back', () => {
    const r = receiver(10);
    r.receive(r.nxt, Uint8Array.from([1, 2, 3, 4, 5, 6]), false);
    const a = r.lend(4);
    expect([...(a ?? [])]).toEqual([1, 2, 3, 4]);
    expect(r.readable).toBe(2);
    expect(r.lent).toBe(4);
    expect(r.window).toBe(4); // 10 - 6: lent bytes still occupy the buffer
    const b = r.lend();
    expect([...(b ?? [])]).toEqual([5, 6]);
    expect(r.lend()).toBeUndefined();
    expect(() => r.read()).toThrow(/lent/);
    // New data lands after the lent bytes, never over them; the views still read the same.
    r.receive(r.nxt, Uint8Array.from([7, 8, 9, 10]), false);
    expect(r.window).toBe(0);
    expect([...(a ?? [])]).toEqual([1, 2, 3, 4]);
    r.giveBack(4);
    expect(r.window).toBe(4);
    expect([...(b ?? [])]).toEqual([5, 6]);
    // After the wrap: lend stops at the wrap point, the rest comes next.
    r.receive(r.nxt, Uint8Array.from([11, 12, 13, 14]), false);
    expect([...(r.lend() ?? [])]).toEqual([7, 8, 9, 10]);
    expect([...(r.lend() ?? [])]).toEqual([11, 12, 13, 14]);
    r.giveBack(100); // clipped to what is lent
    expect(r.lent).toBe(0);
    expect(r.readable).toBe(0);
    expect(r.window).toBe(10);
  });

  it('applies the RFC 9293 §3.10.7.4 acceptability table', () => {
    const r = receiver(10);
    const nxt = r.nxt;
    expect(r.acceptable(nxt, 0)).toBe(true);
    expect(r.acceptable(seqAdd(nxt, 9), 0)).toBe(true);
    expect(r.acceptable(seqAdd(nxt, 10), 0)).toBe(false);
    expect(r.acceptable(seqAdd(nxt, -1), 0)).toBe(false);
    expect(r.acceptable(seqAdd(nxt, -5), 6)).toBe(true); // last byte in window
    expect(r.acceptable(seqAdd(nxt, -5), 5)).toBe(false); // all old
    expect(r.acceptable(seqAdd(nxt, 9), 5)).toBe(true); // first byte in window
    r.receive(nxt, fill(10, 1), false); // window now 0
    expect(r.window).toBe(0);
    expect(r.acceptable(r.nxt, 0)).toBe(true);
    expect(r.acceptable(r.nxt, 1)).toBe(false);
    expect(r.acceptable(seqAdd(r.nxt, 1), 0)).toBe(false);
  });

  it('trims to the window, drops a FIN beyond it, reassembles across the wrap', () => {
    const r = receiver(10);
    const nxt = r.nxt;
    expect(r.receive(seqAdd(nxt, 4), fill(4, 2), false)).toBe(Rx.OutOfOrder);
    expect(r.readable).toBe(0);
    expect(r.receive(seqAdd(nxt, 8), fill(6, 3), true)).toBe(Rx.OutOfOrder); // trimmed to 2 bytes; FIN dropped
    expect(r.receive(seqAdd(nxt, -2), fill(6, 1), false)).toBe(Rx.InOrder | Rx.Filled); // old prefix trimmed
    expect(r.lastInOrder).toBe(4);
    expect(r.lastDelivered).toBe(10);
    expect(r.nxt).toBe(seqAdd(nxt, 10));
    expect(r.read()).toEqual(Uint8Array.from([1, 1, 1, 1, 2, 2, 2, 2, 3, 3]));
  });

  it('takes a FIN ahead of a hole once the hole fills', () => {
    const r = receiver();
    const nxt = r.nxt;
    expect(r.receive(seqAdd(nxt, 5), fill(5, 2), true)).toBe(Rx.OutOfOrder | Rx.FinAhead);
    expect(r.receive(nxt, fill(5, 1), false)).toBe(Rx.InOrder | Rx.Filled | Rx.Fin);
    expect(r.nxt).toBe(seqAdd(nxt, 11));
    expect(r.receive(seqAdd(nxt, 10), new Uint8Array(0), true)).toBe(0); // the FIN again
  });

  it('advertises free space, opening the window only by the SWS threshold (RFC 9293 §3.8.6.2.2)', () => {
    const r = receiver(100, 40); // threshold min(100 / 2, 40) = 40
    expect(r.advertise()).toBe(100);
    r.receive(r.nxt, fill(100, 1), false);
    expect(r.advertise()).toBe(0);
    r.read(30);
    expect(r.updateDue).toBe(false);
    expect(r.advertise()).toBe(0); // 30 < 40: keep the window shut
    r.read(10);
    expect(r.updateDue).toBe(true);
    expect(r.advertise()).toBe(40);
    expect(r.advertised).toBe(40);
  });

  it('scales the advertised window and never moves its right edge left', () => {
    const r = new Receiver(1 << 20, 4, 1 << 20, 1460);
    r.start(IRS);
    r.shift = 5;
    expect(r.advertise()).toBe((1 << 20) >> 5);
    r.receive(r.nxt, fill(100, 1), false);
    // Free space 1 MiB - 100 is not a multiple of 32; the edge stays where it was.
    expect(r.advertised).toBe((1 << 20) - 100);
  });
});
