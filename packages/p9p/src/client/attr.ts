/*
 * Attribute shapes of the client helpers.
 *
 * diod protocol.md (getattr): "size[4] Rgetattr tag[2] valid[8] qid[13]
 *   mode[4] uid[4] gid[4] nlink[8] rdev[8] size[8] blksize[8] blocks[8]
 *   atime_sec[8] atime_nsec[8] mtime_sec[8] ... data_version[8]"
 * (setattr): "size[4] Tsetattr tag[2] fid[4] valid[4] mode[4] uid[4] gid[4]
 *   size[8] atime_sec[8] atime_nsec[8] mtime_sec[8] mtime_nsec[8]"
 * (statfs): "size[4] Rstatfs tag[2] type[4] bsize[4] blocks[8] bfree[8]
 *   bavail[8] files[8] ffree[8] fsid[8] namelen[4]"
 */
import {
  P9_SETATTR_ATIME,
  P9_SETATTR_ATIME_SET,
  P9_SETATTR_GID,
  P9_SETATTR_MODE,
  P9_SETATTR_MTIME,
  P9_SETATTR_MTIME_SET,
  P9_SETATTR_SIZE,
  P9_SETATTR_UID,
} from '../codec/constants.js';
import type { Rgetattr, Rstatfs, Tsetattr } from '../codec/types.js';

/** What stat() returns: Rgetattr's fields. */
export type Attr = Omit<Rgetattr, 'type' | 'tag'>;
/** What statfs() returns. */
export type Statfs = Omit<Rstatfs, 'type' | 'tag'>;

/** A time to set: a Date, or 'now' (the server's clock). */
export type TimeSpec = Date | 'now';

/** The attributes setattr() may change; absent ones are left alone. */
export interface SetAttr {
  /** Permission bits (and setuid/setgid/sticky); the file type is kept. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Truncate or extend to this length. */
  size?: number | bigint;
  atime?: TimeSpec;
  mtime?: TimeSpec;
}

function time(t: TimeSpec | undefined): { sec: bigint; nsec: bigint } {
  if (t === undefined || t === 'now') return { sec: 0n, nsec: 0n };
  const ms = BigInt(t.getTime());
  return { sec: ms / 1000n, nsec: (ms % 1000n) * 1_000_000n };
}

/** The Tsetattr fields (less type, tag and fid) for `a`. */
export function setattrFields(a: SetAttr): Omit<Tsetattr, 'type' | 'tag' | 'fid'> {
  let valid = 0;
  if (a.mode !== undefined) valid |= P9_SETATTR_MODE;
  if (a.uid !== undefined) valid |= P9_SETATTR_UID;
  if (a.gid !== undefined) valid |= P9_SETATTR_GID;
  if (a.size !== undefined) valid |= P9_SETATTR_SIZE;
  if (a.atime !== undefined) valid |= P9_SETATTR_ATIME | (a.atime === 'now' ? 0 : P9_SETATTR_ATIME_SET);
  if (a.mtime !== undefined) valid |= P9_SETATTR_MTIME | (a.mtime === 'now' ? 0 : P9_SETATTR_MTIME_SET);
  const at = time(a.atime);
  const mt = time(a.mtime);
  return {
    valid,
    mode: a.mode ?? 0,
    uid: a.uid ?? 0,
    gid: a.gid ?? 0,
    size: a.size === undefined ? 0n : BigInt(a.size),
    atimeSec: at.sec,
    atimeNsec: at.nsec,
    mtimeSec: mt.sec,
    mtimeNsec: mt.nsec,
  };
}
