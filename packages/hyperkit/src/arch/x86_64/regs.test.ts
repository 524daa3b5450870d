import { describe, expect, it } from 'vitest';
import { BOOT_GDT, gdtEntry, segmentFromGdt } from './regs.js';

describe('boot GDT', () => {
  it('encodes the flat 64-bit descriptors Linux and Firecracker use', () => {
    // Well-known values: 64-bit code 0x00af9b000000ffff, data 0x00cf93000000ffff.
    expect(BOOT_GDT[1]).toBe(0x00af9b000000ffffn);
    expect(BOOT_GDT[2]).toBe(0x00cf93000000ffffn);
    expect(BOOT_GDT[3]).toBe(0x008f8b000000ffffn);
    expect(gdtEntry(0xc093, 0x12345678, 0xabcde)).toBe(0x12ca93345678bcden);
  });

  it('decodes into the segment registers KVM takes', () => {
    const cs = segmentFromGdt(BOOT_GDT[1] as bigint, 8);
    expect(cs).toMatchObject({ base: 0n, limit: 0xffffffff, selector: 8, type: 0xb, present: 1, dpl: 0, db: 0, s: 1, l: 1, g: 1 });
    const ds = segmentFromGdt(BOOT_GDT[2] as bigint, 16);
    expect(ds).toMatchObject({ type: 3, db: 1, l: 0, unusable: 0 });
  });
});
