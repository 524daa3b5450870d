import { describe, expect, it } from 'vitest';
import { buildMptable, mptableSize } from './mptable.js';

const sum = (b: Uint8Array): number => b.reduce((s, x) => (s + x) & 0xff, 0);
const text = (b: Uint8Array, off: number, n: number): string => String.fromCharCode(...b.subarray(off, off + n));

describe('MP table', () => {
  it('has a floating pointer and a config table that both checksum to zero', () => {
    const t = buildMptable(4, 0x9fc00);
    const dv = new DataView(t.buffer);
    expect(text(t, 0, 4)).toBe('_MP_');
    expect(dv.getUint32(4, true)).toBe(0x9fc10);
    expect(sum(t.subarray(0, 16))).toBe(0);
    expect(text(t, 16, 4)).toBe('PCMP');
    const len = dv.getUint16(20, true);
    expect(16 + len).toBe(mptableSize(4));
    expect(sum(t.subarray(16, 16 + len))).toBe(0);
    expect(dv.getUint32(16 + 36, true)).toBe(0xfee00000);
    expect(dv.getUint16(16 + 34, true)).toBe(4 + 1 + 1 + 16 + 2);
  });

  it('lists each vCPU with the first as the bootstrap processor, then bus, I/O APIC and IRQs', () => {
    const t = buildMptable(2);
    const e = 16 + 44;
    expect([t[e], t[e + 1], t[e + 3]]).toEqual([0, 0, 3]); // CPU 0: enabled + BSP
    expect([t[e + 20], t[e + 21], t[e + 23]]).toEqual([0, 1, 1]); // CPU 1: enabled
    expect(t[e + 40]).toBe(1);
    expect(text(t, e + 42, 6)).toBe('ISA   ');
    expect([t[e + 48], t[e + 49]]).toEqual([2, 2]); // I/O APIC id 2
    expect(new DataView(t.buffer).getUint32(e + 52, true)).toBe(0xfec00000);
    const irq0 = e + 56;
    expect([t[irq0], t[irq0 + 1], t[irq0 + 5], t[irq0 + 6], t[irq0 + 7]]).toEqual([3, 0, 0, 2, 0]); // timer: mp_INT
    const irq4 = e + 56 + 4 * 8;
    expect([t[irq4], t[irq4 + 1], t[irq4 + 5], t[irq4 + 6], t[irq4 + 7]]).toEqual([3, 0, 4, 2, 4]);
    const lint0 = e + 56 + 16 * 8;
    expect([t[lint0], t[lint0 + 1], t[lint0 + 6], t[lint0 + 7]]).toEqual([4, 3, 0, 0]);
    expect([t[lint0 + 8], t[lint0 + 9], t[lint0 + 14], t[lint0 + 15]]).toEqual([4, 1, 0xff, 1]);
  });

  it('refuses impossible CPU counts', () => {
    expect(() => buildMptable(0)).toThrow(/1 to 254/);
    expect(() => buildMptable(255)).toThrow(/1 to 254/);
  });
});
