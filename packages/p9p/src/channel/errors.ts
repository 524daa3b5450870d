/*
 * Errors of the channel and of the peer.
 *
 * intro(5): "... the server may respond to any other request with an Rerror."
 * diod protocol.md: "size[4] Rlerror tag[2] ecode[4]".
 * version(5): "msize ... the maximum length, in bytes, it will ever generate
 *   or expect to receive in a single 9P message."
 */
import { P9Error } from '../codec/errors.js';
import { ERRNO, errnoFromText, errnoName, errnoNumber } from './errno.js';

/** Why a channel or session stopped. Stable: code may branch on it. */
export type ChannelErrorReason =
  /** a size[4] prefix over the negotiated msize, or under 7 */
  | 'frame-too-large'
  | 'frame-too-small'
  /** the stream ended (EOF) */
  | 'eof'
  /** the stream emitted 'error' */
  | 'stream-error'
  /** close() was called on this side */
  | 'closed'
  /** version negotiation failed */
  | 'version'
  /** the peer broke the protocol (a reply to no request, the wrong reply type) */
  | 'protocol';

/** The connection is unusable. code 'ECONNRESET' (closed or broken) or 'EPROTO'. */
export class ChannelError extends P9Error {
  declare readonly data: Readonly<{ reason: ChannelErrorReason; cause?: unknown }>;

  constructor(reason: ChannelErrorReason, message: string, cause?: unknown) {
    const code = reason === 'eof' || reason === 'stream-error' || reason === 'closed' ? 'ECONNRESET' : 'EPROTO';
    super(code, message, cause === undefined ? { reason } : { reason, cause });
  }

  get reason(): ChannelErrorReason {
    return this.data.reason;
  }
}

/**
 * An error the peer answered with (Rlerror, or Rerror of 9P2000/.u).
 * `code` is the errno's name ('ENOENT'), `errno` its Linux number.
 */
export class RemoteError extends P9Error {
  declare readonly data: Readonly<{ errno: number; ename?: string }>;

  constructor(errno: number, message?: string, ename?: string) {
    const name = errnoName(errno);
    super(name, message ?? (ename !== undefined && ename !== '' ? `${name}: ${ename}` : name), ename === undefined ? { errno } : { errno, ename });
  }

  /**
   * An error made to be answered (Rlerror, Rerror), without a stack trace: a server
   * answers many (a lookup of a name that is not there is one), and capturing the stack is
   * most of what making one costs (~4 of ~5 us measured).
   */
  static reply(errno: number, message?: string, ename?: string): RemoteError {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return new RemoteError(errno, message, ename);
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  get errno(): number {
    return this.data.errno;
  }

  /** 'ENOENT', ... ('E<n>' for a number not in the table). */
  get errnoName(): string {
    return this.code;
  }

  /**
   * From Rlerror's ecode[4]. Made without a stack trace (as `reply`): one made where a
   * reply is read would show the connection's read path, not the caller's code.
   */
  static fromLerror(ecode: number): RemoteError {
    return RemoteError.reply(ecode === 0 ? ERRNO.EIO : ecode);
  }

  /** From Rerror's ename[s] (and 9P2000.u errno[4]). */
  static fromRerror(ename: string, errno?: number): RemoteError {
    let n = errno !== undefined && errno !== 0 && errno !== 0xffffffff ? errno : undefined;
    n ??= errnoFromEname(ename);
    return RemoteError.reply(n, undefined, ename); // as fromLerror
  }
}

/** Plan 9 servers send strings; map the usual ones to an errno (EIO otherwise). */
function errnoFromEname(ename: string): number {
  const byName = errnoNumber(ename.trim().toUpperCase()) ?? errnoFromText(ename);
  if (byName !== undefined) return byName;
  const e = ename.toLowerCase();
  if (e.includes('not found') || e.includes('does not exist') || e.includes('no such')) return ERRNO.ENOENT;
  if (e.includes('permission')) return ERRNO.EACCES;
  if (e.includes('exists')) return ERRNO.EEXIST;
  if (e.includes('not a directory')) return ERRNO.ENOTDIR;
  if (e.includes('is a directory')) return ERRNO.EISDIR;
  if (e.includes('not empty')) return ERRNO.ENOTEMPTY;
  return ERRNO.EIO;
}

/** The request was cancelled by its AbortSignal (and the server answered Rflush). code 'ABORT_ERR'. */
export class AbortError extends P9Error {
  constructor(message = 'the request was aborted', cause?: unknown) {
    super('ABORT_ERR', message, cause === undefined ? {} : { cause });
  }
}
