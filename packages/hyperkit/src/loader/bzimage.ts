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
import { CMDLINE_MAX_SIZE, HIMEM_START } from '../arch/x86_64/layout.js';
import { BP, e820Map, encodeCmdline, HDRS_MAGIC, LOADED_HIGH, placeInitrd, writeZeroPage } from './boot-params.js';

export { e820Map, type E820Entry } from './boot-params.js';

const HDR = BP;
const XLF_KERNEL_64 = 0x1;
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
  // Everything is checked (command line, initrd, e820) before anything is written.
  const cmd = encodeCmdline(cmdline, Math.min(header.cmdlineSize || 255, CMDLINE_MAX_SIZE - 1));
  const placed = initrd && initrd.length > 0 ? { addr: placeInitrd(mem, initrd.length, kernelEnd, header.initrdAddrMax), size: initrd.length } : undefined;
  const e820 = e820Map(mem);
  mem.write(loadAddr, kernel);
  if (initrd && placed) mem.write(placed.addr, initrd);
  // The setup header goes into boot_params at the same offset it has in the image.
  writeZeroPage(mem, { header: image.subarray(BP.SETUP_SECTS, header.headerEnd), cmd, e820, ...(placed ? { initrd: placed } : {}) });

  return { entry: loadAddr + 0x200, header, ...(placed ? { initrd: placed } : {}) };
}
