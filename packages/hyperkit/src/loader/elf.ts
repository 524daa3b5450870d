/**
 * ELF vmlinux loading for the 64-bit boot protocol (the uncompressed kernel the build leaves
 * at the top of the tree; Firecracker's default kernel format).
 *
 * ELF-64 Object File Format 1.5 and the System V ABI AMD64 supplement:
 *
 *   Elf64_Ehdr  e_ident[16] e_type[2] e_machine[2] e_version[4] e_entry[8] e_phoff[8]
 *               e_shoff[8] e_flags[4] e_ehsize[2] e_phentsize[2] e_phnum[2]
 *               e_shentsize[2] e_shnum[2] e_shstrndx[2]                         (64 bytes)
 *   e_ident     EI_MAG0..3 = 7f 'E' 'L' 'F', EI_CLASS = 2 (ELFCLASS64),
 *               EI_DATA = 1 (ELFDATA2LSB), EI_VERSION = 1 (EV_CURRENT)
 *   Elf64_Phdr  p_type[4] p_flags[4] p_offset[8] p_vaddr[8] p_paddr[8] p_filesz[8]
 *               p_memsz[8] p_align[8]                                            (56 bytes)
 *   PT_LOAD     "The bytes from the file are mapped to the beginning of the memory segment.
 *                If the segment's memory size (p_memsz) is larger than the file size
 *                (p_filesz), the 'extra' bytes are defined to hold the value 0."
 *   Elf64_Nhdr  n_namesz[4] n_descsz[4] n_type[4] name[namesz, padded to 4] desc[descsz, padded to 4]
 *
 * Linux links vmlinux with `ENTRY(phys_startup_64)`: e_entry is the *physical* address of
 * startup_64, the 64-bit entry (Debian's 6.1: 0x1000000, the first PT_LOAD's p_paddr), and
 * segments are placed by p_paddr. With no setup header in the file, the loader builds the
 * zero page (struct boot_params, Documentation/arch/x86/zero-page.rst) itself:
 *
 *   Offset  Proto  Name              What we write
 *   01E8    ALL    e820_entries      number of e820 entries
 *   01FE    ALL    boot_flag         0xAA55
 *   0202    2.00+  header            "HdrS"
 *   0206    2.00+  version           0x020F (2.15; 2.12+ is the 64-bit protocol)
 *   0210    2.00+  type_of_loader    0xFF (undefined)
 *   0211    2.00+  loadflags         LOADED_HIGH (the kernel is above 1 MiB)
 *   0218    2.00+  ramdisk_image     initrd address
 *   021C    2.00+  ramdisk_size      initrd size
 *   0228    2.02+  cmd_line_ptr      command line address
 *   0230    2.05+  kernel_alignment  the largest PT_LOAD p_align
 *   0238    2.06+  cmdline_size      command line length (without the NUL)
 *   02D0    ALL    e820_table        20-byte entries: addr[8] size[8] type[4]
 *
 * Linux's vmlinux also carries Xen ELF notes; XEN_ELFNOTE_PHYS32_ENTRY (18) is the PVH
 * entry (32-bit protected mode, no paging). It is recorded; we boot through e_entry.
 *
 * The file is untrusted input: every offset and size is checked against it before use.
 */
import { HyperkitError } from '../errors.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { HIMEM_START } from '../arch/x86_64/layout.js';
import { BP, e820Map, encodeCmdline, HDRS_MAGIC, LOADED_HIGH, placeInitrd, writeZeroPage } from './boot-params.js';
import type { LoadedKernel } from './bzimage.js';

const EHDR = {
  IDENT_CLASS: 4,
  IDENT_DATA: 5,
  IDENT_VERSION: 6,
  TYPE: 16,
  MACHINE: 18,
  VERSION: 20,
  ENTRY: 24,
  PHOFF: 32,
  EHSIZE: 52,
  PHENTSIZE: 54,
  PHNUM: 56,
  SIZE: 64,
} as const;
const PHDR = { TYPE: 0, FLAGS: 4, OFFSET: 8, VADDR: 16, PADDR: 24, FILESZ: 32, MEMSZ: 40, ALIGN: 48, SIZE: 56 } as const;

const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const EV_CURRENT = 1;
const ET_EXEC = 2;
const EM_X86_64 = 62;
const PT_LOAD = 1;
const PT_NOTE = 4;
const PF_X = 1;
/** e_phnum's escape value: the real count would be in section 0 (not something a kernel does). */
const PN_XNUM = 0xffff;
/** Linux's vmlinux has 5 program headers; anything near this bound is not a kernel. */
export const ELF_MAX_PHDRS = 64;
/** Notes scanned per PT_NOTE segment (Linux's vmlinux has about 20). */
const MAX_NOTES = 256;
const XEN_ELFNOTE_PHYS32_ENTRY = 18;

const BOOT_PROTOCOL = 0x020f;
/** x86's COMMAND_LINE_SIZE is 2048, NUL included (no setup header here to say otherwise). */
const COMMAND_LINE_MAX = 2047;
/** What an x86_64 kernel declares as initrd_addr_max in its own setup header. */
const INITRD_ADDR_MAX = 0x7fff_ffff;
/** CONFIG_PHYSICAL_ALIGN's default, used when no segment states an alignment. */
const DEFAULT_KERNEL_ALIGNMENT = 0x20_0000;
/**
 * The boot page tables (arch/x86_64/regs.ts `setupLongMode`) identity-map the first GiB:
 * the kernel must lie inside it to run at its entry.
 */
const IDENTITY_MAPPED_END = 0x4000_0000;

const ELF_MAGIC = Uint8Array.of(0x7f, 0x45, 0x4c, 0x46);

/** Whether `image` starts with the ELF magic (to pick this loader over the bzImage one). */
export function isElf(image: Uint8Array): boolean {
  return image.length >= 4 && ELF_MAGIC.every((b, i) => image[i] === b);
}

export interface ElfSegment {
  /** Where it is loaded (p_paddr). */
  paddr: number;
  /** Bytes copied from the file (p_filesz); the rest of `memsz` is zeroed. */
  filesz: number;
  memsz: number;
  offset: number;
  flags: number;
  align: number;
}

export interface ElfKernel {
  /** e_entry: the physical address of the 64-bit entry. */
  entry: number;
  /** The PT_LOAD segments, sorted by address, checked not to overlap. */
  segments: ElfSegment[];
  /** XEN_ELFNOTE_PHYS32_ENTRY, if the kernel has one (PVH boot; not used by us). */
  pvhEntry?: number;
  /** The largest PT_LOAD alignment (the kernel's CONFIG_PHYSICAL_ALIGN for Linux). */
  alignment: number;
}

export interface LoadedElf extends Pick<LoadedKernel, 'entry' | 'initrd'> {
  format: 'elf';
  elf: ElfKernel;
  /** First byte above the highest segment. */
  kernelEnd: number;
}

export interface ElfOptions {
  image: Uint8Array;
  cmdline: string;
  initrd?: Uint8Array;
}

function fail(message: string, data: Record<string, unknown> = {}): never {
  throw new HyperkitError('BAD_KERNEL', `not a loadable ELF vmlinux: ${message}`, data);
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** A 64-bit field as a number, refused if it could not be an address or size in this process. */
function u64(dv: DataView, off: number, what: string): number {
  const v = dv.getBigUint64(off, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${hex(v)} is out of range`);
  return Number(v);
}

/**
 * Parses and validates an ELF64 little-endian x86-64 executable's header, program headers
 * and notes. Pure: does not touch guest memory.
 */
export function parseElf(image: Uint8Array): ElfKernel {
  if (image.length < EHDR.SIZE) fail(`${image.length} bytes is too short for an ELF header`);
  if (!isElf(image)) fail('no ELF magic (7f 45 4c 46)');
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (dv.getUint8(EHDR.IDENT_CLASS) !== ELFCLASS64) fail(`EI_CLASS is ${dv.getUint8(EHDR.IDENT_CLASS)}, not ELFCLASS64 (2)`);
  if (dv.getUint8(EHDR.IDENT_DATA) !== ELFDATA2LSB) fail(`EI_DATA is ${dv.getUint8(EHDR.IDENT_DATA)}, not little-endian (1)`);
  if (dv.getUint8(EHDR.IDENT_VERSION) !== EV_CURRENT) fail(`EI_VERSION is ${dv.getUint8(EHDR.IDENT_VERSION)}, not 1`);
  const type = dv.getUint16(EHDR.TYPE, true);
  if (type !== ET_EXEC) fail(`e_type is ${type}, not ET_EXEC (2)`);
  const machine = dv.getUint16(EHDR.MACHINE, true);
  if (machine !== EM_X86_64) fail(`e_machine is ${machine}, not EM_X86_64 (62)`);
  if (dv.getUint32(EHDR.VERSION, true) !== EV_CURRENT) fail(`e_version is ${dv.getUint32(EHDR.VERSION, true)}, not 1`);
  const ehsize = dv.getUint16(EHDR.EHSIZE, true);
  if (ehsize !== EHDR.SIZE) fail(`e_ehsize is ${ehsize}, not 64`);
  const phentsize = dv.getUint16(EHDR.PHENTSIZE, true);
  if (phentsize !== PHDR.SIZE) fail(`e_phentsize is ${phentsize}, not 56`);
  const phnum = dv.getUint16(EHDR.PHNUM, true);
  if (phnum === 0) fail('no program headers (e_phnum is 0)');
  if (phnum === PN_XNUM || phnum > ELF_MAX_PHDRS) fail(`${phnum} program headers; at most ${ELF_MAX_PHDRS} are accepted`);
  const phoff = u64(dv, EHDR.PHOFF, 'e_phoff');
  if (phoff < EHDR.SIZE || phoff + phnum * PHDR.SIZE > image.length) {
    fail(`program headers at ${hex(phoff)} (${phnum} x 56 bytes) are outside the ${image.length}-byte file`);
  }
  const entry = dv.getBigUint64(EHDR.ENTRY, true); // checked against the segments below

  const segments: ElfSegment[] = [];
  let pvhEntry: number | undefined;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * PHDR.SIZE; // in the file: checked above for all phnum headers
    const pType = dv.getUint32(ph + PHDR.TYPE, true);
    if (pType !== PT_LOAD && pType !== PT_NOTE) continue;
    const offset = u64(dv, ph + PHDR.OFFSET, `segment ${i} p_offset`);
    const filesz = u64(dv, ph + PHDR.FILESZ, `segment ${i} p_filesz`);
    if (offset + filesz > image.length) {
      fail(`segment ${i}'s file bytes ${hex(offset)}+${hex(filesz)} run past the end of the ${image.length}-byte file`);
    }
    if (pType === PT_NOTE) {
      pvhEntry = findPvhEntry(image.subarray(offset, offset + filesz)) ?? pvhEntry;
      continue;
    }
    const paddr = u64(dv, ph + PHDR.PADDR, `segment ${i} p_paddr`);
    const memsz = u64(dv, ph + PHDR.MEMSZ, `segment ${i} p_memsz`);
    const align = u64(dv, ph + PHDR.ALIGN, `segment ${i} p_align`);
    if (filesz > memsz) fail(`segment ${i} has p_filesz ${hex(filesz)} > p_memsz ${hex(memsz)}`);
    if (memsz === 0) continue; // nothing to load
    if (align > 1 && (align & (align - 1)) !== 0) fail(`segment ${i}'s p_align ${hex(align)} is not a power of two`);
    if (paddr < HIMEM_START) {
      fail(`segment ${i} at ${hex(paddr)} is below 1 MiB, where the zero page, command line and page tables live`);
    }
    if (paddr + memsz > IDENTITY_MAPPED_END) {
      fail(`segment ${i} at ${hex(paddr)}+${hex(memsz)} ends above the identity-mapped first GiB`);
    }
    segments.push({ paddr, filesz, memsz, offset, flags: dv.getUint32(ph + PHDR.FLAGS, true), align });
  }
  if (segments.length === 0) fail('no PT_LOAD segment with contents');
  segments.sort((a, b) => a.paddr - b.paddr);
  for (let i = 1; i < segments.length; i++) {
    const prev = segments[i - 1] as ElfSegment;
    const seg = segments[i] as ElfSegment;
    if (seg.paddr < prev.paddr + prev.memsz) {
      fail(`segments at ${hex(prev.paddr)}+${hex(prev.memsz)} and ${hex(seg.paddr)}+${hex(seg.memsz)} overlap`);
    }
  }
  const home = segments.find((s) => entry >= BigInt(s.paddr) && entry < BigInt(s.paddr + s.filesz));
  if (!home) {
    fail(`e_entry ${hex(entry)} is not inside the file bytes of any PT_LOAD segment (a virtual address? Linux's is physical)`);
  }
  if (!(home.flags & PF_X)) fail(`e_entry ${hex(entry)} is in a segment that is not executable (p_flags ${home.flags})`);
  const alignment = segments.reduce((m, s) => Math.max(m, s.align), 0) || DEFAULT_KERNEL_ALIGNMENT;
  return { entry: Number(entry), segments, alignment, ...(pvhEntry === undefined ? {} : { pvhEntry }) };
}

/** The PVH entry from a PT_NOTE segment's notes, if one is a Xen PHYS32_ENTRY note. */
function findPvhEntry(notes: Uint8Array): number | undefined {
  const dv = new DataView(notes.buffer, notes.byteOffset, notes.byteLength);
  const pad4 = (n: number): number => Math.ceil(n / 4) * 4;
  let off = 0;
  for (let n = 0; n < MAX_NOTES && off + 12 <= notes.length; n++) {
    const namesz = dv.getUint32(off, true);
    const descsz = dv.getUint32(off + 4, true);
    const type = dv.getUint32(off + 8, true);
    const name = off + 12;
    if (namesz > notes.length || descsz > notes.length) fail(`a note's name or description (${namesz}, ${descsz} bytes) overruns its segment`);
    const desc = name + pad4(namesz);
    const next = desc + pad4(descsz);
    if (next > notes.length) fail(`a note at +${hex(off)} runs past the end of its segment`);
    // Both ranges lie inside `notes` (checked just above).
    const isXen = namesz === 4 && notes[name] === 0x58 && notes[name + 1] === 0x65 && notes[name + 2] === 0x6e && notes[name + 3] === 0;
    if (isXen && type === XEN_ELFNOTE_PHYS32_ENTRY) {
      if (descsz === 4) return dv.getUint32(desc, true);
      if (descsz === 8) return Number(dv.getBigUint64(desc, true) & 0xffff_ffffn);
      fail(`the PVH entry note has a ${descsz}-byte description (expected 4 or 8)`);
    }
    off = next;
  }
  return undefined;
}

/**
 * Loads an ELF vmlinux into guest memory for the 64-bit boot protocol: each PT_LOAD segment
 * at its p_paddr (the tail past p_filesz zeroed), the command line, the initrd as high as
 * RAM, the PCI hole and the kernel's initrd limit allow (page aligned, above the kernel), and
 * a zero page built from scratch with the e820 map. Returns the entry point for `rip`
 * (`rsi` must point at the zero page, as for a bzImage).
 *
 * @example
 * const k = loadElf(mem, { image: readFileSync('vmlinux'), cmdline: 'console=ttyS0' });
 * configureVcpu(kvm, vcpu, mem, { vcpuId: 0, vcpuCount: 1, entry: k.entry, irqchip: true });
 */
export function loadElf(mem: GuestMemory, { image, cmdline, initrd }: ElfOptions): LoadedElf {
  const elf = parseElf(image);
  const cmd = encodeCmdline(cmdline, COMMAND_LINE_MAX);

  // Everything is checked (segments, initrd, e820) before anything is written.
  for (const s of elf.segments) {
    if (!mem.view(s.paddr, s.memsz)) {
      throw new HyperkitError('KERNEL_TOO_BIG', `the kernel segment ${hex(s.paddr)}+${hex(s.memsz)} is outside guest RAM`, { paddr: s.paddr, memsz: s.memsz });
    }
  }
  const last = elf.segments[elf.segments.length - 1] as ElfSegment;
  const kernelEnd = last.paddr + last.memsz;
  const placed = initrd && initrd.length > 0 ? { addr: placeInitrd(mem, initrd.length, kernelEnd, INITRD_ADDR_MAX), size: initrd.length } : undefined;
  const e820 = e820Map(mem);

  for (const s of elf.segments) {
    const dst = mem.slice(s.paddr, s.memsz); // inside RAM: checked above
    dst.set(image.subarray(s.offset, s.offset + s.filesz)); // inside the file: checked by parseElf
    dst.fill(0, s.filesz);
  }
  if (initrd && placed) mem.write(placed.addr, initrd);

  // No setup header in an ELF: the fields Linux reads from it are written here.
  const dv = writeZeroPage(mem, { cmd, e820, ...(placed ? { initrd: placed } : {}) });
  dv.setUint16(BP.BOOT_FLAG, 0xaa55, true);
  dv.setUint32(BP.HEADER, HDRS_MAGIC, true);
  dv.setUint16(BP.VERSION, BOOT_PROTOCOL, true);
  dv.setUint8(BP.LOADFLAGS, LOADED_HIGH);
  dv.setUint32(BP.CMDLINE_SIZE, cmd.length, true);
  dv.setUint32(BP.KERNEL_ALIGNMENT, Math.min(elf.alignment, 0x8000_0000), true);

  return { format: 'elf', entry: elf.entry, elf, kernelEnd, ...(placed ? { initrd: placed } : {}) };
}
