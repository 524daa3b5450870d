/**
 * The libc calls hyperkit needs, declared through koffi. This folder is the only place
 * in the package that touches koffi (CONVENTIONS.md #3); everything above it sees plain
 * numbers, typed errors and ArrayBuffers.
 *
 * `ioctl` is declared with a fixed prototype `(int, unsigned long, uintptr_t)` rather than
 * as variadic: every KVM ioctl takes either nothing, an integer or a pointer, all of which
 * travel in a general-purpose register on x86_64 and arm64.
 */
import koffi from 'koffi';
import { SyscallError } from '../errors.js';
import { errnoName } from './errno.js';

export const O_RDWR = 0o2;
export const O_CLOEXEC = 0o2000000;

export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
const MAP_FAILED = 0xffffffffffffffffn;

interface Libc {
  open: (path: string, flags: number, mode: number) => number;
  mmap: (addr: null, len: number, prot: number, flags: number, fd: number, off: number) => unknown;
  munmap: (addr: unknown, len: number) => number;
  pthreadSelf: () => number | bigint;
  pthreadKill: (thread: number | bigint, sig: number) => number;
  close: (fd: number) => number;
  ioctlInt: (fd: number, request: number, arg: number | bigint) => number;
  ioctlPtr: (fd: number, request: number, arg: Uint8Array) => number;
  eventfd: (initval: number, flags: number) => number;
  read: (fd: number, buf: Uint8Array, count: number) => number | bigint;
  write: (fd: number, buf: Uint8Array, count: number) => number | bigint;
}

export const EFD_CLOEXEC = 0o2000000;
export const EFD_NONBLOCK = 0o4000;

let libc: Libc | undefined;

function load(): Libc {
  if (libc) return libc;
  if (process.platform !== 'linux') {
    throw new SyscallError('dlopen', 0, 'ENOSYS', `libc bindings are for Linux; this is ${process.platform}`);
  }
  const lib = koffi.load('libc.so.6');
  libc = {
    // open(2) is variadic in C; koffi's variadic call passes the mode with its type.
    open: ((f) => (path: string, flags: number, mode: number) => f(path, flags, 'uint32_t', mode) as number)(
      lib.func('int open(const char *path, int flags, ...)'),
    ),
    close: lib.func('int close(int fd)') as (fd: number) => number,
    mmap: lib.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)') as Libc['mmap'],
    munmap: lib.func('int munmap(void *addr, size_t len)') as Libc['munmap'],
    pthreadSelf: lib.func('uintptr_t pthread_self()') as Libc['pthreadSelf'],
    pthreadKill: lib.func('int pthread_kill(uintptr_t thread, int sig)') as Libc['pthreadKill'],
    ioctlInt: lib.func('ioctl', 'int', ['int', 'unsigned long', 'uintptr_t']) as Libc['ioctlInt'],
    ioctlPtr: lib.func('ioctl', 'int', ['int', 'unsigned long', 'void *']) as Libc['ioctlPtr'],
    eventfd: lib.func('int eventfd(unsigned int initval, int flags)') as Libc['eventfd'],
    read: lib.func('intptr_t read(int fd, _Out_ uint8_t *buf, size_t count)') as Libc['read'],
    write: lib.func('intptr_t write(int fd, const uint8_t *buf, size_t count)') as Libc['write'],
  };
  return libc;
}

function check(syscall: string, ret: number, detail?: string): number {
  if (ret < 0) {
    const errno = koffi.errno();
    throw new SyscallError(syscall, errno, errnoName(errno), detail);
  }
  return ret;
}

/** open(2); returns the fd or throws a SyscallError named after errno. */
export function open(path: string, flags: number, mode = 0): number {
  return check('open', load().open(path, flags, mode), path);
}

export function close(fd: number): void {
  check('close', load().close(fd));
}

/** ioctl(2) with an integer (or no) argument; returns the non-negative result. */
export function ioctl(fd: number, request: number, arg: number | bigint = 0, name?: string): number {
  return check('ioctl', load().ioctlInt(fd, request, arg), name);
}

/**
 * ioctl(2) with a pointer to `buf`; the kernel reads and/or writes at most the size
 * encoded in `request`, which the caller's buffer must cover.
 */
export function ioctlBuffer(fd: number, request: number, buf: Uint8Array, name?: string): number {
  const size = (request >>> 16) & 0x3fff;
  if (buf.byteLength < size) {
    throw new RangeError(`ioctl ${name ?? request.toString(16)}: buffer of ${buf.byteLength} bytes < ${size}`);
  }
  return check('ioctl', load().ioctlPtr(fd, request, buf), name);
}

/** A mapping made by `mmap`, seen from JavaScript as one zero-copy ArrayBuffer. */
export interface Mapping {
  /** Host virtual address of the first byte (what KVM's `userspace_addr` wants). */
  readonly address: bigint;
  readonly length: number;
  /** An external ArrayBuffer over the mapped bytes: no copy in either direction. */
  readonly buffer: ArrayBuffer;
  unmap(): void;
}

/**
 * mmap(2). `fd` -1 with MAP_ANONYMOUS for guest RAM; a vCPU fd with MAP_SHARED for its
 * `struct kvm_run`. The returned buffer is valid until `unmap()`.
 */
export function mmap(length: number, prot: number, flags: number, fd = -1, offset = 0): Mapping {
  if (!Number.isSafeInteger(length) || length <= 0) throw new RangeError(`mmap length ${length} is not a positive integer`);
  const c = load();
  const ptr = c.mmap(null, length, prot, flags, fd, offset);
  const address = koffi.address(ptr);
  if (address === MAP_FAILED || address === 0n) {
    const errno = koffi.errno();
    throw new SyscallError('mmap', errno, errnoName(errno), `${length} bytes`);
  }
  // The view spans exactly the `length` bytes just mapped.
  const buffer = koffi.view(ptr, length);
  let mapped = true;
  return {
    address,
    length,
    buffer,
    unmap() {
      if (!mapped) return;
      mapped = false;
      check('munmap', c.munmap(ptr, length));
    },
  };
}

/**
 * A view of `length` bytes at `address`, memory some other code mapped (a worker thread's
 * kvm_run area): the caller guarantees the mapping outlives the view.
 */
export function viewAt(address: bigint, length: number): ArrayBuffer {
  load();
  const cell = new BigUint64Array([address]);
  const ptr = koffi.decode(new Uint8Array(cell.buffer), 'void *');
  return koffi.view(ptr, length);
}

/** pthread_self() of the calling thread, as a bigint. */
export function pthreadSelf(): bigint {
  return BigInt(load().pthreadSelf());
}

/** pthread_kill(3): deliver `sig` to one thread (to interrupt its blocking KVM_RUN). */
export function pthreadKill(thread: bigint, sig: number): void {
  const ret = load().pthreadKill(thread, sig);
  // pthread_kill returns the error number instead of setting errno.
  if (ret !== 0) throw new SyscallError('pthread_kill', ret, errnoName(ret));
}

/** eventfd(2): the counter KVM's ioeventfd/irqfd signal through; returns the fd. */
export function eventfd(initval = 0, flags = EFD_CLOEXEC | EFD_NONBLOCK): number {
  return check('eventfd', load().eventfd(initval, flags));
}

/** read(2) into `buf`; returns the byte count (0 at end of file). */
export function read(fd: number, buf: Uint8Array): number {
  return check('read', Number(load().read(fd, buf, buf.byteLength)));
}

/** write(2) of `buf`; returns the byte count written. */
export function write(fd: number, buf: Uint8Array): number {
  return check('write', Number(load().write(fd, buf, buf.byteLength)));
}
