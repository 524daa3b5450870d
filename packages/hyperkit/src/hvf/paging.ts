/**
 * Guest linear -> guest physical translation, for the few places the VMM must read what
 * the guest addressed by linear address (the instruction at RIP for MMIO decoding, the
 * memory operand of INS/OUTS). KVM walks the guest page tables in the kernel; on HVF the
 * VMM does it. Intel SDM vol. 3A, 4.3 (32-bit), 4.4 (PAE), 4.5 (4- and 5-level):
 *
 *   4-level:  PML4[47:39] -> PDPT[38:30] (PS: 1 GiB) -> PD[29:21] (PS: 2 MiB) -> PT[20:12]
 *   PAE:      PDPT[31:30] (from CR3[31:5]) -> PD[29:21] (PS: 2 MiB) -> PT[20:12]
 *   32-bit:   PD[31:22] (PS with CR4.PSE: 4 MiB, PSE-36 bits 20:13) -> PT[21:12], 4-byte entries
 *   entry:    present[0] ... PS[7] ... address[51:12]
 *
 * Permissions are not checked: the CPU has just performed this access (or fetched this
 * instruction) and exited only because the physical address is not RAM. Every table read
 * goes through `GuestMemory`, so a hostile page table cannot point the walk outside RAM.
 */
import type { GuestMemory } from '../memory/guest-memory.js';

const CR0_PG = 1n << 31n;
const CR4_PSE = 1n << 4n;
const CR4_PAE = 1n << 5n;
const CR4_LA57 = 1n << 12n;
const EFER_LMA = 1n << 10n;
const ADDR_MASK = 0x000f_ffff_ffff_f000n;

export interface PagingState {
  cr0: bigint;
  cr3: bigint;
  cr4: bigint;
  efer: bigint;
}

function entry(mem: GuestMemory, gpa: bigint, size: 4 | 8): bigint | undefined {
  if (gpa > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  // `view` checks the whole entry lies in guest RAM.
  const v = mem.view(Number(gpa), size);
  if (!v) return undefined;
  const dv = new DataView(v.buffer, v.byteOffset, size);
  return size === 8 ? dv.getBigUint64(0, true) : BigInt(dv.getUint32(0, true));
}

/** The guest-physical address of `linear`, or undefined if it is not mapped (or a table lies outside RAM). */
export function translate(mem: GuestMemory, s: PagingState, linear: bigint): bigint | undefined {
  if (!(s.cr0 & CR0_PG)) return linear & 0xffff_ffffn;
  const present = (e: bigint | undefined): e is bigint => e !== undefined && (e & 1n) === 1n;
  const ps = (e: bigint): boolean => (e & 0x80n) !== 0n;

  if (s.efer & EFER_LMA) {
    const levels = s.cr4 & CR4_LA57 ? 5 : 4;
    let table = s.cr3 & ADDR_MASK;
    for (let level = levels; level >= 1; level--) {
      const shift = 12n + 9n * BigInt(level - 1);
      const index = (linear >> shift) & 0x1ffn;
      const e = entry(mem, table + index * 8n, 8);
      if (!present(e)) return undefined;
      // PS at the PDPT (1 GiB) or PD (2 MiB) level maps a large page.
      if (level === 1 || ((level === 2 || level === 3) && ps(e))) {
        const pageMask = (1n << shift) - 1n;
        return (e & ADDR_MASK & ~pageMask) | (linear & pageMask);
      }
      table = e & ADDR_MASK;
    }
    return undefined;
  }

  const lin = linear & 0xffff_ffffn;
  if (s.cr4 & CR4_PAE) {
    const pdpte = entry(mem, (s.cr3 & 0xffff_ffe0n) + ((lin >> 30n) & 3n) * 8n, 8);
    if (!present(pdpte)) return undefined;
    const pde = entry(mem, (pdpte & ADDR_MASK) + ((lin >> 21n) & 0x1ffn) * 8n, 8);
    if (!present(pde)) return undefined;
    if (ps(pde)) return (pde & ADDR_MASK & ~0x1f_ffffn) | (lin & 0x1f_ffffn);
    const pte = entry(mem, (pde & ADDR_MASK) + ((lin >> 12n) & 0x1ffn) * 8n, 8);
    if (!present(pte)) return undefined;
    return (pte & ADDR_MASK) | (lin & 0xfffn);
  }

  const pde = entry(mem, (s.cr3 & 0xffff_f000n) + (lin >> 22n) * 4n, 4);
  if (!present(pde)) return undefined;
  if (ps(pde) && s.cr4 & CR4_PSE) {
    // 4 MiB page: bits 31:22 from the entry, PSE-36 bits 39:32 from entry bits 20:13.
    return (pde & 0xffc0_0000n) | (((pde >> 13n) & 0xffn) << 32n) | (lin & 0x3f_ffffn);
  }
  const pte = entry(mem, (pde & 0xffff_f000n) + ((lin >> 12n) & 0x3ffn) * 4n, 4);
  if (!present(pte)) return undefined;
  return (pte & 0xffff_f000n) | (lin & 0xfffn);
}

/**
 * Copies up to `len` bytes from guest linear address `linear` into a new array, page by
 * page; stops early at the first byte that is unmapped or not RAM.
 */
export function readLinear(mem: GuestMemory, s: PagingState, linear: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const lin = BigInt.asUintN(64, linear + BigInt(done));
    const gpa = translate(mem, s, lin);
    if (gpa === undefined || gpa > BigInt(Number.MAX_SAFE_INTEGER)) break;
    const chunk = Math.min(len - done, 4096 - Number(lin & 0xfffn));
    const v = mem.view(Number(gpa), chunk);
    if (!v) break;
    out.set(v, done);
    done += chunk;
  }
  return out.subarray(0, done);
}

/** Writes `data` at guest linear address `linear`; false (nothing written) if any byte is unmapped or not RAM. */
export function writeLinear(mem: GuestMemory, s: PagingState, linear: bigint, data: Uint8Array): boolean {
  const views: Uint8Array[] = [];
  let done = 0;
  while (done < data.length) {
    const lin = BigInt.asUintN(64, linear + BigInt(done));
    const gpa = translate(mem, s, lin);
    if (gpa === undefined || gpa > BigInt(Number.MAX_SAFE_INTEGER)) return false;
    const chunk = Math.min(data.length - done, 4096 - Number(lin & 0xfffn));
    const v = mem.view(Number(gpa), chunk);
    if (!v) return false;
    views.push(v);
    done += chunk;
  }
  let off = 0;
  for (const v of views) {
    v.set(data.subarray(off, off + v.length));
    off += v.length;
  }
  return true;
}
