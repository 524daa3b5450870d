/**
 * `struct boot_params`, the "zero page" (Documentation/arch/x86/zero-page.rst and boot.rst),
 * as both loaders fill it: the offsets they use, the command line, the initrd's place, the
 * e820 map. The bzImage loader copies the kernel's own setup header into it first; the ELF
 * loader writes the few header fields Linux reads from scratch.
 */
import { CMDLINE_START, EBDA_START, HIMEM_START, MMIO_GAP_START, ZERO_PAGE_START } from '../arch/x86_64/layout.js';
import { HyperkitError } from '../errors.js';
import type { GuestMemory } from '../memory/guest-memory.js';

/** Offsets in boot_params: the setup header (0x1f1..) and the fields around it. */
export const BP = {
  ACPI_RSDP_ADDR: 0x070,
  E820_ENTRIES: 0x1e8,
  SETUP_SECTS: 0x1f1,
  BOOT_FLAG: 0x1fe,
  JUMP_HI: 0x201,
  HEADER: 0x202,
  VERSION: 0x206,
  TYPE_OF_LOADER: 0x210,
  LOADFLAGS: 0x211,
  RAMDISK_IMAGE: 0x218,
  RAMDISK_SIZE: 0x21c,
  CMD_LINE_PTR: 0x228,
  INITRD_ADDR_MAX: 0x22c,
  KERNEL_ALIGNMENT: 0x230,
  RELOCATABLE: 0x234,
  XLOADFLAGS: 0x236,
  CMDLINE_SIZE: 0x238,
  INIT_SIZE: 0x260,
  E820_TABLE: 0x2d0,
} as const;

export const ZERO_PAGE_SIZE = 4096;
export const E820_MAX_ENTRIES = 128;
export const E820_RAM = 1;
export const HDRS_MAGIC = 0x5372_6448; // "HdrS"
export const LOADED_HIGH = 0x01;

export interface E820Entry {
  addr: number;
  size: number;
  type: number;
}

/** The RAM map Linux is given: low memory below the EBDA, then RAM from 1 MiB. */
export function e820Map(mem: GuestMemory): E820Entry[] {
  const out: E820Entry[] = [];
  for (const r of mem.regions) {
    const start = r.gpa;
    const end = r.gpa + r.bytes.length;
    if (start < EBDA_START) out.push({ addr: start, size: Math.min(end, EBDA_START) - start, type: E820_RAM });
    const hi = Math.max(start, HIMEM_START);
    if (end > hi) out.push({ addr: hi, size: end - hi, type: E820_RAM });
  }
  if (out.length > E820_MAX_ENTRIES) throw new HyperkitError('E820', `${out.length} e820 entries; the zero page holds ${E820_MAX_ENTRIES}`);
  return out;
}

/** The command line as bytes, refused when longer than `max` or holding a NUL. */
export function encodeCmdline(cmdline: string, max: number): Uint8Array {
  const cmd = new TextEncoder().encode(cmdline);
  if (cmd.length > max) throw new HyperkitError('CMDLINE_TOO_LONG', `command line of ${cmd.length} bytes; the kernel takes ${max}`);
  if (cmd.includes(0)) throw new HyperkitError('CMDLINE_NUL', 'the command line contains a NUL byte');
  return cmd;
}

/**
 * Where the initrd goes: as high as RAM, the PCI hole and `addrMax` allow, page aligned, and
 * not below `kernelEnd`. Throws when it does not fit.
 */
export function placeInitrd(mem: GuestMemory, size: number, kernelEnd: number, addrMax: number): number {
  const ramTop = Math.max(...mem.regions.map((r) => r.gpa + r.bytes.length));
  const ceiling = Math.min(ramTop, MMIO_GAP_START, addrMax + 1);
  const addr = Math.floor((ceiling - size) / 4096) * 4096;
  if (addr < kernelEnd || !mem.view(addr, size)) {
    throw new HyperkitError('INITRD_TOO_BIG', `an initrd of ${size} bytes does not fit between the kernel's end 0x${kernelEnd.toString(16)} and 0x${ceiling.toString(16)}`);
  }
  return addr;
}

/**
 * Writes the command line at CMDLINE_START and a fresh zero page: `header` (the kernel's setup
 * header, copied at 0x1f1) if given, then type_of_loader, cmd_line_ptr, the initrd and the e820
 * map. Returns a view of the page for the caller's own fields.
 */
export function writeZeroPage(
  mem: GuestMemory,
  { header, cmd, initrd, e820 }: { header?: Uint8Array; cmd: Uint8Array; initrd?: { addr: number; size: number }; e820: readonly E820Entry[] },
): DataView {
  const cmdArea = mem.slice(CMDLINE_START, cmd.length + 1);
  cmdArea.set(cmd);
  cmdArea[cmd.length] = 0;

  const zp = mem.slice(ZERO_PAGE_START, ZERO_PAGE_SIZE);
  zp.fill(0);
  if (header) zp.set(header, BP.SETUP_SECTS);
  const dv = new DataView(zp.buffer, zp.byteOffset, ZERO_PAGE_SIZE);
  dv.setUint8(BP.TYPE_OF_LOADER, 0xff);
  dv.setUint32(BP.CMD_LINE_PTR, CMDLINE_START, true);
  if (initrd) {
    dv.setUint32(BP.RAMDISK_IMAGE, initrd.addr, true);
    dv.setUint32(BP.RAMDISK_SIZE, initrd.size, true);
  }
  dv.setUint8(BP.E820_ENTRIES, e820.length);
  e820.forEach((e, i) => {
    const o = BP.E820_TABLE + i * 20; // 128 entries x 20 bytes end at 0xcd0, inside the page
    dv.setBigUint64(o, BigInt(e.addr), true);
    dv.setBigUint64(o + 8, BigInt(e.size), true);
    dv.setUint32(o + 16, e.type, true);
  });
  return dv;
}
