import { describe, expect, it } from 'vitest';
import { defaultMss, mssForMtu, resolveOptions, windowShiftFor } from './config.js';
import { seededRandom } from './isn.js';

describe('options', () => {
  it('fills defaults', () => {
    const o = resolveOptions({ random: seededRandom(1), rxBufferSize: 1 << 20 });
    expect(o.initialRto).toBe(1000);
    expect(o.minRto).toBe(200);
    expect(o.msl).toBe(30_000);
    expect(o.delayedAck).toBe(40);
    expect(o.maxOutOfOrderBytes).toBe(1 << 20);
  });
  it('derives MSS and window shift', () => {
    expect(defaultMss(0x0a000001)).toBe(536);
    expect(defaultMss(new Uint8Array(16))).toBe(1220);
    expect(mssForMtu(1500, 0x0a000001)).toBe(1460);
    expect(mssForMtu(1500, new Uint8Array(16))).toBe(1440);
    expect(windowShiftFor(65535)).toBe(0);
    expect(windowShiftFor(65536)).toBe(1);
    expect(windowShiftFor(1 << 20)).toBe(5);
    expect(windowShiftFor(2 ** 31)).toBe(14);
  });
});
