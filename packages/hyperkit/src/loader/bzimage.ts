/**
 * bzImage loading for the 64-bit boot protocol (Documentation/arch/x86/boot.rst).
 *
 *   Offset  Proto  Name              Meaning
 *   01F1    ALL    setup_sects       The size of the setup in sectors (0 means 4)
 *   01FE    ALL    boot_flag         0xAA55 magic number
 *   0201    2.00+  (jump, byte 2)    0x0202 + this byte = end of the setup header
 *   0202    2.00+  header            Magic signature "HdrS"
 *   0206    2.00+  version           Boot protocol version supported
 *   0210    2.00+  type_of_loader    Boot loader identifier (0xFF: undefined)
 *   0211    2.00+  loadflags         Boot protocol option flags (LOADED_HIGH = 0x01)
 *   0218    2.00+  ramdisk_image     initrd load address (set by boot loader)
 *   021C    2.00+  ramdisk_size      initrd size (set by boot loader)
 *   0228    2.02+  cmd_line_ptr      32-bit pointer to the kernel command line
 *   022C    2.03+  initrd_addr_max   Highest legal initrd address
 *   0230    2.05+  kernel_alignment  Physical addr alignment required for kernel
 *   0234    2.05+  relocatable_kernel Whether kernel is relocatable or not
 *   0236    2.12+  xloadflags        XLF_KERNEL_64 (0x1): has the 64-bit entry at +0x200
 *   0238    2.06+  cmdline_size      Maximum size of the kernel command line
 *   0260    2.10+  init_size         Linear memory required during initialization
 *
 * "In 64-bit boot protocol, the first step in loading a Linux kernel should be to setup
 *  the boot parameters (struct boot_params, traditionally known as 'zero page') ... then
 *  the setup header at offset 0x01f1 of kernel image on should be loaded into struct
 *  boot_params and examined. ... the 64-bit entry point is at the protected-mode kernel's
 *  load address + 0x200."
 *
 * The image is untrusted input: every offset and size is checked before use.
 */
import { HyperkitError } from '../errors.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { CMDLINE_MAX_SIZE, CMDLINE_START, EBDA_START, HIMEM_START, MMIO_GAP_START, ZERO_PAGE_START } from '../arch/x86_64/layout.js';

const HDR = {
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
} as const;
/** boot_params fields outside the setup header. */
const BP = { E820_ENTRIES: 0x1e8, E820_TABLE: 0x2d0 } as const;
const E820_MAX_ENTRIES = 128;
const E820_RAM = 1;
const HDRS_MAGIC = 0x5372_6448; // "HdrS"
const XLF_KERNEL_64 = 0x1;
const LOADED_HIGH = 0x01;
/** 2.12 introduced xloadflags and with it the guarantee of the 64-bit entry. */
const MIN_VERSION = 0x020c;

export interface SetupHeader {
  version: number;
  setupSects: number;
  loadflags: number;
  xloadflags: number;
  initrdAddrMax: number;
  kernelAlignment: number;
  relocatable: boolean;
  cmdlineSize: number;
  initSize: number;
  /** Bytes of setup code before the protected-mode kernel. */
  setupSize: number;
  /** End of the setup header within the image (0x202 + byte at 0x201). */
  headerEnd: number;
}

function fail(message: string): never {
  throw new HyperkitError('BAD_KERNEL', `not a loadable bzImage: ${message}`);
}

/** Parses and validates the setup header of a bzImage. Pure. */
export function parseSetupHeader(image: Uint8Array): SetupHeader {
  if (image.length < HDR.INIT_SIZE + 4) fail(`${image.length} bytes is too short for a setup header`);
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  if (dv.getUint16(HDR.BOOT_FLAG, true) !== 0xaa55) fail('no 0xAA55 boot flag at 0x1fe');
  if (dv.getUint32(HDR.HEADER, true) !== HDRS_MAGIC) fail('no "HdrS" signature at 0x202');
  const version = dv.getUint16(HDR.VERSION, true);
  if (version < MIN_VERSION) fail(`boot protocol ${version >> 8}.${version & 0xff} predates the 64-bit entry (2.12)`);
  const xloadflags = dv.getUint16(HDR.XLOADFLAGS, true);
  if (!(xloadflags & XLF_KERNEL_64)) fail('the kernel has no 64-bit entry point (XLF_KERNEL_64 clear)');
  const loadflags = dv.getUint8(HDR.LOADFLAGS);
  if (!(loadflags & LOADED_HIGH)) fail('the kernel does not load high (LOADED_HIGH clear)');
  const setupSects = dv.getUint8(HDR.SETUP_SECTS) || 4;
  const setupSize = (setupSects + 1) * 512;
  if (setupSize >= image.length) fail(`setup of ${setupSize} bytes leaves no kernel in a ${image.length}-byte file`);
  const headerEnd = 0x202 + dv.getUint8(HDR.JUMP_HI);
  if (headerEnd > setupSize || headerEnd < HDR.INIT_SIZE + 4) fail(`setup header ends at 0x${headerEnd.toString(16)}`);
  return {
    version,
    setupSects,
    loadflags,
    xloadflags,
    initrdAddrMax: dv.getUint32(HDR.INITRD_ADDR_MAX, true),
    kernelAlignment: dv.getUint32(HDR.KERNEL_ALIGNMENT, true),
    relocatable: dv.getUint8(HDR.RELOCATABLE) !== 0,
    cmdlineSize: dv.getUint32(HDR.CMDLINE_SIZE, true),
    initSize: dv.getUint32(HDR.INIT_SIZE, true),
    setupSize,
    headerEnd,
  };
}

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
  return out;
}

export interface LoadedKernel {
  /** The 64-bit entry point. */
  entry: number;
  header: SetupHeader;
  /** Where the initrd landed, if one was given. */
  initrd?: { addr: number; size: number };
}

export interface BzImageOptions {
  image: Uint8Array;
  cmdline: string;
  initrd?: Uint8Array;
}

/**
 * Loads a bzImage into guest memory for the 64-bit boot protocol: the protected-mode kernel
 * at 1 MiB, the command line, the initrd as high as allowed (page aligned, below the PCI
 * hole, `initrd_addr_max` and the end of RAM, above the kernel's `init_size`), and the zero
 * page with the setup header and the e820 map. Returns the entry point for `rip`.
 */
export function loadBzImage(mem: GuestMemory, { image, cmdline, initrd }: BzImageOptions): LoadedKernel {
  const header = parseSetupHeader(image);
  const kernel = image.subarray(header.setupSize);
  const loadAddr = HIMEM_START;
  const kernelEnd = loadAddr + Math.max(kernel.length, header.initSize);
  if (!mem.view(loadAddr, kernelEnd - loadAddr)) {
    throw new HyperkitError('KERNEL_TOO_BIG', `the kernel needs 0x${loadAddr.toString(16)}..0x${kernelEnd.toString(16)} (init_size) in guest RAM`);
  }
  mem.write(loadAddr, kernel);

  const cmd = new TextEncoder().encode(cmdline);
  const cmdMax = Math.min(header.cmdlineSize || 255, CMDLINE_MAX_SIZE - 1);
  if (cmd.length > cmdMax) throw new HyperkitError('CMDLINE_TOO_LONG', `command line of ${cmd.length} bytes; the kernel takes ${cmdMax}`);
  if (cmd.includes(0)) throw new HyperkitError('CMDLINE_NUL', 'the command line contains a NUL byte');
  const cmdArea = mem.slice(CMDLINE_START, cmd.length + 1);
  cmdArea.set(cmd);
  cmdArea[cmd.length] = 0;

  const zp = mem.slice(ZERO_PAGE_START, 4096);
  zp.fill(0);
  // The setup header goes into boot_params at the same offset it has in the image.
  zp.set(image.subarray(0x1f1, header.headerEnd), 0x1f1);
  const dv = new DataView(zp.buffer, zp.byteOffset, 4096);
  dv.setUint8(HDR.TYPE_OF_LOADER, 0xff);
  dv.setUint32(HDR.CMD_LINE_PTR, CMDLINE_START, true);

  let placed: LoadedKernel['initrd'];
  if (initrd && initrd.length > 0) {
    const ramTop = Math.max(...mem.regions.map((r) => r.gpa + r.bytes.length));
    const ceiling = Math.min(ramTop, MMIO_GAP_START, header.initrdAddrMax + 1);
    const addr = Math.floor((ceiling - initrd.length) / 4096) * 4096;
    if (addr < kernelEnd || !mem.view(addr, initrd.length)) {
      throw new HyperkitError('INITRD_TOO_BIG', `an initrd of ${initrd.length} bytes does not fit between the kernel and 0x${ceiling.toString(16)}`);
    }
    mem.write(addr, initrd);
    dv.setUint32(HDR.RAMDISK_IMAGE, addr, true);
    dv.setUint32(HDR.RAMDISK_SIZE, initrd.length, true);
    placed = { addr, size: initrd.length };
  }

  const e820 = e820Map(mem);
  if (e820.length > E820_MAX_ENTRIES) throw new HyperkitError('E820', `${e820.length} e820 entries; the zero page holds ${E820_MAX_ENTRIES}`);
  dv.setUint8(BP.E820_ENTRIES, e820.length);
  e820.forEach((e, i) => {
    const o = BP.E820_TABLE + i * 20;
    dv.setBigUint64(o, BigInt(e.addr), true);
    dv.setBigUint64(o + 8, BigInt(e.size), true);
    dv.setUint32(o + 16, e.type, true);
  });

  return { entry: loadAddr + 0x200, header, ...(placed ? { initrd: placed } : {}) };
}
