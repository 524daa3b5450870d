import { describe, expect, it } from 'vitest';
import { Cmos } from './cmos.js';

const reg = (c: Cmos, i: number): number => {
  c.write(0, new Uint8Array([i]));
  const b = new Uint8Array(1);
  c.read(1, b);
  return b[0] as number;
};

describe('Cmos', () => {
  it('reports the time in BCD, 24-hour, never mid-update', () => {
    const c = new Cmos({ now: () => new Date(Date.UTC(2026, 10, 28, 23, 59, 7)) });
    expect([reg(c, 0), reg(c, 2), reg(c, 4), reg(c, 7), reg(c, 8), reg(c, 9), reg(c, 0x32)]).toEqual([
      0x07, 0x59, 0x23, 0x28, 0x11, 0x26, 0x20,
    ]);
    expect(reg(c, 0x0a) & 0x80).toBe(0);
    expect(reg(c, 0x0b)).toBe(0x02);
    expect(reg(c, 0x0d)).toBe(0x80);
  });

  it('keeps NVRAM writes and ignores writes to the clock', () => {
    const c = new Cmos({ now: () => new Date(0) });
    c.write(0, new Uint8Array([0x40]));
    c.write(1, new Uint8Array([0xab]));
    expect(reg(c, 0x40)).toBe(0xab);
    c.write(0, new Uint8Array([0x00]));
    c.write(1, new Uint8Array([0x30]));
    expect(reg(c, 0x00)).toBe(0x00);
  });
});
