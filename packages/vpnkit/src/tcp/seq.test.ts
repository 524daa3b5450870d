import { describe, expect, it } from 'vitest';
import { seqAdd, seqGe, seqGt, seqInRange, seqLe, seqLt, seqMax, seqMin, seqSub } from './seq.js';

describe('sequence arithmetic', () => {
  it('wraps across 2^32', () => {
    expect(seqAdd(0xffffffff, 1)).toBe(0);
    expect(seqAdd(0xfffffff0, 0x20)).toBe(0x10);
    expect(seqAdd(5, -10)).toBe(0xfffffffb);
    expect(seqSub(0x10, 0xfffffff0)).toBe(0x20);
    expect(seqSub(0xfffffff0, 0x10)).toBe(-0x20);
  });
  it('compares modulo 2^32', () => {
    expect(seqLt(0xfffffff0, 0x10)).toBe(true);
    expect(seqGt(0x10, 0xfffffff0)).toBe(true);
    expect(seqLe(7, 7)).toBe(true);
    expect(seqGe(7, 7)).toBe(true);
    expect(seqLt(7, 7)).toBe(false);
    expect(seqMax(0xfffffff0, 0x10)).toBe(0x10);
    expect(seqMin(0xfffffff0, 0x10)).toBe(0xfffffff0);
  });
  it('tests ranges that straddle the wrap', () => {
    expect(seqInRange(0, 0xfffffff0, 0x10)).toBe(true);
    expect(seqInRange(0xfffffff0, 0xfffffff0, 0x10)).toBe(true);
    expect(seqInRange(0x10, 0xfffffff0, 0x10)).toBe(false);
    expect(seqInRange(0xffffffef, 0xfffffff0, 0x10)).toBe(false);
  });
});
