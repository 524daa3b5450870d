/**
 * Registers for a 64-bit entry (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"):
 * "the CPU must be in 64-bit mode with paging enabled ... the range with setup_header.init_size
 * from start address of loaded kernel and zero page and command line buffer get ident mapping;
 * a GDT must be loaded with the descriptors for selectors __BOOT_CS(0x10) and __BOOT_DS(0x18)
 * ... CS must be __BOOT_CS and DS, ES, SS must be __BOOT_DS; interrupt must be disabled;
 * %rsi must hold the base address of the struct boot_params."
 *
 * (Linux accepts any flat 64-bit code/data descriptors; ours are entries 1 and 2.)
 */
import type { GuestMemory } from '../../memory/guest-memory.js';
import type { Regs, Segment, Sregs } from '../../kvm/structs.js';
import {
  BOOT_GDT_START,
  BOOT_IDT_START,
  BOOT_STACK_POINTER,
  GDT_CODE_SELECTOR,
  GDT_DATA_SELECTOR,
  GDT_TSS_SELECTOR,
  PDE_START,
  PDPTE_START,
  PML4_START,
  ZERO_PAGE_START,
} from './layout.js';

const X86_CR0_PE = 0x1n;
const X86_CR0_ET = 0x10n;
const X86_CR0_PG = 0x8000_0000n;
const X86_CR4_PAE = 0x20n;
const EFER_LME = 0x100n;
const EFER_LMA = 0x400n;

/** A GDT entry from flags, base and limit (the Intel SDM vol. 3A, 3.4.5 layout). */
export function gdtEntry(flags: number, base: number, limit: number): bigint {
  const b = BigInt(base);
  const l = BigInt(limit);
  const f = BigInt(flags);
  return (
    ((b & 0xff00_0000n) << 32n) |
    ((b & 0x00ff_ffffn) << 16n) |
    (l & 0xffffn) |
    ((l & 0xf_0000n) << 32n) |
    ((f & 0xf0ffn) << 40n)
  );
}

/** The `kvm_segment` a GDT entry describes, as the CPU would load it for `selector`. */
export function segmentFromGdt(entry: bigint, selector: number): Segment {
  const base = ((entry >> 16n) & 0xff_ffffn) | ((entry >> 32n) & 0xff00_0000n);
  const limit = Number((entry & 0xffffn) | ((entry >> 32n) & 0xf_0000n));
  const bit = (n: bigint): number => Number((entry >> n) & 1n);
  const g = bit(55n);
  return {
    base,
    // With G set the limit counts 4 KiB pages: the CPU sees limit * 4096 + 4095.
    limit: g ? limit * 4096 + 4095 : limit,
    selector,
    type: Number((entry >> 40n) & 0xfn),
    present: bit(47n),
    dpl: Number((entry >> 45n) & 3n),
    db: bit(54n),
    s: bit(44n),
    l: bit(53n),
    g,
    avl: bit(52n),
    unusable: bit(47n) ? 0 : 1,
  };
}

export const BOOT_GDT: readonly bigint[] = [
  0n, // null
  gdtEntry(0xa09b, 0, 0xfffff), // code: present, DPL0, execute/read, accessed, L=1, G=1
  gdtEntry(0xc093, 0, 0xfffff), // data: present, DPL0, read/write, accessed, D/B=1, G=1
  gdtEntry(0x808b, 0, 0xfffff), // TSS: present, busy 32-bit TSS
];

/**
 * Writes the boot GDT, an empty IDT and an identity map of the first GiB (2 MiB pages)
 * into guest memory, and returns the special registers that enter 64-bit mode with them.
 */
export function setupLongMode(mem: GuestMemory, sregs: Sregs): Sregs {
  const gdt = mem.slice(BOOT_GDT_START, BOOT_GDT.length * 8);
  const gdtView = new DataView(gdt.buffer, gdt.byteOffset, gdt.byteLength);
  BOOT_GDT.forEach((e, i) => gdtView.setBigUint64(i * 8, e, true));
  mem.slice(BOOT_IDT_START, 8).fill(0);

  // PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] -> 2 MiB page i (present, writable, PS).
  const pml4 = mem.slice(PML4_START, 4096);
  const pdpt = mem.slice(PDPTE_START, 4096);
  const pd = mem.slice(PDE_START, 4096);
  pml4.fill(0);
  pdpt.fill(0);
  new DataView(pml4.buffer, pml4.byteOffset).setBigUint64(0, BigInt(PDPTE_START) | 0x03n, true);
  new DataView(pdpt.buffer, pdpt.byteOffset).setBigUint64(0, BigInt(PDE_START) | 0x03n, true);
  const pdView = new DataView(pd.buffer, pd.byteOffset, 4096);
  for (let i = 0; i < 512; i++) pdView.setBigUint64(i * 8, (BigInt(i) << 21n) | 0x83n, true);

  const code = segmentFromGdt(BOOT_GDT[1] as bigint, GDT_CODE_SELECTOR);
  const data = segmentFromGdt(BOOT_GDT[2] as bigint, GDT_DATA_SELECTOR);
  const tss = segmentFromGdt(BOOT_GDT[3] as bigint, GDT_TSS_SELECTOR);
  return {
    ...sregs,
    cs: code,
    ds: data,
    es: data,
    fs: data,
    gs: data,
    ss: data,
    tr: tss,
    gdt: { base: BigInt(BOOT_GDT_START), limit: BOOT_GDT.length * 8 - 1 },
    idt: { base: BigInt(BOOT_IDT_START), limit: 7 },
    cr0: sregs.cr0 | X86_CR0_PE | X86_CR0_ET | X86_CR0_PG,
    cr3: BigInt(PML4_START),
    cr4: sregs.cr4 | X86_CR4_PAE,
    efer: sregs.efer | EFER_LME | EFER_LMA,
  };
}

/** General registers for the 64-bit entry at `entry`, boot_params in %rsi. */
export function bootRegs(entry: number | bigint): Regs {
  const zero = 0n;
  return {
    rax: zero, rbx: zero, rcx: zero, rdx: zero, rdi: zero,
    r8: zero, r9: zero, r10: zero, r11: zero, r12: zero, r13: zero, r14: zero, r15: zero,
    rip: BigInt(entry),
    rsp: BigInt(BOOT_STACK_POINTER),
    rbp: BigInt(BOOT_STACK_POINTER),
    rsi: BigInt(ZERO_PAGE_START),
    rflags: 0x2n,
  };
}
