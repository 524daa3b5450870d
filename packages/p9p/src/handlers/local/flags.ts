/*
 * 9P2000.L open flags to this host's open(2) flags.
 *
 * diod protocol.md (lopen): "size[4] Tlopen tag[2] fid[4] flags[4] ...
 *   flags ... are the Linux open(2) flags" (P9_DOTL_*, Linux generic values).
 *
 * Only flags that are safe to honour for a guest pass through: access mode,
 * O_TRUNC, O_APPEND, O_DIRECTORY, O_DSYNC, O_SYNC. O_CREAT/O_EXCL belong to
 * Tlcreate; O_NOCTTY, O_DIRECT (buffer alignment), O_NOATIME (EPERM unless
 * owner), O_ASYNC are dropped. O_NOFOLLOW and O_NONBLOCK (a FIFO must not hang a
 * thread of the pool) are always added; libuv adds O_CLOEXEC itself.
 */
import { constants as C } from 'node:fs';
import {
  P9_DOTL_APPEND,
  P9_DOTL_DIRECTORY,
  P9_DOTL_DSYNC,
  P9_DOTL_EXCL,
  P9_DOTL_NOACCESS,
  P9_DOTL_SYNC,
  P9_DOTL_TRUNC,
} from '../../codec/constants.js';
import { ERRNO } from '../../channel/errno.js';
import { err } from './resolve.js';

/** Access mode and flags that change the file (O_TRUNC): what read-only refuses. */
export function mutates(flags: number): boolean {
  return (flags & 3) !== 0 || (flags & P9_DOTL_TRUNC) !== 0;
}

export function hostFlags(flags: number, create = false): number {
  const acc = flags & 3;
  if (acc === P9_DOTL_NOACCESS) throw err(ERRNO.EINVAL, 'bad access mode');
  let f = acc === 1 ? C.O_WRONLY : acc === 2 ? C.O_RDWR : C.O_RDONLY;
  if ((flags & P9_DOTL_TRUNC) !== 0) f |= C.O_TRUNC;
  if ((flags & P9_DOTL_APPEND) !== 0) f |= C.O_APPEND;
  if ((flags & P9_DOTL_DIRECTORY) !== 0) f |= C.O_DIRECTORY;
  if ((flags & P9_DOTL_DSYNC) !== 0) f |= C.O_DSYNC;
  // P9_DOTL_SYNC includes the O_DSYNC bit, as Linux's O_SYNC does.
  if ((flags & P9_DOTL_SYNC) === P9_DOTL_SYNC) f |= C.O_SYNC;
  if (create) {
    f |= C.O_CREAT;
    if ((flags & P9_DOTL_EXCL) !== 0) f |= C.O_EXCL;
  }
  return f | C.O_NOFOLLOW | C.O_NONBLOCK;
}
