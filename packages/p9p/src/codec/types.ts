/*
 * Message types and values of 9P2000, 9P2000.u and 9P2000.L.
 *
 * intro(5):   "Each message consists of a sequence of bytes. Two-, four-, and
 *              eight-byte fields hold unsigned integers represented in
 *              little-endian order."
 *             size[4] type[1] tag[2] ...
 *             qid: type[1] version[4] path[8]
 * stat(5):    size[2] type[2] dev[4] qid[13] mode[4] atime[4] mtime[4]
 *             length[8] name[s] uid[s] gid[s] muid[s]
 * 9P2000.u:   ... muid[s] extension[s] n_uid[4] n_gid[4] n_muid[4]
 * 9P2000.L (diod protocol.md, readdir): qid[13] offset[8] type[1] name[s]
 *
 * Type numbers are those of Linux include/net/9p/9p.h (enum p9_msg_t).
 * Fields of 8 bytes are bigint; fields of 1, 2 and 4 bytes are number.
 * Where a spec field is called `type` it is renamed (fsType, lockType),
 * because `type` names the message.
 */

export type Dialect = '9P2000' | '9P2000.u' | '9P2000.L';

/**
 * Message type numbers. Terror (106) and Tlerror (6) are reserved by the
 * specs ("not used"): no such message exists, and decode refuses them.
 */
export const MessageType = {
  Tlerror: 6,
  Rlerror: 7,
  Tstatfs: 8,
  Rstatfs: 9,
  Tlopen: 12,
  Rlopen: 13,
  Tlcreate: 14,
  Rlcreate: 15,
  Tsymlink: 16,
  Rsymlink: 17,
  Tmknod: 18,
  Rmknod: 19,
  Trename: 20,
  Rrename: 21,
  Treadlink: 22,
  Rreadlink: 23,
  Tgetattr: 24,
  Rgetattr: 25,
  Tsetattr: 26,
  Rsetattr: 27,
  Txattrwalk: 30,
  Rxattrwalk: 31,
  Txattrcreate: 32,
  Rxattrcreate: 33,
  Treaddir: 40,
  Rreaddir: 41,
  Tfsync: 50,
  Rfsync: 51,
  Tlock: 52,
  Rlock: 53,
  Tgetlock: 54,
  Rgetlock: 55,
  Tlink: 70,
  Rlink: 71,
  Tmkdir: 72,
  Rmkdir: 73,
  Trenameat: 74,
  Rrenameat: 75,
  Tunlinkat: 76,
  Runlinkat: 77,
  Tversion: 100,
  Rversion: 101,
  Tauth: 102,
  Rauth: 103,
  Tattach: 104,
  Rattach: 105,
  Terror: 106,
  Rerror: 107,
  Tflush: 108,
  Rflush: 109,
  Twalk: 110,
  Rwalk: 111,
  Topen: 112,
  Ropen: 113,
  Tcreate: 114,
  Rcreate: 115,
  Tread: 116,
  Rread: 117,
  Twrite: 118,
  Rwrite: 119,
  Tclunk: 120,
  Rclunk: 121,
  Tremove: 122,
  Rremove: 123,
  Tstat: 124,
  Rstat: 125,
  Twstat: 126,
  Rwstat: 127,
} as const;

/** A message type number (the `type[1]` byte). */
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** qid: type[1] version[4] path[8] */
export interface Qid {
  type: number;
  version: number;
  path: bigint;
}

/**
 * A directory entry of 9P2000 (stat(5)) and, with the optional fields, of
 * 9P2000.u. The leading size[2] is not stored: it is computed on encode.
 * Encoding for 9P2000 ignores the .u fields; encoding for 9P2000.u writes
 * '' and NONUNAME (~0) for any that are missing.
 */
export interface Stat {
  type: number;
  dev: number;
  qid: Qid;
  mode: number;
  atime: number;
  mtime: number;
  length: bigint;
  name: string;
  uid: string;
  gid: string;
  muid: string;
  /** 9P2000.u: symlink target, device "b 1 2", etc. */
  extension?: string;
  /** 9P2000.u */
  nUid?: number;
  /** 9P2000.u */
  nGid?: number;
  /** 9P2000.u */
  nMuid?: number;
}

/** A 9P2000.L readdir entry: qid[13] offset[8] type[1] name[s] */
export interface Dirent {
  qid: Qid;
  offset: bigint;
  /** Linux dirent d_type (DT_DIR = 4, DT_REG = 8, ...) */
  type: number;
  name: string;
}

// ---------------------------------------------------------------- 9P2000 --

/** size[4] Tversion tag[2] msize[4] version[s] */
export interface Tversion { type: 'Tversion'; tag: number; msize: number; version: string }
/** size[4] Rversion tag[2] msize[4] version[s] */
export interface Rversion { type: 'Rversion'; tag: number; msize: number; version: string }
/** size[4] Tauth tag[2] afid[4] uname[s] aname[s] (.u, .L: n_uname[4]) */
export interface Tauth { type: 'Tauth'; tag: number; afid: number; uname: string; aname: string; nUname?: number }
/** size[4] Rauth tag[2] aqid[13] */
export interface Rauth { type: 'Rauth'; tag: number; aqid: Qid }
/** size[4] Tattach tag[2] fid[4] afid[4] uname[s] aname[s] (.u, .L: n_uname[4]) */
export interface Tattach {
  type: 'Tattach';
  tag: number;
  fid: number;
  afid: number;
  uname: string;
  aname: string;
  nUname?: number;
}
/** size[4] Rattach tag[2] qid[13] */
export interface Rattach { type: 'Rattach'; tag: number; qid: Qid }
/** size[4] Rerror tag[2] ename[s] (.u: errno[4]) */
export interface Rerror { type: 'Rerror'; tag: number; ename: string; errno?: number }
/** size[4] Tflush tag[2] oldtag[2] */
export interface Tflush { type: 'Tflush'; tag: number; oldtag: number }
/** size[4] Rflush tag[2] */
export interface Rflush { type: 'Rflush'; tag: number }
/** size[4] Twalk tag[2] fid[4] newfid[4] nwname[2] nwname*(wname[s]) */
export interface Twalk { type: 'Twalk'; tag: number; fid: number; newfid: number; wnames: string[] }
/** size[4] Rwalk tag[2] nwqid[2] nwqid*(wqid[13]) */
export interface Rwalk { type: 'Rwalk'; tag: number; wqids: Qid[] }
/** size[4] Topen tag[2] fid[4] mode[1] */
export interface Topen { type: 'Topen'; tag: number; fid: number; mode: number }
/** size[4] Ropen tag[2] qid[13] iounit[4] */
export interface Ropen { type: 'Ropen'; tag: number; qid: Qid; iounit: number }
/** size[4] Tcreate tag[2] fid[4] name[s] perm[4] mode[1] (.u: extension[s]) */
export interface Tcreate {
  type: 'Tcreate';
  tag: number;
  fid: number;
  name: string;
  perm: number;
  mode: number;
  extension?: string;
}
/** size[4] Rcreate tag[2] qid[13] iounit[4] */
export interface Rcreate { type: 'Rcreate'; tag: number; qid: Qid; iounit: number }
/** size[4] Tread tag[2] fid[4] offset[8] count[4] */
export interface Tread { type: 'Tread'; tag: number; fid: number; offset: bigint; count: number }
/** size[4] Rread tag[2] count[4] data[count] (count is data.length) */
export interface Rread { type: 'Rread'; tag: number; data: Uint8Array }
/** size[4] Twrite tag[2] fid[4] offset[8] count[4] data[count] (count is data.length) */
export interface Twrite { type: 'Twrite'; tag: number; fid: number; offset: bigint; data: Uint8Array }
/** size[4] Rwrite tag[2] count[4] */
export interface Rwrite { type: 'Rwrite'; tag: number; count: number }
/** size[4] Tclunk tag[2] fid[4] */
export interface Tclunk { type: 'Tclunk'; tag: number; fid: number }
/** size[4] Rclunk tag[2] */
export interface Rclunk { type: 'Rclunk'; tag: number }
/** size[4] Tremove tag[2] fid[4] */
export interface Tremove { type: 'Tremove'; tag: number; fid: number }
/** size[4] Rremove tag[2] */
export interface Rremove { type: 'Rremove'; tag: number }
/** size[4] Tstat tag[2] fid[4] */
export interface Tstat { type: 'Tstat'; tag: number; fid: number }
/** size[4] Rstat tag[2] stat[n]  (n[2] precedes the stat, which has its own size[2]) */
export interface Rstat { type: 'Rstat'; tag: number; stat: Stat }
/** size[4] Twstat tag[2] fid[4] stat[n] */
export interface Twstat { type: 'Twstat'; tag: number; fid: number; stat: Stat }
/** size[4] Rwstat tag[2] */
export interface Rwstat { type: 'Rwstat'; tag: number }

// -------------------------------------------------------------- 9P2000.L --

/** size[4] Rlerror tag[2] ecode[4] */
export interface Rlerror { type: 'Rlerror'; tag: number; ecode: number }
/** size[4] Tstatfs tag[2] fid[4] */
export interface Tstatfs { type: 'Tstatfs'; tag: number; fid: number }
/**
 * size[4] Rstatfs tag[2] type[4] bsize[4] blocks[8] bfree[8] bavail[8]
 *                        files[8] ffree[8] fsid[8] namelen[4]
 */
export interface Rstatfs {
  type: 'Rstatfs';
  tag: number;
  fsType: number;
  bsize: number;
  blocks: bigint;
  bfree: bigint;
  bavail: bigint;
  files: bigint;
  ffree: bigint;
  fsid: bigint;
  namelen: number;
}
/** size[4] Tlopen tag[2] fid[4] flags[4] */
export interface Tlopen { type: 'Tlopen'; tag: number; fid: number; flags: number }
/** size[4] Rlopen tag[2] qid[13] iounit[4] */
export interface Rlopen { type: 'Rlopen'; tag: number; qid: Qid; iounit: number }
/** size[4] Tlcreate tag[2] fid[4] name[s] flags[4] mode[4] gid[4] */
export interface Tlcreate {
  type: 'Tlcreate';
  tag: number;
  fid: number;
  name: string;
  flags: number;
  mode: number;
  gid: number;
}
/** size[4] Rlcreate tag[2] qid[13] iounit[4] */
export interface Rlcreate { type: 'Rlcreate'; tag: number; qid: Qid; iounit: number }
/** size[4] Tsymlink tag[2] fid[4] name[s] symtgt[s] gid[4] */
export interface Tsymlink { type: 'Tsymlink'; tag: number; fid: number; name: string; symtgt: string; gid: number }
/** size[4] Rsymlink tag[2] qid[13] */
export interface Rsymlink { type: 'Rsymlink'; tag: number; qid: Qid }
/** size[4] Tmknod tag[2] dfid[4] name[s] mode[4] major[4] minor[4] gid[4] */
export interface Tmknod {
  type: 'Tmknod';
  tag: number;
  dfid: number;
  name: string;
  mode: number;
  major: number;
  minor: number;
  gid: number;
}
/** size[4] Rmknod tag[2] qid[13] */
export interface Rmknod { type: 'Rmknod'; tag: number; qid: Qid }
/** size[4] Trename tag[2] fid[4] dfid[4] name[s] */
export interface Trename { type: 'Trename'; tag: number; fid: number; dfid: number; name: string }
/** size[4] Rrename tag[2] */
export interface Rrename { type: 'Rrename'; tag: number }
/** size[4] Treadlink tag[2] fid[4] */
export interface Treadlink { type: 'Treadlink'; tag: number; fid: number }
/** size[4] Rreadlink tag[2] target[s] */
export interface Rreadlink { type: 'Rreadlink'; tag: number; target: string }
/** size[4] Tgetattr tag[2] fid[4] request_mask[8] */
export interface Tgetattr { type: 'Tgetattr'; tag: number; fid: number; requestMask: bigint }
/**
 * size[4] Rgetattr tag[2] valid[8] qid[13] mode[4] uid[4] gid[4] nlink[8]
 *                  rdev[8] size[8] blksize[8] blocks[8]
 *                  atime_sec[8] atime_nsec[8] mtime_sec[8] mtime_nsec[8]
 *                  ctime_sec[8] ctime_nsec[8] btime_sec[8] btime_nsec[8]
 *                  gen[8] data_version[8]
 */
export interface Rgetattr {
  type: 'Rgetattr';
  tag: number;
  valid: bigint;
  qid: Qid;
  mode: number;
  uid: number;
  gid: number;
  nlink: bigint;
  rdev: bigint;
  size: bigint;
  blksize: bigint;
  blocks: bigint;
  atimeSec: bigint;
  atimeNsec: bigint;
  mtimeSec: bigint;
  mtimeNsec: bigint;
  ctimeSec: bigint;
  ctimeNsec: bigint;
  btimeSec: bigint;
  btimeNsec: bigint;
  gen: bigint;
  dataVersion: bigint;
}
/**
 * size[4] Tsetattr tag[2] fid[4] valid[4] mode[4] uid[4] gid[4] size[8]
 *                  atime_sec[8] atime_nsec[8] mtime_sec[8] mtime_nsec[8]
 */
export interface Tsetattr {
  type: 'Tsetattr';
  tag: number;
  fid: number;
  valid: number;
  mode: number;
  uid: number;
  gid: number;
  size: bigint;
  atimeSec: bigint;
  atimeNsec: bigint;
  mtimeSec: bigint;
  mtimeNsec: bigint;
}
/** size[4] Rsetattr tag[2] */
export interface Rsetattr { type: 'Rsetattr'; tag: number }
/** size[4] Txattrwalk tag[2] fid[4] newfid[4] name[s] */
export interface Txattrwalk { type: 'Txattrwalk'; tag: number; fid: number; newfid: number; name: string }
/** size[4] Rxattrwalk tag[2] size[8] */
export interface Rxattrwalk { type: 'Rxattrwalk'; tag: number; size: bigint }
/** size[4] Txattrcreate tag[2] fid[4] name[s] attr_size[8] flags[4] */
export interface Txattrcreate {
  type: 'Txattrcreate';
  tag: number;
  fid: number;
  name: string;
  attrSize: bigint;
  flags: number;
}
/** size[4] Rxattrcreate tag[2] */
export interface Rxattrcreate { type: 'Rxattrcreate'; tag: number }
/** size[4] Treaddir tag[2] fid[4] offset[8] count[4] */
export interface Treaddir { type: 'Treaddir'; tag: number; fid: number; offset: bigint; count: number }
/** size[4] Rreaddir tag[2] count[4] data[count] (entries: see Dirent; count is data.length) */
export interface Rreaddir { type: 'Rreaddir'; tag: number; data: Uint8Array }
/** size[4] Tfsync tag[2] fid[4] datasync[4] */
export interface Tfsync { type: 'Tfsync'; tag: number; fid: number; datasync: number }
/** size[4] Rfsync tag[2] */
export interface Rfsync { type: 'Rfsync'; tag: number }
/** size[4] Tlock tag[2] fid[4] type[1] flags[4] start[8] length[8] proc_id[4] client_id[s] */
export interface Tlock {
  type: 'Tlock';
  tag: number;
  fid: number;
  lockType: number;
  flags: number;
  start: bigint;
  length: bigint;
  procId: number;
  clientId: string;
}
/** size[4] Rlock tag[2] status[1] */
export interface Rlock { type: 'Rlock'; tag: number; status: number }
/** size[4] Tgetlock tag[2] fid[4] type[1] start[8] length[8] proc_id[4] client_id[s] */
export interface Tgetlock {
  type: 'Tgetlock';
  tag: number;
  fid: number;
  lockType: number;
  start: bigint;
  length: bigint;
  procId: number;
  clientId: string;
}
/** size[4] Rgetlock tag[2] type[1] start[8] length[8] proc_id[4] client_id[s] */
export interface Rgetlock {
  type: 'Rgetlock';
  tag: number;
  lockType: number;
  start: bigint;
  length: bigint;
  procId: number;
  clientId: string;
}
/** size[4] Tlink tag[2] dfid[4] fid[4] name[s] */
export interface Tlink { type: 'Tlink'; tag: number; dfid: number; fid: number; name: string }
/** size[4] Rlink tag[2] */
export interface Rlink { type: 'Rlink'; tag: number }
/** size[4] Tmkdir tag[2] dfid[4] name[s] mode[4] gid[4] */
export interface Tmkdir { type: 'Tmkdir'; tag: number; dfid: number; name: string; mode: number; gid: number }
/** size[4] Rmkdir tag[2] qid[13] */
export interface Rmkdir { type: 'Rmkdir'; tag: number; qid: Qid }
/** size[4] Trenameat tag[2] olddirfid[4] oldname[s] newdirfid[4] newname[s] */
export interface Trenameat {
  type: 'Trenameat';
  tag: number;
  olddirfid: number;
  oldname: string;
  newdirfid: number;
  newname: string;
}
/** size[4] Rrenameat tag[2] */
export interface Rrenameat { type: 'Rrenameat'; tag: number }
/** size[4] Tunlinkat tag[2] dirfd[4] name[s] flags[4] */
export interface Tunlinkat { type: 'Tunlinkat'; tag: number; dirfd: number; name: string; flags: number }
/** size[4] Runlinkat tag[2] */
export interface Runlinkat { type: 'Runlinkat'; tag: number }

/** Messages of 9P2000 and 9P2000.u; version, auth, attach, flush, walk, read, write, clunk and remove are also .L. */
export type ClassicFcall =
  | Tversion | Rversion | Tauth | Rauth | Tattach | Rattach | Rerror | Tflush | Rflush
  | Twalk | Rwalk | Topen | Ropen | Tcreate | Rcreate | Tread | Rread | Twrite | Rwrite
  | Tclunk | Rclunk | Tremove | Rremove | Tstat | Rstat | Twstat | Rwstat;

/** Messages that only 9P2000.L has. */
export type DotlFcall =
  | Rlerror | Tstatfs | Rstatfs | Tlopen | Rlopen | Tlcreate | Rlcreate | Tsymlink | Rsymlink
  | Tmknod | Rmknod | Trename | Rrename | Treadlink | Rreadlink | Tgetattr | Rgetattr
  | Tsetattr | Rsetattr | Txattrwalk | Rxattrwalk | Txattrcreate | Rxattrcreate
  | Treaddir | Rreaddir | Tfsync | Rfsync | Tlock | Rlock | Tgetlock | Rgetlock
  | Tlink | Rlink | Tmkdir | Rmkdir | Trenameat | Rrenameat | Tunlinkat | Runlinkat;

/** Every message of the three dialects, discriminated by `type`. */
export type Fcall = ClassicFcall | DotlFcall;

/** The name of a message: 'Tversion', 'Rread', ... */
export type FcallType = Fcall['type'];

/** The message whose name is K: FcallOf<'Twrite'> is Twrite. */
export type FcallOf<K extends FcallType> = Extract<Fcall, { type: K }>;
