/**
 * Errors the filesystem answers with, in moby/datakit's words.
 *
 * datakit vfs.ml / datakit.ml: `Vfs.error "not-fast-forward"`,
 *   `"invalid-hash %S: %s"`, `"Merge conflict: %s"`, `"Unknown command %S"`,
 *   `"Already exists"`, `"Directory is read-only"`, `"Attempt to seek in stream"`,
 *   `"Can't extend command file"`, `"conflicts file is not empty"`.
 *
 * 9P2000.L's Rlerror carries only an errno, so each error has one (its `code`, which
 * p9p's server answers with) and keeps datakit's text as its message; command files
 * also hand that text back to a read on the same fid.
 */
import { DatakitError } from '../errors.js';

export type Errno =
  | 'ENOENT'
  | 'EEXIST'
  | 'EISDIR'
  | 'ENOTDIR'
  | 'EROFS'
  | 'EPERM'
  | 'EINVAL'
  | 'ENOTEMPTY'
  | 'ESPIPE'
  | 'EFBIG'
  | 'ENOSPC'
  | 'ENAMETOOLONG'
  | 'ELOOP'
  | 'EBUSY'
  | 'EBADF'
  | 'EXDEV'
  | 'EINTR'
  | 'EOVERFLOW'
  | 'EIO';

/**
 * A filesystem error: `code` is the errno answered, `message` datakit's text. Made without a
 * stack trace: it becomes a 9P reply (a lookup of a name that is not there is one), and the
 * stack was most of what making one cost (p9p's RemoteError.reply, measured there).
 */
export class FsError extends DatakitError {
  declare readonly code: Errno;

  constructor(code: Errno, message: string, data: Record<string, unknown> = {}) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(code, message, data);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }
}

export const noEntry = (what?: string): FsError => new FsError('ENOENT', what === undefined ? 'No such file or directory' : `No such file or directory: ${what}`);
export const isDir = (): FsError => new FsError('EISDIR', 'Is a directory');
export const notDir = (): FsError => new FsError('ENOTDIR', 'Is not a directory');
export const readOnlyFile = (): FsError => new FsError('EROFS', 'Read-only file');
export const readOnlyDir = (): FsError => new FsError('EROFS', 'Directory is read-only');
export const alreadyExists = (): FsError => new FsError('EEXIST', 'Already exists');
export const dirOnly = (): FsError => new FsError('EPERM', 'Can only contain directories');
export const notFastForward = (): FsError => new FsError('EPERM', 'not-fast-forward', { reason: 'not-fast-forward' });
export const invalidHash = (hash: string, why: string): FsError =>
  new FsError('EINVAL', `invalid-hash ${JSON.stringify(hash)}: ${why}`, { reason: 'invalid-hash', hash });
export const mergeConflict = (msg: string): FsError => new FsError('EPERM', `Merge conflict: ${msg}`, { reason: 'merge-conflict' });
export const unknownCommand = (cmd: string): FsError => new FsError('EINVAL', `Unknown command ${JSON.stringify(cmd)}`, { reason: 'unknown-command' });
export const streamSeek = (): FsError => new FsError('ESPIPE', 'Attempt to seek in stream');
export const extendCommand = (): FsError => new FsError('EINVAL', "Can't extend command file");
export const badName = (name: string): FsError => new FsError('EINVAL', `Invalid name ${JSON.stringify(name)}`);
