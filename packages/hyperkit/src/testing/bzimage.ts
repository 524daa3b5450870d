/**
 * Test kit: a minimal, valid bzImage (boot protocol 2.15, 64-bit entry) whose protected-mode
 * payload holds `code` at the 64-bit entry point (payload + 0x200). Lets tests of a VMM boot
 * a "kernel" of a few bytes.
 *
 * @example
 * // mov dx,0x3f8 | mov al,'H' | out dx,al | jmp $
 * const image = makeBzImage([0x66, 0xba, 0xf8, 0x03, 0xb0, 0x48, 0xee, 0xeb, 0xfe]);
 */
export function makeBzImage(code: ArrayLike<number> = [0xf4], patch: (header: DataView) => void = () => {}): Uint8Array {
  const payload = new Uint8Array(0x1000);
  if (code.length > payload.length - 0x200) throw new RangeError('test kernel code is limited to 3584 bytes');
  payload.set(code, 0x200);
  const img = new Uint8Array(5 * 512 + payload.length);
  const dv = new DataView(img.buffer);
  dv.setUint8(0x1f1, 4); // setup_sects
  dv.setUint16(0x1fe, 0xaa55, true); // boot_flag
  dv.setUint8(0x201, 0x6a); // the setup header ends at 0x26c
  dv.setUint32(0x202, 0x53726448, true); // "HdrS"
  dv.setUint16(0x206, 0x020f, true); // protocol 2.15
  dv.setUint8(0x211, 0x01); // LOADED_HIGH
  dv.setUint32(0x22c, 0x7fffffff, true); // initrd_addr_max
  dv.setUint16(0x236, 0x1, true); // XLF_KERNEL_64
  dv.setUint32(0x238, 2047, true); // cmdline_size
  dv.setUint32(0x260, 0x10000, true); // init_size
  img.set(payload, 5 * 512);
  patch(dv);
  return img;
}
