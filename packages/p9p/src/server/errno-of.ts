/*
 * The errno a handler's failure is answered with.
 *
 * diod protocol.md (lerror): "ecode is a numerical Linux errno".
 * A RemoteError keeps its number; a P9Error or Node error whose `code` is an
 * errno name ('ENOENT', 'EMFILE') maps by name; anything else is EIO, so a
 * handler bug never leaks its text or a bogus number to the guest.
 */
import { ERRNO, errnoNumber } from '../channel/errno.js';
import { RemoteError } from '../channel/errors.js';

export function errnoOf(err: unknown): number {
  if (err instanceof RemoteError) return err.errno;
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    const code = err.code === 'ABORT_ERR' ? 'EINTR' : err.code;
    return errnoNumber(code) ?? ERRNO.EIO;
  }
  return ERRNO.EIO;
}
