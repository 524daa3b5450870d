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

/** The Linux errno of a name ('ENOENT' -> 2); undefined when unknown. ENOTSUP is EOPNOTSUPP. */
export function errnoNumber(name: string): number | undefined {
  if (name === 'ENOTSUP') return ERRNO.EOPNOTSUPP;
  if (name === 'EWOULDBLOCK') return ERRNO.EAGAIN;
  return Object.hasOwn(ERRNO, name) ? ERRNO[name as ErrnoName] : undefined;
}
