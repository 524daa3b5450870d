/*
 * Protocol constants.
 *
 * intro(5):    "The tag NOTAG, value (ushort)~0, is used for version messages."
 *              "NOFID ... (u32int)~0"; walk(5): "nwname ... MAXWELEM (16)".
 * open(5):     Topen mode[1]: OREAD 0, OWRITE 1, ORDWR 2, OEXEC 3,
 *              OTRUNC 0x10, ORCLOSE 0x40.
 * stat(5):     qid.type bits QTDIR 0x80 ... and mode bits DMDIR 0x80000000 ...
 * Linux include/net/9p/9p.h: 9P2000.u mode bits (P9_DMSYMLINK ...), P9_OAPPEND,
 *              P9_NONUNAME, P9_IOHDRSZ, P9_DOTL_* open flags, P9_LOCK_TYPE_*.
 * diod protocol.md: P9_GETATTR_*, P9_SETATTR_*, P9_LOCK_* status and flags.
 *
 * Masks of 8-byte fields (P9_GETATTR_*) are bigint; the rest are number.
 * DMDIR and friends exceed 2^31: test them as `(mode & DMDIR) !== 0`.
 */

/** Bytes of size[4] type[1] tag[2]. */
export const HEADER_SIZE = 7;
/** The tag of Tversion/Rversion. */
export const NOTAG = 0xffff;
/** "No fid", e.g. the afid of a Tattach without authentication. */
export const NOFID = 0xffffffff;
/** 9P2000.u/.L n_uname (and stat n_uid...) meaning "no numeric id". */
export const NONUNAME = 0xffffffff;
/** The most path elements in one Twalk, and qids in one Rwalk. */
export const MAXWELEM = 16;
/** Room Linux leaves for a Tread/Twrite/Rread header below msize (P9_IOHDRSZ). */
export const IOHDRSZ = 24;
/** Room Linux leaves for an Rreaddir header below msize (P9_READDIRHDRSZ). */
export const READDIRHDRSZ = 24;

// Topen/Tcreate mode[1]
export const OREAD = 0x00;
export const OWRITE = 0x01;
export const ORDWR = 0x02;
export const OEXEC = 0x03;
export const OTRUNC = 0x10;
/** Close on exec: Plan 9 keeps it in the kernel; Linux names it P9_OREXEC. */
export const OCEXEC = 0x20;
export const ORCLOSE = 0x40;
/** 9P2000.u (Linux P9_OAPPEND). */
export const OAPPEND = 0x80;

// qid.type[1]
export const QTDIR = 0x80;
export const QTAPPEND = 0x40;
export const QTEXCL = 0x20;
export const QTMOUNT = 0x10;
export const QTAUTH = 0x08;
export const QTTMP = 0x04;
/** 9P2000.u */
export const QTSYMLINK = 0x02;
/** 9P2000.u */
export const QTLINK = 0x01;
export const QTFILE = 0x00;

// stat mode[4] and Tcreate perm[4]
export const DMDIR = 0x80000000;
export const DMAPPEND = 0x40000000;
export const DMEXCL = 0x20000000;
export const DMMOUNT = 0x10000000;
export const DMAUTH = 0x08000000;
export const DMTMP = 0x04000000;
/** 9P2000.u */
export const DMSYMLINK = 0x02000000;
/** 9P2000.u */
export const DMLINK = 0x01000000;
/** 9P2000.u */
export const DMDEVICE = 0x00800000;
/** 9P2000.u */
export const DMNAMEDPIPE = 0x00200000;
/** 9P2000.u */
export const DMSOCKET = 0x00100000;
/** 9P2000.u */
export const DMSETUID = 0x00080000;
/** 9P2000.u */
export const DMSETGID = 0x00040000;
/** 9P2000.u */
export const DMSETVTX = 0x00010000;
export const DMREAD = 0x4;
export const DMWRITE = 0x2;
export const DMEXEC = 0x1;

// 9P2000.L Tlopen/Tlcreate flags[4] (Linux open(2) flags, octal as in 9p.h)
export const P9_DOTL_RDONLY = 0o00000000;
export const P9_DOTL_WRONLY = 0o00000001;
export const P9_DOTL_RDWR = 0o00000002;
export const P9_DOTL_NOACCESS = 0o00000003;
export const P9_DOTL_CREATE = 0o00000100;
export const P9_DOTL_EXCL = 0o00000200;
export const P9_DOTL_NOCTTY = 0o00000400;
export const P9_DOTL_TRUNC = 0o00001000;
export const P9_DOTL_APPEND = 0o00002000;
export const P9_DOTL_NONBLOCK = 0o00004000;
export const P9_DOTL_DSYNC = 0o00010000;
export const P9_DOTL_FASYNC = 0o00020000;
export const P9_DOTL_DIRECT = 0o00040000;
export const P9_DOTL_LARGEFILE = 0o00100000;
export const P9_DOTL_DIRECTORY = 0o00200000;
export const P9_DOTL_NOFOLLOW = 0o00400000;
export const P9_DOTL_NOATIME = 0o01000000;
export const P9_DOTL_CLOEXEC = 0o02000000;
export const P9_DOTL_SYNC = 0o04000000;
/** Tunlinkat flags[4]: remove a directory. */
export const P9_DOTL_AT_REMOVEDIR = 0x200;

// Tgetattr request_mask[8] and Rgetattr valid[8]
export const P9_GETATTR_MODE = 0x00000001n;
export const P9_GETATTR_NLINK = 0x00000002n;
export const P9_GETATTR_UID = 0x00000004n;
export const P9_GETATTR_GID = 0x00000008n;
export const P9_GETATTR_RDEV = 0x00000010n;
export const P9_GETATTR_ATIME = 0x00000020n;
export const P9_GETATTR_MTIME = 0x00000040n;
export const P9_GETATTR_CTIME = 0x00000080n;
export const P9_GETATTR_INO = 0x00000100n;
export const P9_GETATTR_SIZE = 0x00000200n;
export const P9_GETATTR_BLOCKS = 0x00000400n;
export const P9_GETATTR_BTIME = 0x00000800n;
export const P9_GETATTR_GEN = 0x00001000n;
export const P9_GETATTR_DATA_VERSION = 0x00002000n;
/** Fields up to BLOCKS. */
export const P9_GETATTR_BASIC = 0x000007ffn;
export const P9_GETATTR_ALL = 0x00003fffn;

// Tsetattr valid[4]
export const P9_SETATTR_MODE = 0x00000001;
export const P9_SETATTR_UID = 0x00000002;
export const P9_SETATTR_GID = 0x00000004;
export const P9_SETATTR_SIZE = 0x00000008;
export const P9_SETATTR_ATIME = 0x00000010;
export const P9_SETATTR_MTIME = 0x00000020;
export const P9_SETATTR_CTIME = 0x00000040;
/** Without it, ATIME means "the server's current time". */
export const P9_SETATTR_ATIME_SET = 0x00000080;
/** Without it, MTIME means "the server's current time". */
export const P9_SETATTR_MTIME_SET = 0x00000100;

// Tlock/Tgetlock/Rgetlock type[1]
export const P9_LOCK_TYPE_RDLCK = 0;
export const P9_LOCK_TYPE_WRLCK = 1;
export const P9_LOCK_TYPE_UNLCK = 2;

// Rlock status[1]
export const P9_LOCK_SUCCESS = 0;
export const P9_LOCK_BLOCKED = 1;
export const P9_LOCK_ERROR = 2;
export const P9_LOCK_GRACE = 3;

// Tlock flags[4]
export const P9_LOCK_FLAGS_BLOCK = 1;
export const P9_LOCK_FLAGS_RECLAIM = 2;
