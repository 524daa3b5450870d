/*
 * Linux errno numbers, as 9P2000.L carries them.
 *
 * diod protocol.md (lerror): "size[4] Rlerror tag[2] ecode[4]
 *   ... ecode is a numerical Linux errno."
 * 9P2000.u (Linux net/9p/error.c): "Rerror tag[2] ename[s] errno[4]".
 *
 * The numbers are those of Linux asm-generic/errno-base.h and errno.h, which
 * every Linux guest uses whatever the host's own numbering.
 */

export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ETXTBSY: 26,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EMLINK: 31,
  EPIPE: 32,
  ERANGE: 34,
  EDEADLK: 35,
  ENAMETOOLONG: 36,
  ENOLCK: 37,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ELOOP: 40,
  ENODATA: 61,
  EPROTO: 71,
  EBADMSG: 74,
  EOVERFLOW: 75,
  EOPNOTSUPP: 95,
  ECONNRESET: 104,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  ESTALE: 116,
  EDQUOT: 122,
  ECANCELED: 125,
} as const;

export type ErrnoName = keyof typeof ERRNO;

const NAMES = new Map<number, ErrnoName>(
  (Object.entries(ERRNO) as [ErrnoName, number][]).map(([name, n]) => [n, name]),
);

/** The name of a Linux errno ('ENOENT' for 2); 'E<n>' for one not in the table. */
export function errnoName(errno: number): string {
  return NAMES.get(errno) ?? `E${errno}`;
}

/**
 * strerror(3) texts of glibc, which Linux's 9P2000 client (net/9p/error.c)
 * maps back to errno numbers: what a server puts in Rerror's ename[s].
 */
const TEXTS: Readonly<Record<number, string>> = {
  [ERRNO.EPERM]: 'Operation not permitted',
  [ERRNO.ENOENT]: 'No such file or directory',
  [ERRNO.ESRCH]: 'No such process',
  [ERRNO.EINTR]: 'Interrupted system call',
  [ERRNO.EIO]: 'Input/output error',
  [ERRNO.ENXIO]: 'No such device or address',
  [ERRNO.E2BIG]: 'Argument list too long',
  [ERRNO.EBADF]: 'Bad file descriptor',
  [ERRNO.EAGAIN]: 'Resource temporarily unavailable',
  [ERRNO.ENOMEM]: 'Cannot allocate memory',
  [ERRNO.EACCES]: 'Permission denied',
  [ERRNO.EFAULT]: 'Bad address',
  [ERRNO.EBUSY]: 'Device or resource busy',
  [ERRNO.EEXIST]: 'File exists',
  [ERRNO.EXDEV]: 'Invalid cross-device link',
  [ERRNO.ENODEV]: 'No such device',
  [ERRNO.ENOTDIR]: 'Not a directory',
  [ERRNO.EISDIR]: 'Is a directory',
  [ERRNO.EINVAL]: 'Invalid argument',
  [ERRNO.ENFILE]: 'Too many open files in system',
  [ERRNO.EMFILE]: 'Too many open files',
  [ERRNO.ETXTBSY]: 'Text file busy',
  [ERRNO.EFBIG]: 'File too large',
  [ERRNO.ENOSPC]: 'No space left on device',
  [ERRNO.ESPIPE]: 'Illegal seek',
  [ERRNO.EROFS]: 'Read-only file system',
  [ERRNO.EMLINK]: 'Too many links',
  [ERRNO.EPIPE]: 'Broken pipe',
  [ERRNO.ERANGE]: 'Numerical result out of range',
  [ERRNO.EDEADLK]: 'Resource deadlock avoided',
  [ERRNO.ENAMETOOLONG]: 'File name too long',
  [ERRNO.ENOLCK]: 'No locks available',
  [ERRNO.ENOSYS]: 'Function not implemented',
  [ERRNO.ENOTEMPTY]: 'Directory not empty',
  [ERRNO.ELOOP]: 'Too many levels of symbolic links',
  [ERRNO.ENODATA]: 'No data available',
  [ERRNO.EPROTO]: 'Protocol error',
  [ERRNO.EBADMSG]: 'Bad message',
  [ERRNO.EOVERFLOW]: 'Value too large for defined data type',
  [ERRNO.EOPNOTSUPP]: 'Operation not supported',
  [ERRNO.ECONNRESET]: 'Connection reset by peer',
  [ERRNO.ETIMEDOUT]: 'Connection timed out',
  [ERRNO.ECONNREFUSED]: 'Connection refused',
  [ERRNO.ESTALE]: 'Stale file handle',
  [ERRNO.EDQUOT]: 'Disk quota exceeded',
  [ERRNO.ECANCELED]: 'Operation canceled',
};

const BY_TEXT = new Map<string, number>(Object.entries(TEXTS).map(([n, t]) => [t.toLowerCase(), Number(n)]));

/** The strerror text of a Linux errno ('No such file or directory' for 2); 'Error <n>' for one not in the table. */
export function errnoText(errno: number): string {
  return TEXTS[errno] ?? `Error ${errno}`;
}

/** The errno whose strerror text is exactly `text` (case-insensitive); undefined otherwise. */
export function errnoFromText(text: string): number | undefined {
  return BY_TEXT.get(text.trim().toLowerCase());
}

/** The Linux errno of a name ('ENOENT' -> 2); undefined when unknown. ENOTSUP is EOPNOTSUPP. */
export function errnoNumber(name: string): number | undefined {
  if (name === 'ENOTSUP') return ERRNO.EOPNOTSUPP;
  if (name === 'EWOULDBLOCK') return ERRNO.EAGAIN;
  return Object.hasOwn(ERRNO, name) ? ERRNO[name as ErrnoName] : undefined;
}
