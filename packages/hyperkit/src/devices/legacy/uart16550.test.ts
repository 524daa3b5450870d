import { describe, expect, it } from 'vitest';
import { Uart16550 } from './uart16550.js';

function uart(): { u: Uart16550; out: number[]; irqs: { n: number } } {
  const out: number[] = [];
  const irqs = { n: 0 };
  const u = new Uart16550({ output: (d) => out.push(...d), onInterrupt: () => irqs.n++, inputCapacity: 4 });
  return { u, out, irqs };
}
const rd = (u: Uart16550, off: number): number => {
  const b = new Uint8Array(1);
  u.read(off, b);
  return b[0] as number;
};
const wr = (u: Uart16550, off: number, v: number): void => u.write(off, new Uint8Array([v]));

describe('Uart16550', () => {
  it('transmits at once and keeps THR empty', () => {
    const { u, out } = uart();
    wr(u, 0, 0x41);
    wr(u, 0, 0x42);
    expect(out).toEqual([0x41, 0x42]);
    expect(rd(u, 5) & 0x60).toBe(0x60);
  });

  it('raises THRE interrupts when enabled and clears them on IIR read', () => {
    const { u, irqs } = uart();
    expect(rd(u, 2)).toBe(0x01);
    wr(u, 1, 0x02); // IER: THRE
    expect(irqs.n).toBe(1);
    expect(rd(u, 2)).toBe(0x02);
    expect(rd(u, 2)).toBe(0x01);
    wr(u, 0, 0x41);
    expect(irqs.n).toBe(2);
  });

  it('receives into a bounded FIFO with data-ready and RDA interrupts', () => {
    const { u, irqs } = uart();
    wr(u, 1, 0x01); // IER: RDA
    expect(u.input(new Uint8Array([1, 2, 3, 4, 5, 6]))).toBe(4);
    expect(irqs.n).toBe(1);
    expect(rd(u, 5) & 1).toBe(1);
    expect(rd(u, 2)).toBe(0x04);
    expect([rd(u, 0), rd(u, 0), rd(u, 0), rd(u, 0)]).toEqual([1, 2, 3, 4]);
    expect(rd(u, 5) & 1).toBe(0);
    expect(rd(u, 2)).toBe(0x01);
  });

  it('latches the divisor with DLAB and echoes in loopback, as the 8250 probe expects', () => {
    const { u, out } = uart();
    wr(u, 3, 0x80);
    wr(u, 0, 0x01);
    wr(u, 1, 0x00);
    expect([rd(u, 0), rd(u, 1)]).toEqual([0x01, 0x00]);
    wr(u, 3, 0x03);
    wr(u, 7, 0x5a);
    expect(rd(u, 7)).toBe(0x5a);
    wr(u, 4, 0x10 | 0x0a); // loop, RTS, OUT2
    expect(rd(u, 6) & 0xf0).toBe(0x90); // CTS and DCD
    wr(u, 0, 0x77);
    expect(out).toEqual([]);
    expect(rd(u, 0)).toBe(0x77);
  });
});
