import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../memory/guest-memory.js';
import { readLinear, translate, writeLinear, type PagingState } from './paging.js';

const RAM = 0x40_0000; // 4 MiB at gpa 0
function ram(): { mem: GuestMemory; dv: DataView; bytes: Uint8Array } {
  const bytes = new Uint8Array(RAM);
  return { mem: new GuestMemory([{ gpa: 0, hostAddress: 0n, bytes }]), dv: new DataView(bytes.buffer), bytes };
}
const LONG: Omit<PagingState, 'cr3'> = { cr0: 0x8000_0011n, cr4: 0x20n, efer: 0x500n }; // PG|ET|PE, PAE, LME|LMA

describe('translate', () => {
  it('is the identity (32 bits) with paging off', () => {
    const { mem } = ram();
    expect(translate(mem, { cr0: 0x11n, cr3: 0n, cr4: 0n, efer: 0n }, 0x1_0000_1234n)).toBe(0x1234n);
  });

  it('walks 4-level tables to a 4 KiB page, a 2 MiB page and a 1 GiB page', () => {
    const { mem, dv } = ram();
    // Linear 0xffff_8000_0020_3456: PML4[256] PDPT[0] PD[1] PT[3], offset 0x456.
    dv.setBigUint64(0x1000 + 256 * 8, 0x2000n | 3n, true); // PML4E -> PDPT at 0x2000
    dv.setBigUint64(0x2000, 0x3000n | 3n, true); // PDPTE -> PD at 0x3000
    dv.setBigUint64(0x3000 + 1 * 8, 0x4000n | 3n, true); // PDE -> PT at 0x4000
    dv.setBigUint64(0x4000 + 3 * 8, 0x12_3000n | 3n, true); // PTE -> page 0x123000
    expect(translate(mem, { ...LONG, cr3: 0x1000n }, 0xffff_8000_0020_3456n)).toBe(0x12_3456n);
    // PD[2] with PS: 2 MiB page at 0x20_0000; linear 0xffff_8000_0045_6789 -> 0x25_6789
    dv.setBigUint64(0x3000 + 2 * 8, 0x20_0000n | 0x83n, true);
    expect(translate(mem, { ...LONG, cr3: 0x1000n }, 0xffff_8000_0045_6789n)).toBe(0x25_6789n);
    // PDPT[1] with PS: 1 GiB page at 0x4000_0000 (beyond RAM: translation does not care)
    dv.setBigUint64(0x2000 + 8, 0x4000_0000n | 0x83n, true);
    expect(translate(mem, { ...LONG, cr3: 0x1000n }, 0xffff_8000_4123_4567n)).toBe(0x4123_4567n);
  });

  it('stops at a non-present entry and at a table outside guest RAM', () => {
    const { mem, dv } = ram();
    expect(translate(mem, { ...LONG, cr3: 0x1000n }, 0x1000n)).toBeUndefined(); // PML4E 0 not present
    dv.setBigUint64(0x1000, 0x7000_0000n | 3n, true); // PDPT far outside RAM
    expect(translate(mem, { ...LONG, cr3: 0x1000n }, 0x1000n)).toBeUndefined();
  });

  it('walks PAE tables (CR3 bits 31:5 name the PDPT)', () => {
    const { mem, dv } = ram();
    // linear 0xc010_2345: PDPT[3] PD[0] PT[0x102], offset 0x345
    dv.setBigUint64(0x1020 + 3 * 8, 0x3000n | 1n, true);
    dv.setBigUint64(0x3000, 0x4000n | 3n, true);
    dv.setBigUint64(0x4000 + 0x102 * 8, 0x9000n | 3n, true);
    expect(translate(mem, { cr0: 0x8000_0001n, cr3: 0x1020n, cr4: 0x20n, efer: 0n }, 0xc010_2345n)).toBe(0x9345n);
  });

  it('walks 32-bit tables, with 4 MiB pages under CR4.PSE', () => {
    const { mem, dv } = ram();
    // linear 0x0040_1234: PD[1] PT[1]
    dv.setUint32(0x1000 + 4, 0x2000 | 3, true);
    dv.setUint32(0x2000 + 4, 0x5000 | 3, true);
    const s: PagingState = { cr0: 0x8000_0001n, cr3: 0x1000n, cr4: 0n, efer: 0n };
    expect(translate(mem, s, 0x0040_1234n)).toBe(0x5234n);
    // PD[3] PS: 4 MiB page at 0x0040_0000, PSE-36 bits 20:13 = 1 -> bit 32 set
    dv.setUint32(0x1000 + 12, 0x0040_0000 | (1 << 13) | 0x83, true);
    expect(translate(mem, { ...s, cr4: 0x10n }, 0x00c1_2345n)).toBe(0x1_0041_2345n);
  });
});

describe('readLinear / writeLinear', () => {
  it('crosses a page boundary onto a non-contiguous physical page', () => {
    const { mem, dv, bytes } = ram();
    dv.setBigUint64(0x1000, 0x2000n | 3n, true);
    dv.setBigUint64(0x2000, 0x3000n | 3n, true);
    dv.setBigUint64(0x3000, 0x4000n | 3n, true); // PD[0] -> PT
    dv.setBigUint64(0x4000 + 0x10 * 8, 0x20_0000n | 3n, true); // linear 0x10000 -> 0x200000
    dv.setBigUint64(0x4000 + 0x11 * 8, 0x10_0000n | 3n, true); // linear 0x11000 -> 0x100000
    const s = { ...LONG, cr3: 0x1000n };
    bytes.set([1, 2], 0x20_0ffe);
    bytes.set([3, 4], 0x10_0000);
    expect([...readLinear(mem, s, 0x10ffen, 4)]).toEqual([1, 2, 3, 4]);
    expect(writeLinear(mem, s, 0x10fffn, Uint8Array.from([9, 8]))).toBe(true);
    expect([bytes[0x20_0fff], bytes[0x10_0000]]).toEqual([9, 8]);
    // linear 0x12000 is not mapped: reading stops there, writing refuses and writes nothing
    expect(readLinear(mem, s, 0x11ffen, 4).length).toBe(2);
    expect(writeLinear(mem, s, 0x11fffn, Uint8Array.from([7, 7]))).toBe(false);
    expect(bytes[0x10_0fff]).toBe(0);
  });
});
