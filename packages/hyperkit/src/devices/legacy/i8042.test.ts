import { describe, expect, it } from 'vitest';
import { I8042 } from './i8042.js';

const rd = (d: I8042, port: number): number => {
  const b = new Uint8Array(1);
  d.read(port - 0x60, b);
  return b[0] as number;
};
const wr = (d: I8042, port: number, v: number): void => d.write(port - 0x60, new Uint8Array([v]));

describe('I8042', () => {
  it('answers the controller commands Linux probes with', () => {
    const d = new I8042({ onReset: () => {} });
    expect(rd(d, 0x64) & 1).toBe(0);
    wr(d, 0x64, 0x20);
    expect(rd(d, 0x64) & 1).toBe(1);
    expect(rd(d, 0x60)).toBe(0x47);
    expect(rd(d, 0x64) & 1).toBe(0);
    wr(d, 0x64, 0x60);
    wr(d, 0x60, 0x65);
    wr(d, 0x64, 0x20);
    expect(rd(d, 0x60)).toBe(0x65);
    wr(d, 0x64, 0xaa);
    expect(rd(d, 0x60)).toBe(0x55);
  });

  it('resets on 0xFE and only then', () => {
    let resets = 0;
    const d = new I8042({ onReset: () => resets++ });
    wr(d, 0x60, 0xfe);
    expect(resets).toBe(0);
    wr(d, 0x64, 0xfe);
    expect(resets).toBe(1);
  });
});
