/**
 * ioctl request numbers, computed from their definitions as in Linux's
 * include/uapi/asm-generic/ioctl.h (x86 and arm64 use the generic layout):
 *
 *   bits 31..30 dir   (_IOC_NONE=0, _IOC_WRITE=1, _IOC_READ=2)
 *   bits 29..16 size  (14 bits: sizeof the argument struct)
 *   bits 15..8  type  (the driver's magic, e.g. KVMIO = 0xAE)
 *   bits  7..0  nr
 *
 * Pure arithmetic: no koffi here, so it is testable anywhere.
 */
export const IOC_NONE = 0;
export const IOC_WRITE = 1;
export const IOC_READ = 2;

const IOC_SIZEBITS = 14;

/** `_IOC(dir, type, nr, size)`; the result is an unsigned 32-bit number. */
export function ioc(dir: number, type: number, nr: number, size: number): number {
  if (!Number.isInteger(size) || size < 0 || size >= 1 << IOC_SIZEBITS) {
    throw new RangeError(`ioctl argument size ${size} does not fit in ${IOC_SIZEBITS} bits`);
  }
  if (type < 0 || type > 0xff || nr < 0 || nr > 0xff || dir < 0 || dir > 3) {
    throw new RangeError(`ioctl type/nr/dir out of range: ${type}/${nr}/${dir}`);
  }
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}

/** `_IO(type, nr)`: no argument. */
export const io = (type: number, nr: number): number => ioc(IOC_NONE, type, nr, 0);
/** `_IOR(type, nr, T)`: the kernel writes a T back to user space. */
export const ior = (type: number, nr: number, size: number): number => ioc(IOC_READ, type, nr, size);
/** `_IOW(type, nr, T)`: user space passes a T in. */
export const iow = (type: number, nr: number, size: number): number => ioc(IOC_WRITE, type, nr, size);
/** `_IOWR(type, nr, T)`: both directions. */
export const iowr = (type: number, nr: number, size: number): number =>
  ioc(IOC_READ | IOC_WRITE, type, nr, size);
