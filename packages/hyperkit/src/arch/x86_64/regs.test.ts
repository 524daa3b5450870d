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

describe('long-mode page tables', () => {
  it('identity-maps the first GiB with 2 MiB pages: golden entries and control registers', async () => {
    const { GuestMemory } = await import('../../memory/guest-memory.js');
    const { setupLongMode } = await import('./regs.js');
    const mem = new GuestMemory([{ gpa: 0, bytes: new Uint8Array(0x100000), hostAddress: 0n }]);
    mem.slice(0x9000, 0x3000).fill(0xee); // stale bytes must not survive
    const seg = { base: 0n, limit: 0, selector: 0, type: 0, present: 0, dpl: 0, db: 0, s: 0, l: 0, g: 0, avl: 0, unusable: 0 };
    const sregs = setupLongMode(mem, {
      cs: seg, ds: seg, es: seg, fs: seg, gs: seg, ss: seg, tr: seg, ldt: seg,
      gdt: { base: 0n, limit: 0 }, idt: { base: 0n, limit: 0 },
      cr0: 0n, cr2: 0n, cr3: 0n, cr4: 0n, cr8: 0n, efer: 0n, apicBase: 0n, interruptBitmap: new BigUint64Array(4),
    } as unknown as Parameters<typeof setupLongMode>[1]);
    const q = (addr: number): string => Buffer.from(mem.slice(addr, 8)).reverse().toString('hex');
    expect(q(0x9000)).toBe('000000000000a003'); // PML4[0] -> PDPT at 0xa000, present|writable
    expect(q(0x9008)).toBe('0000000000000000');
    expect(q(0xa000)).toBe('000000000000b003'); // PDPT[0] -> PD at 0xb000
    expect(q(0xa008)).toBe('0000000000000000');
    expect(q(0xb000)).toBe('0000000000000083'); // PD[0]: 2 MiB page at 0, present|writable|PS
    expect(q(0xb008)).toBe('0000000000200083');
    expect(q(0xb000 + 511 * 8)).toBe('000000003fe00083'); // the last 2 MiB below 1 GiB
    expect(Buffer.from(mem.slice(0x500, 32)).toString('hex')).toBe(
      '0000000000000000' + 'ffff0000009baf00' + 'ffff00000093cf00' + 'ffff0000008b8f00',
    ); // boot GDT: null, code, data, TSS (little-endian)
    expect(sregs.cr3).toBe(0x9000n);
    expect(sregs.cr0 & 0x80000001n).toBe(0x80000001n); // PG | PE
    expect(sregs.cr4 & 0x20n).toBe(0x20n); // PAE
    expect(sregs.efer & 0x500n).toBe(0x500n); // LME | LMA
    expect(sregs.cs.l).toBe(1);
  });
});
