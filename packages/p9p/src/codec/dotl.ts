/*
 * Messages of 9P2000.L (diod protocol.md; Linux net/9p/client.c format
 * strings in brackets: d = [4], q = [8], b = [1], s = string, Q = qid).
 *
 *   size[4] Rlerror      tag[2] ecode[4]
 *   size[4] Tstatfs      tag[2] fid[4]
 *   size[4] Rstatfs      tag[2] type[4] bsize[4] blocks[8] bfree[8] bavail[8]
 *                               files[8] ffree[8] fsid[8] namelen[4]      "ddqqqqqqd"
 *   size[4] Tlopen       tag[2] fid[4] flags[4]                            "dd"
 *   size[4] Rlopen       tag[2] qid[13] iounit[4]
 *   size[4] Tlcreate     tag[2] fid[4] name[s] flags[4] mode[4] gid[4]     "dsddg"
 *   size[4] Rlcreate     tag[2] qid[13] iounit[4]
 *   size[4] Tsymlink     tag[2] fid[4] name[s] symtgt[s] gid[4]            "dssg"
 *   size[4] Rsymlink     tag[2] qid[13]
 *   size[4] Tmknod       tag[2] dfid[4] name[s] mode[4] major[4] minor[4] gid[4]  "dsdddg"
 *   size[4] Rmknod       tag[2] qid[13]
 *   size[4] Trename      tag[2] fid[4] dfid[4] name[s]                     "dds"
 *   size[4] Rrename      tag[2]
 *   size[4] Treadlink    tag[2] fid[4]
 *   size[4] Rreadlink    tag[2] target[s]
 *   size[4] Tgetattr     tag[2] fid[4] request_mask[8]                     "dq"
 *   size[4] Rgetattr     tag[2] valid[8] qid[13] mode[4] uid[4] gid[4] nlink[8]
 *                               rdev[8] size[8] blksize[8] blocks[8]
 *                               atime_sec[8] atime_nsec[8] mtime_sec[8] mtime_nsec[8]
 *                               ctime_sec[8] ctime_nsec[8] btime_sec[8] btime_nsec[8]
 *                               gen[8] data_version[8]            "qQdugqqqqqqqqqqqqqqq"
 *   size[4] Tsetattr     tag[2] fid[4] valid[4] mode[4] uid[4] gid[4] size[8]
 *                               atime_sec[8] atime_nsec[8] mtime_sec[8] mtime_nsec[8]  "dI"
 *   size[4] Rsetattr     tag[2]
 *   size[4] Txattrwalk   tag[2] fid[4] newfid[4] name[s]                   "dds"
 *   size[4] Rxattrwalk   tag[2] size[8]
 *   size[4] Txattrcreate tag[2] fid[4] name[s] attr_size[8] flags[4]       "dsqd"
 *   size[4] Rxattrcreate tag[2]
 *   size[4] Treaddir     tag[2] fid[4] offset[8] count[4]                  "dqd"
 *   size[4] Rreaddir     tag[2] count[4] data[count]
 *   size[4] Tfsync       tag[2] fid[4] datasync[4]                         "dd"
 *   size[4] Rfsync       tag[2]
 *   size[4] Tlock        tag[2] fid[4] type[1] flags[4] start[8] length[8]
 *                               proc_id[4] client_id[s]                    "dbdqqds"
 *   size[4] Rlock        tag[2] status[1]
 *   size[4] Tgetlock     tag[2] fid[4] type[1] start[8] length[8] proc_id[4] client_id[s]  "dbqqds"
 *   size[4] Rgetlock     tag[2] type[1] start[8] length[8] proc_id[4] client_id[s]        "bqqds"
 *   size[4] Tlink        tag[2] dfid[4] fid[4] name[s]                     "dds"
 *   size[4] Rlink        tag[2]
 *   size[4] Tmkdir       tag[2] dfid[4] name[s] mode[4] gid[4]             "dsdg"
 *   size[4] Rmkdir       tag[2] qid[13]
 *   size[4] Trenameat    tag[2] olddirfid[4] oldname[s] newdirfid[4] newname[s]  "dsds"
 *   size[4] Rrenameat    tag[2]
 *   size[4] Tunlinkat    tag[2] dirfd[4] name[s] flags[4]                  "dsd"
 *   size[4] Runlinkat    tag[2]
 */
import { QID_SIZE, strSize } from './cursor.js';
import { IN_9P2000_L as L } from './layout.js';
import type { Layouts } from './layout.js';
import type { DotlFcall } from './types.js';

export const dotl: Layouts<DotlFcall['type']> = {
  Rlerror: {
    dialects: L,
    size: () => 4,
    write: (w, m) => w.u32(m.ecode, 'Rlerror.ecode'),
    read: (r, tag) => ({ type: 'Rlerror', tag, ecode: r.u32('Rlerror.ecode') }),
  },
  Tstatfs: {
    dialects: L,
    size: () => 4,
    write: (w, m) => w.u32(m.fid, 'Tstatfs.fid'),
    read: (r, tag) => ({ type: 'Tstatfs', tag, fid: r.u32('Tstatfs.fid') }),
  },
  Rstatfs: {
    dialects: L,
    size: () => 4 + 4 + 8 * 6 + 4,
    write(w, m) {
      w.u32(m.fsType, 'Rstatfs.fsType');
      w.u32(m.bsize, 'Rstatfs.bsize');
      w.u64(m.blocks, 'Rstatfs.blocks');
      w.u64(m.bfree, 'Rstatfs.bfree');
      w.u64(m.bavail, 'Rstatfs.bavail');
      w.u64(m.files, 'Rstatfs.files');
      w.u64(m.ffree, 'Rstatfs.ffree');
      w.u64(m.fsid, 'Rstatfs.fsid');
      w.u32(m.namelen, 'Rstatfs.namelen');
    },
    read: (r, tag) => ({
      type: 'Rstatfs',
      tag,
      fsType: r.u32('Rstatfs.fsType'),
      bsize: r.u32('Rstatfs.bsize'),
      blocks: r.u64('Rstatfs.blocks'),
      bfree: r.u64('Rstatfs.bfree'),
      bavail: r.u64('Rstatfs.bavail'),
      files: r.u64('Rstatfs.files'),
      ffree: r.u64('Rstatfs.ffree'),
      fsid: r.u64('Rstatfs.fsid'),
      namelen: r.u32('Rstatfs.namelen'),
    }),
  },
  Tlopen: {
    dialects: L,
    size: () => 8,
    write(w, m) {
      w.u32(m.fid, 'Tlopen.fid');
      w.u32(m.flags, 'Tlopen.flags');
    },
    read: (r, tag) => ({ type: 'Tlopen', tag, fid: r.u32('Tlopen.fid'), flags: r.u32('Tlopen.flags') }),
  },
  Rlopen: {
    dialects: L,
    size: () => QID_SIZE + 4,
    write(w, m) {
      w.qid(m.qid, 'Rlopen.qid');
      w.u32(m.iounit, 'Rlopen.iounit');
    },
    read: (r, tag) => ({ type: 'Rlopen', tag, qid: r.qid('Rlopen.qid'), iounit: r.u32('Rlopen.iounit') }),
  },
  Tlcreate: {
    dialects: L,
    size: (m) => 4 + strSize(m.name, 'Tlcreate.name') + 12,
    write(w, m) {
      w.u32(m.fid, 'Tlcreate.fid');
      w.str(m.name);
      w.u32(m.flags, 'Tlcreate.flags');
      w.u32(m.mode, 'Tlcreate.mode');
      w.u32(m.gid, 'Tlcreate.gid');
    },
    read: (r, tag) => ({
      type: 'Tlcreate',
      tag,
      fid: r.u32('Tlcreate.fid'),
      name: r.str('Tlcreate.name'),
      flags: r.u32('Tlcreate.flags'),
      mode: r.u32('Tlcreate.mode'),
      gid: r.u32('Tlcreate.gid'),
    }),
  },
  Rlcreate: {
    dialects: L,
    size: () => QID_SIZE + 4,
    write(w, m) {
      w.qid(m.qid, 'Rlcreate.qid');
      w.u32(m.iounit, 'Rlcreate.iounit');
    },
    read: (r, tag) => ({ type: 'Rlcreate', tag, qid: r.qid('Rlcreate.qid'), iounit: r.u32('Rlcreate.iounit') }),
  },
  Tsymlink: {
    dialects: L,
    size: (m) => 4 + strSize(m.name, 'Tsymlink.name') + strSize(m.symtgt, 'Tsymlink.symtgt') + 4,
    write(w, m) {
      w.u32(m.fid, 'Tsymlink.fid');
      w.str(m.name);
      w.str(m.symtgt);
      w.u32(m.gid, 'Tsymlink.gid');
    },
    read: (r, tag) => ({
      type: 'Tsymlink',
      tag,
      fid: r.u32('Tsymlink.fid'),
      name: r.str('Tsymlink.name'),
      symtgt: r.str('Tsymlink.symtgt'),
      gid: r.u32('Tsymlink.gid'),
    }),
  },
  Rsymlink: {
    dialects: L,
    size: () => QID_SIZE,
    write: (w, m) => w.qid(m.qid, 'Rsymlink.qid'),
    read: (r, tag) => ({ type: 'Rsymlink', tag, qid: r.qid('Rsymlink.qid') }),
  },
  Tmknod: {
    dialects: L,
    size: (m) => 4 + strSize(m.name, 'Tmknod.name') + 16,
    write(w, m) {
      w.u32(m.dfid, 'Tmknod.dfid');
      w.str(m.name);
      w.u32(m.mode, 'Tmknod.mode');
      w.u32(m.major, 'Tmknod.major');
      w.u32(m.minor, 'Tmknod.minor');
      w.u32(m.gid, 'Tmknod.gid');
    },
    read: (r, tag) => ({
      type: 'Tmknod',
      tag,
      dfid: r.u32('Tmknod.dfid'),
      name: r.str('Tmknod.name'),
      mode: r.u32('Tmknod.mode'),
      major: r.u32('Tmknod.major'),
      minor: r.u32('Tmknod.minor'),
      gid: r.u32('Tmknod.gid'),
    }),
  },
  Rmknod: {
    dialects: L,
    size: () => QID_SIZE,
    write: (w, m) => w.qid(m.qid, 'Rmknod.qid'),
    read: (r, tag) => ({ type: 'Rmknod', tag, qid: r.qid('Rmknod.qid') }),
  },
  Trename: {
    dialects: L,
    size: (m) => 8 + strSize(m.name, 'Trename.name'),
    write(w, m) {
      w.u32(m.fid, 'Trename.fid');
      w.u32(m.dfid, 'Trename.dfid');
      w.str(m.name);
    },
    read: (r, tag) => ({
      type: 'Trename',
      tag,
      fid: r.u32('Trename.fid'),
      dfid: r.u32('Trename.dfid'),
      name: r.str('Trename.name'),
    }),
  },
  Rrename: {
    dialects: L,
    size: () => 0,
    write() {},
    read: (_r, tag) => ({ type: 'Rrename', tag }),
  },
  Treadlink: {
    dialects: L,
    size: () => 4,
    write: (w, m) => w.u32(m.fid, 'Treadlink.fid'),
    read: (r, tag) => ({ type: 'Treadlink', tag, fid: r.u32('Treadlink.fid') }),
  },
  Rreadlink: {
    dialects: L,
    size: (m) => strSize(m.target, 'Rreadlink.target'),
    write: (w, m) => w.str(m.target),
    read: (r, tag) => ({ type: 'Rreadlink', tag, target: r.str('Rreadlink.target') }),
  },
  Tgetattr: {
    dialects: L,
    size: () => 12,
    write(w, m) {
      w.u32(m.fid, 'Tgetattr.fid');
      w.u64(m.requestMask, 'Tgetattr.requestMask');
    },
    read: (r, tag) => ({
      type: 'Tgetattr',
      tag,
      fid: r.u32('Tgetattr.fid'),
      requestMask: r.u64('Tgetattr.requestMask'),
    }),
  },
  Rgetattr: {
    dialects: L,
    size: () => 8 + QID_SIZE + 4 * 3 + 8 * 15,
    write(w, m) {
      w.u64(m.valid, 'Rgetattr.valid');
      w.qid(m.qid, 'Rgetattr.qid');
      w.u32(m.mode, 'Rgetattr.mode');
      w.u32(m.uid, 'Rgetattr.uid');
      w.u32(m.gid, 'Rgetattr.gid');
      w.u64(m.nlink, 'Rgetattr.nlink');
      w.u64(m.rdev, 'Rgetattr.rdev');
      w.u64(m.size, 'Rgetattr.size');
      w.u64(m.blksize, 'Rgetattr.blksize');
      w.u64(m.blocks, 'Rgetattr.blocks');
      w.u64(m.atimeSec, 'Rgetattr.atimeSec');
      w.u64(m.atimeNsec, 'Rgetattr.atimeNsec');
      w.u64(m.mtimeSec, 'Rgetattr.mtimeSec');
      w.u64(m.mtimeNsec, 'Rgetattr.mtimeNsec');
      w.u64(m.ctimeSec, 'Rgetattr.ctimeSec');
      w.u64(m.ctimeNsec, 'Rgetattr.ctimeNsec');
      w.u64(m.btimeSec, 'Rgetattr.btimeSec');
      w.u64(m.btimeNsec, 'Rgetattr.btimeNsec');
      w.u64(m.gen, 'Rgetattr.gen');
      w.u64(m.dataVersion, 'Rgetattr.dataVersion');
    },
    read: (r, tag) => ({
      type: 'Rgetattr',
      tag,
      valid: r.u64('Rgetattr.valid'),
      qid: r.qid('Rgetattr.qid'),
      mode: r.u32('Rgetattr.mode'),
      uid: r.u32('Rgetattr.uid'),
      gid: r.u32('Rgetattr.gid'),
      nlink: r.u64('Rgetattr.nlink'),
      rdev: r.u64('Rgetattr.rdev'),
      size: r.u64('Rgetattr.size'),
      blksize: r.u64('Rgetattr.blksize'),
      blocks: r.u64('Rgetattr.blocks'),
      atimeSec: r.u64('Rgetattr.atimeSec'),
      atimeNsec: r.u64('Rgetattr.atimeNsec'),
      mtimeSec: r.u64('Rgetattr.mtimeSec'),
      mtimeNsec: r.u64('Rgetattr.mtimeNsec'),
      ctimeSec: r.u64('Rgetattr.ctimeSec'),
      ctimeNsec: r.u64('Rgetattr.ctimeNsec'),
      btimeSec: r.u64('Rgetattr.btimeSec'),
      btimeNsec: r.u64('Rgetattr.btimeNsec'),
      gen: r.u64('Rgetattr.gen'),
      dataVersion: r.u64('Rgetattr.dataVersion'),
    }),
  },
  Tsetattr: {
    dialects: L,
    size: () => 4 * 5 + 8 * 5,
    write(w, m) {
      w.u32(m.fid, 'Tsetattr.fid');
      w.u32(m.valid, 'Tsetattr.valid');
      w.u32(m.mode, 'Tsetattr.mode');
      w.u32(m.uid, 'Tsetattr.uid');
      w.u32(m.gid, 'Tsetattr.gid');
      w.u64(m.size, 'Tsetattr.size');
      w.u64(m.atimeSec, 'Tsetattr.atimeSec');
      w.u64(m.atimeNsec, 'Tsetattr.atimeNsec');
      w.u64(m.mtimeSec, 'Tsetattr.mtimeSec');
      w.u64(m.mtimeNsec, 'Tsetattr.mtimeNsec');
    },
    read: (r, tag) => ({
      type: 'Tsetattr',
      tag,
      fid: r.u32('Tsetattr.fid'),
      valid: r.u32('Tsetattr.valid'),
      mode: r.u32('Tsetattr.mode'),
      uid: r.u32('Tsetattr.uid'),
      gid: r.u32('Tsetattr.gid'),
      size: r.u64('Tsetattr.size'),
      atimeSec: r.u64('Tsetattr.atimeSec'),
      atimeNsec: r.u64('Tsetattr.atimeNsec'),
      mtimeSec: r.u64('Tsetattr.mtimeSec'),
      mtimeNsec: r.u64('Tsetattr.mtimeNsec'),
    }),
  },
  Rsetattr: {
    dialects: L,
    size: () => 0,
    write() {},
    read: (_r, tag) => ({ type: 'Rsetattr', tag }),
  },
  Txattrwalk: {
    dialects: L,
    size: (m) => 8 + strSize(m.name, 'Txattrwalk.name'),
    write(w, m) {
      w.u32(m.fid, 'Txattrwalk.fid');
      w.u32(m.newfid, 'Txattrwalk.newfid');
      w.str(m.name);
    },
    read: (r, tag) => ({
      type: 'Txattrwalk',
      tag,
      fid: r.u32('Txattrwalk.fid'),
      newfid: r.u32('Txattrwalk.newfid'),
      name: r.str('Txattrwalk.name'),
    }),
  },
  Rxattrwalk: {
    dialects: L,
    size: () => 8,
    write: (w, m) => w.u64(m.size, 'Rxattrwalk.size'),
    read: (r, tag) => ({ type: 'Rxattrwalk', tag, size: r.u64('Rxattrwalk.size') }),
  },
  Txattrcreate: {
    dialects: L,
    size: (m) => 4 + strSize(m.name, 'Txattrcreate.name') + 8 + 4,
    write(w, m) {
      w.u32(m.fid, 'Txattrcreate.fid');
      w.str(m.name);
      w.u64(m.attrSize, 'Txattrcreate.attrSize');
      w.u32(m.flags, 'Txattrcreate.flags');
    },
    read: (r, tag) => ({
      type: 'Txattrcreate',
      tag,
      fid: r.u32('Txattrcreate.fid'),
      name: r.str('Txattrcreate.name'),
      attrSize: r.u64('Txattrcreate.attrSize'),
      flags: r.u32('Txattrcreate.flags'),
    }),
  },
  Rxattrcreate: {
    dialects: L,
    size: () => 0,
    write() {},
    read: (_r, tag) => ({ type: 'Rxattrcreate', tag }),
  },
  Treaddir: {
    dialects: L,
    size: () => 16,
    write(w, m) {
      w.u32(m.fid, 'Treaddir.fid');
      w.u64(m.offset, 'Treaddir.offset');
      w.u32(m.count, 'Treaddir.count');
    },
    read: (r, tag) => ({
      type: 'Treaddir',
      tag,
      fid: r.u32('Treaddir.fid'),
      offset: r.u64('Treaddir.offset'),
      count: r.u32('Treaddir.count'),
    }),
  },
  Rreaddir: {
    dialects: L,
    size: (m) => 4 + m.data.length,
    write: (w, m) => w.data(m.data, 'Rreaddir.count'),
    read: (r, tag) => ({ type: 'Rreaddir', tag, data: r.data('Rreaddir.data') }),
  },
  Tfsync: {
    dialects: L,
    size: () => 8,
    write(w, m) {
      w.u32(m.fid, 'Tfsync.fid');
      w.u32(m.datasync, 'Tfsync.datasync');
    },
    read: (r, tag) => ({ type: 'Tfsync', tag, fid: r.u32('Tfsync.fid'), datasync: r.u32('Tfsync.datasync') }),
  },
  Rfsync: {
    dialects: L,
    size: () => 0,
    write() {},
    read: (_r, tag) => ({ type: 'Rfsync', tag }),
  },
  Tlock: {
    dialects: L,
    size: (m) => 4 + 1 + 4 + 8 + 8 + 4 + strSize(m.clientId, 'Tlock.clientId'),
    write(w, m) {
      w.u32(m.fid, 'Tlock.fid');
      w.u8(m.lockType, 'Tlock.lockType');
      w.u32(m.flags, 'Tlock.flags');
      w.u64(m.start, 'Tlock.start');
      w.u64(m.length, 'Tlock.length');
      w.u32(m.procId, 'Tlock.procId');
      w.str(m.clientId);
    },
    read: (r, tag) => ({
      type: 'Tlock',
      tag,
      fid: r.u32('Tlock.fid'),
      lockType: r.u8('Tlock.lockType'),
      flags: r.u32('Tlock.flags'),
      start: r.u64('Tlock.start'),
      length: r.u64('Tlock.length'),
      procId: r.u32('Tlock.procId'),
      clientId: r.str('Tlock.clientId'),
    }),
  },
  Rlock: {
    dialects: L,
    size: () => 1,
    write: (w, m) => w.u8(m.status, 'Rlock.status'),
    read: (r, tag) => ({ type: 'Rlock', tag, status: r.u8('Rlock.status') }),
  },
  Tgetlock: {
    dialects: L,
    size: (m) => 4 + 1 + 8 + 8 + 4 + strSize(m.clientId, 'Tgetlock.clientId'),
    write(w, m) {
      w.u32(m.fid, 'Tgetlock.fid');
      w.u8(m.lockType, 'Tgetlock.lockType');
      w.u64(m.start, 'Tgetlock.start');
      w.u64(m.length, 'Tgetlock.length');
      w.u32(m.procId, 'Tgetlock.procId');
      w.str(m.clientId);
    },
    read: (r, tag) => ({
      type: 'Tgetlock',
      tag,
      fid: r.u32('Tgetlock.fid'),
      lockType: r.u8('Tgetlock.lockType'),
      start: r.u64('Tgetlock.start'),
      length: r.u64('Tgetlock.length'),
      procId: r.u32('Tgetlock.procId'),
      clientId: r.str('Tgetlock.clientId'),
    }),
  },
  Rgetlock: {
    dialects: L,
    size: (m) => 1 + 8 + 8 + 4 + strSize(m.clientId, 'Rgetlock.clientId'),
    write(w, m) {
      w.u8(m.lockType, 'Rgetlock.lockType');
      w.u64(m.start, 'Rgetlock.start');
      w.u64(m.length, 'Rgetlock.length');
      w.u32(m.procId, 'Rgetlock.procId');
      w.str(m.clientId);
    },
    read: (r, tag) => ({
      type: 'Rgetlock',
      tag,
      lockType: r.u8('Rgetlock.lockType'),
      start: r.u64('Rgetlock.start'),
      length: r.u64('Rgetlock.length'),
      procId: r.u32('Rgetlock.procId'),
      clientId: r.str('Rgetlock.clientId'),
    }),
  },
  Tlink: {
    dialects: L,
    size: (m) => 8 + strSize(m.name, 'Tlink.name'),
    write(w, m) {
      w.u32(m.dfid, 'Tlink.dfid');
      w.u32(m.fid, 'Tlink.fid');
      w.str(m.name);
    },
    read: (r, tag) => ({
      type: 'Tlink',
      tag,
      dfid: r.u32('Tlink.dfid'),
      fid: r.u32('Tlink.fid'),
      name: r.str('Tlink.name'),
    }),
  },
  Rlink: {
    dialects: L,
    size: () => 0,
    write() {},
    read: (_r, tag) => ({ type: 'Rlink', tag }),
  },
  Tmkdir: {
    dialects: L,
    size: (m) => 4 + strSize(m.name, 'Tmkdir.name') + 8,
    write(w, m) {
      w.u32(m.dfid, 'Tmkdir.dfid');
      w.str(m.name);
      w.u32(m.mode, 'Tmkdir.mode');
      w.u32(m.gid, 'Tmkdir.gid');
    },
    read: (r, tag) => ({
      type: 'Tmkdir',
      tag,
      dfid: r.u32('Tmkdir.dfid'),
      name: r.str('Tmkdir.name'),
      mode: r.u32('Tmkdir.mode'),
      gid: r.u32('Tmkdir.gid'),
    }),
  },
  Rmkdir: {
    dialects: L,
    size: () => QID_SIZE,
    write: (w, m) => w.qid(m.qid, 'Rmkdir.qid'),
    read: (r, tag) => ({ type: 'Rmkdir', tag, qid: r.qid('Rmkdir.qid') }),
  },
  Trenameat: {
    dialects: L,
    size: (m) => 4 + strSize(m.oldname, 'Trenameat.oldname') + 4 + strSize(m.newname, 'Trenameat.newname'),
    write(w, m) {
      w.u32(m.olddirfid, 'Trenameat.olddirfid');
      w.str(m.oldname);
      w.u32(m.newdirfid, 'Trenameat.newdirfid');
      w.str(m.newname);
    },
    read: (r, tag) => ({
      type: 'Trenameat',
      tag,
      olddirfid: r.u32('Trenameat.olddirfid'),
      oldname: r.str('Trenameat.oldname'),
      newdirfid: r.u32('Trenameat.newdirfid'),
      newname: r.str('Trenameat.newname'),
    }),
  },
  Rrenameat: {
    dialects: L,
    size: () => 0,
    write() {},
    read: (_r, tag) => ({ type: 'Rrenameat', tag }),
  },
  Tunlinkat: {
    dialects: L,
    size: (m) => 4 + strSize(m.name, 'Tunlinkat.name') + 4,
    write(w, m) {
      w.u32(m.dirfd, 'Tunlinkat.dirfd');
      w.str(m.name);
      w.u32(m.flags, 'Tunlinkat.flags');
    },
    read: (r, tag) => ({
      type: 'Tunlinkat',
      tag,
      dirfd: r.u32('Tunlinkat.dirfd'),
      name: r.str('Tunlinkat.name'),
      flags: r.u32('Tunlinkat.flags'),
    }),
  },
  Runlinkat: {
    dialects: L,
    size: () => 0,
    write() {},
    read: (_r, tag) => ({ type: 'Runlinkat', tag }),
  },
};
