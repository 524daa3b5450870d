// Golden bytes for the messages only 9P2000.L has, written by hand from diod's
// protocol.md and the format strings of Linux net/9p/client.c. Several come
// from diod's documented sample session (protocol.md, "Sample Session").
import { describe, expect, it } from 'vitest';
import { decode } from './decode.js';
import { encode, encodeInto, encodedLength } from './encode.js';
import { ProtocolError } from './errors.js';
import { fromHex as hex, toHex } from './hex.js';
import type { DotlFcall } from './types.js';

interface Golden {
  msg: DotlFcall;
  bytes: Uint8Array;
}

/** The two entries diod's protocol.md shows at the start of an Rreaddir ("." and ".."). */
const DIOD_READDIR = hex(
  '80', '00000000', 'ac1f2c0000000000', // qid[13]: QTDIR, version 0, path 0x2c1fac
  '0100000000000000', //                   offset[8]=1
  '04', //                                 type[1]=DT_DIR
  '0100', '2e', //                         name[s]="."
  '80', '00000000', 'ffff250000000000', // qid[13]: QTDIR, version 0, path 0x25ffff
  '2658ea0000000000', //                   offset[8]=0xea5826
  '04', //                                 type[1]=DT_DIR
  '0200', '2e2e', //                       name[s]=".."
);

const goldens: Golden[] = [
  {
    msg: { type: 'Rlerror', tag: 1, ecode: 2 },
    bytes: hex(
      '0b000000', //                  size[4]=11
      '07', //                        type[1]=Rlerror(7)
      '0100', //                      tag[2]=1
      '02000000', //                  ecode[4]=2 (ENOENT)
    ),
  },
  {
    msg: { type: 'Tstatfs', tag: 1, fid: 1 },
    bytes: hex(
      '0b000000', //                  size[4]=11
      '08', //                        type[1]=Tstatfs(8)
      '0100', //                      tag[2]=1
      '01000000', //                  fid[4]=1
    ),
  },
  {
    msg: {
      type: 'Rstatfs',
      tag: 1,
      fsType: 0x01021994,
      bsize: 4096,
      blocks: 1000n,
      bfree: 500n,
      bavail: 400n,
      files: 100n,
      ffree: 50n,
      fsid: 0x0123456789abcdefn,
      namelen: 255,
    },
    bytes: hex(
      '43000000', //                  size[4]=67
      '09', //                        type[1]=Rstatfs(9)
      '0100', //                      tag[2]=1
      '94190201', //                  type[4]=0x01021994 (TMPFS_MAGIC)
      '00100000', //                  bsize[4]=4096
      'e803000000000000', //          blocks[8]=1000
      'f401000000000000', //          bfree[8]=500
      '9001000000000000', //          bavail[8]=400
      '6400000000000000', //          files[8]=100
      '3200000000000000', //          ffree[8]=50
      'efcdab8967452301', //          fsid[8]=0x0123456789abcdef
      'ff000000', //                  namelen[4]=255
    ),
  },
  {
    // diod: P9_TLOPEN tag 1 fid 5 mode 0100000
    msg: { type: 'Tlopen', tag: 1, fid: 5, flags: 0o100000 },
    bytes: hex(
      '0f000000', //                  size[4]=15
      '0c', //                        type[1]=Tlopen(12)
      '0100', //                      tag[2]=1
      '05000000', //                  fid[4]=5
      '00800000', //                  flags[4]=0100000 (O_LARGEFILE)
    ),
  },
  {
    // diod: P9_RLOPEN tag 1 qid (00000000002c1de4 0 '') iounit 0
    msg: { type: 'Rlopen', tag: 1, qid: { type: 0, version: 0, path: 0x2c1de4n }, iounit: 0 },
    bytes: hex(
      '18000000', //                  size[4]=24
      '0d', //                        type[1]=Rlopen(13)
      '0100', //                      tag[2]=1
      '00', '00000000', 'e41d2c0000000000', // qid[13]: QTFILE, version 0, path 0x2c1de4
      '00000000', //                  iounit[4]=0
    ),
  },
  {
    // diod: P9_TLCREATE tag 1 fid 2 name 'foo' flags 0x8241 mode 0100644 gid 500
    msg: { type: 'Tlcreate', tag: 1, fid: 2, name: 'foo', flags: 0x8241, mode: 0o100644, gid: 500 },
    bytes: hex(
      '1c000000', //                  size[4]=28
      '0e', //                        type[1]=Tlcreate(14)
      '0100', //                      tag[2]=1
      '02000000', //                  fid[4]=2
      '0300', '666f6f', //            name[s]="foo"
      '41820000', //                  flags[4]=0x8241
      'a4810000', //                  mode[4]=0100644
      'f4010000', //                  gid[4]=500
    ),
  },
  {
    // diod: P9_RLCREATE tag 1 qid (00000000002c1bd1 0 '') iounit 4096
    msg: { type: 'Rlcreate', tag: 1, qid: { type: 0, version: 0, path: 0x2c1bd1n }, iounit: 4096 },
    bytes: hex(
      '18000000', //                  size[4]=24
      '0f', //                        type[1]=Rlcreate(15)
      '0100', //                      tag[2]=1
      '00', '00000000', 'd11b2c0000000000', // qid[13]: QTFILE, version 0, path 0x2c1bd1
      '00100000', //                  iounit[4]=4096
    ),
  },
  {
    // diod: P9_TSYMLINK tag 1 fid 1 name 'newsymlink' symtgt '/tmp/9/newdir' gid 500
    msg: { type: 'Tsymlink', tag: 1, fid: 1, name: 'newsymlink', symtgt: '/tmp/9/newdir', gid: 500 },
    bytes: hex(
      '2a000000', //                  size[4]=42
      '10', //                        type[1]=Tsymlink(16)
      '0100', //                      tag[2]=1
      '01000000', //                  fid[4]=1
      '0a00', '6e657773796d6c696e6b', // name[s]="newsymlink"
      '0d00', '2f746d702f392f6e6577646972', // symtgt[s]="/tmp/9/newdir"
      'f4010000', //                  gid[4]=500
    ),
  },
  {
    // diod: P9_RSYMLINK tag 1 qid (00000000002c1de3 0 'L')
    msg: { type: 'Rsymlink', tag: 1, qid: { type: 0x02, version: 0, path: 0x2c1de3n } },
    bytes: hex(
      '14000000', //                  size[4]=20
      '11', //                        type[1]=Rsymlink(17)
      '0100', //                      tag[2]=1
      '02', '00000000', 'e31d2c0000000000', // qid[13]: QTSYMLINK, version 0, path 0x2c1de3
    ),
  },
  {
    msg: { type: 'Tmknod', tag: 1, dfid: 1, name: 'null', mode: 0o020666, major: 1, minor: 3, gid: 500 },
    bytes: hex(
      '21000000', //                  size[4]=33
      '12', //                        type[1]=Tmknod(18)
      '0100', //                      tag[2]=1
      '01000000', //                  dfid[4]=1
      '0400', '6e756c6c', //          name[s]="null"
      'b6210000', //                  mode[4]=S_IFCHR|0666
      '01000000', //                  major[4]=1
      '03000000', //                  minor[4]=3
      'f4010000', //                  gid[4]=500
    ),
  },
  {
    msg: { type: 'Rmknod', tag: 1, qid: { type: 0, version: 0, path: 0x99n } },
    bytes: hex(
      '14000000', //                  size[4]=20
      '13', //                        type[1]=Rmknod(19)
      '0100', //                      tag[2]=1
      '00', '00000000', '9900000000000000', // qid[13]: QTFILE, version 0, path 0x99
    ),
  },
  {
    msg: { type: 'Trename', tag: 1, fid: 3, dfid: 1, name: 'bar' },
    bytes: hex(
      '14000000', //                  size[4]=20
      '14', //                        type[1]=Trename(20)
      '0100', //                      tag[2]=1
      '03000000', //                  fid[4]=3
      '01000000', //                  dfid[4]=1
      '0300', '626172', //            name[s]="bar"
    ),
  },
  {
    msg: { type: 'Rrename', tag: 1 },
    bytes: hex(
      '07000000', //                  size[4]=7
      '15', //                        type[1]=Rrename(21)
      '0100', //                      tag[2]=1
    ),
  },
  {
    msg: { type: 'Treadlink', tag: 1, fid: 4 },
    bytes: hex(
      '0b000000', //                  size[4]=11
      '16', //                        type[1]=Treadlink(22)
      '0100', //                      tag[2]=1
      '04000000', //                  fid[4]=4
    ),
  },
  {
    // diod: P9_RREADLINK tag 1 target '/tmp/9/newdir'
    msg: { type: 'Rreadlink', tag: 1, target: '/tmp/9/newdir' },
    bytes: hex(
      '16000000', //                  size[4]=22
      '17', //                        type[1]=Rreadlink(23)
      '0100', //                      tag[2]=1
      '0d00', '2f746d702f392f6e6577646972', // target[s]="/tmp/9/newdir"
    ),
  },
  {
    // diod: P9_TGETATTR tag 1 fid 0 request_mask 0x7ff
    msg: { type: 'Tgetattr', tag: 1, fid: 0, requestMask: 0x7ffn },
    bytes: hex(
      '13000000', //                  size[4]=19
      '18', //                        type[1]=Tgetattr(24)
      '0100', //                      tag[2]=1
      '00000000', //                  fid[4]=0
      'ff07000000000000', //          request_mask[8]=P9_GETATTR_BASIC
    ),
  },
  {
    msg: {
      type: 'Rgetattr',
      tag: 1,
      valid: 0x7ffn,
      qid: { type: 0x80, version: 0, path: 0x2c1facn },
      mode: 0o40755,
      uid: 500,
      gid: 500,
      nlink: 56n,
      rdev: 0x803n,
      size: 6n,
      blksize: 4096n,
      blocks: 8n,
      atimeSec: 1000000001n,
      atimeNsec: 11n,
      mtimeSec: 1000000002n,
      mtimeNsec: 12n,
      ctimeSec: 1000000003n,
      ctimeNsec: 13n,
      btimeSec: 1000000004n,
      btimeNsec: 14n,
      gen: 15n,
      dataVersion: 16n,
    },
    bytes: hex(
      'a0000000', //                  size[4]=160
      '19', //                        type[1]=Rgetattr(25)
      '0100', //                      tag[2]=1
      'ff07000000000000', //          valid[8]=0x7ff
      '80', '00000000', 'ac1f2c0000000000', // qid[13]: QTDIR, version 0, path 0x2c1fac
      'ed410000', //                  mode[4]=040755
      'f4010000', //                  uid[4]=500
      'f4010000', //                  gid[4]=500
      '3800000000000000', //          nlink[8]=56
      '0308000000000000', //          rdev[8]=0x803
      '0600000000000000', //          size[8]=6
      '0010000000000000', //          blksize[8]=4096
      '0800000000000000', //          blocks[8]=8
      '01ca9a3b00000000', //          atime_sec[8]=1000000001
      '0b00000000000000', //          atime_nsec[8]=11
      '02ca9a3b00000000', //          mtime_sec[8]=1000000002
      '0c00000000000000', //          mtime_nsec[8]=12
      '03ca9a3b00000000', //          ctime_sec[8]=1000000003
      '0d00000000000000', //          ctime_nsec[8]=13
      '04ca9a3b00000000', //          btime_sec[8]=1000000004
      '0e00000000000000', //          btime_nsec[8]=14
      '0f00000000000000', //          gen[8]=15
      '1000000000000000', //          data_version[8]=16
    ),
  },
  {
    // diod: P9_TSETATTR tag 1 fid 2 valid 0x41 mode 040000 ...
    msg: {
      type: 'Tsetattr',
      tag: 1,
      fid: 2,
      valid: 0x41,
      mode: 0o40000,
      uid: 1000,
      gid: 100,
      size: 0x10000n,
      atimeSec: 7n,
      atimeNsec: 8n,
      mtimeSec: 9n,
      mtimeNsec: 10n,
    },
    bytes: hex(
      '43000000', //                  size[4]=67
      '1a', //                        type[1]=Tsetattr(26)
      '0100', //                      tag[2]=1
      '02000000', //                  fid[4]=2
      '41000000', //                  valid[4]=P9_SETATTR_MODE|P9_SETATTR_CTIME
      '00400000', //                  mode[4]=040000
      'e8030000', //                  uid[4]=1000
      '64000000', //                  gid[4]=100
      '0000010000000000', //          size[8]=65536
      '0700000000000000', //          atime_sec[8]=7
      '0800000000000000', //          atime_nsec[8]=8
      '0900000000000000', //          mtime_sec[8]=9
      '0a00000000000000', //          mtime_nsec[8]=10
    ),
  },
  {
    msg: { type: 'Rsetattr', tag: 1 },
    bytes: hex(
      '07000000', //                  size[4]=7
      '1b', //                        type[1]=Rsetattr(27)
      '0100', //                      tag[2]=1
    ),
  },
  {
    msg: { type: 'Txattrwalk', tag: 1, fid: 1, newfid: 7, name: 'user.foo' },
    bytes: hex(
      '19000000', //                  size[4]=25
      '1e', //                        type[1]=Txattrwalk(30)
      '0100', //                      tag[2]=1
      '01000000', //                  fid[4]=1
      '07000000', //                  newfid[4]=7
      '0800', '757365722e666f6f', //  name[s]="user.foo"
    ),
  },
  {
    msg: { type: 'Rxattrwalk', tag: 1, size: 3n },
    bytes: hex(
      '0f000000', //                  size[4]=15
      '1f', //                        type[1]=Rxattrwalk(31)
      '0100', //                      tag[2]=1
      '0300000000000000', //          size[8]=3
    ),
  },
  {
    msg: { type: 'Txattrcreate', tag: 1, fid: 7, name: 'user.foo', attrSize: 3n, flags: 1 },
    bytes: hex(
      '21000000', //                  size[4]=33
      '20', //                        type[1]=Txattrcreate(32)
      '0100', //                      tag[2]=1
      '07000000', //                  fid[4]=7
      '0800', '757365722e666f6f', //  name[s]="user.foo"
      '0300000000000000', //          attr_size[8]=3
      '01000000', //                  flags[4]=1 (XATTR_CREATE)
    ),
  },
  {
    msg: { type: 'Rxattrcreate', tag: 1 },
    bytes: hex(
      '07000000', //                  size[4]=7
      '21', //                        type[1]=Rxattrcreate(33)
      '0100', //                      tag[2]=1
    ),
  },
  {
    // diod: P9_TREADDIR tag 1 fid 2 offset 0 count 65488
    msg: { type: 'Treaddir', tag: 1, fid: 2, offset: 0n, count: 65488 },
    bytes: hex(
      '17000000', //                  size[4]=23
      '28', //                        type[1]=Treaddir(40)
      '0100', //                      tag[2]=1
      '02000000', //                  fid[4]=2
      '0000000000000000', //          offset[8]=0
      'd0ff0000', //                  count[4]=65488
    ),
  },
  {
    msg: { type: 'Rreaddir', tag: 1, data: DIOD_READDIR },
    bytes: hex(
      '3e000000', //                  size[4]=62
      '29', //                        type[1]=Rreaddir(41)
      '0100', //                      tag[2]=1
      '33000000', //                  count[4]=51
      toHex(DIOD_READDIR), //         data[count]: two dirents (see DIOD_READDIR)
    ),
  },
  {
    msg: { type: 'Tfsync', tag: 1, fid: 2, datasync: 1 },
    bytes: hex(
      '0f000000', //                  size[4]=15
      '32', //                        type[1]=Tfsync(50)
      '0100', //                      tag[2]=1
      '02000000', //                  fid[4]=2
      '01000000', //                  datasync[4]=1
    ),
  },
  {
    msg: { type: 'Rfsync', tag: 1 },
    bytes: hex(
      '07000000', //                  size[4]=7
      '33', //                        type[1]=Rfsync(51)
      '0100', //                      tag[2]=1
    ),
  },
  {
    msg: {
      type: 'Tlock',
      tag: 1,
      fid: 2,
      lockType: 1,
      flags: 1,
      start: 100n,
      length: 200n,
      procId: 1234,
      clientId: 'host',
    },
    bytes: hex(
      '2a000000', //                  size[4]=42
      '34', //                        type[1]=Tlock(52)
      '0100', //                      tag[2]=1
      '02000000', //                  fid[4]=2
      '01', //                        type[1]=P9_LOCK_TYPE_WRLCK
      '01000000', //                  flags[4]=P9_LOCK_FLAGS_BLOCK
      '6400000000000000', //          start[8]=100
      'c800000000000000', //          length[8]=200
      'd2040000', //                  proc_id[4]=1234
      '0400', '686f7374', //          client_id[s]="host"
    ),
  },
  {
    msg: { type: 'Rlock', tag: 1, status: 1 },
    bytes: hex(
      '08000000', //                  size[4]=8
      '35', //                        type[1]=Rlock(53)
      '0100', //                      tag[2]=1
      '01', //                        status[1]=P9_LOCK_BLOCKED
    ),
  },
  {
    msg: { type: 'Tgetlock', tag: 1, fid: 2, lockType: 0, start: 10n, length: 20n, procId: 1234, clientId: 'host' },
    bytes: hex(
      '26000000', //                  size[4]=38
      '36', //                        type[1]=Tgetlock(54)
      '0100', //                      tag[2]=1
      '02000000', //                  fid[4]=2
      '00', //                        type[1]=P9_LOCK_TYPE_RDLCK
      '0a00000000000000', //          start[8]=10
      '1400000000000000', //          length[8]=20
      'd2040000', //                  proc_id[4]=1234
      '0400', '686f7374', //          client_id[s]="host"
    ),
  },
  {
    msg: { type: 'Rgetlock', tag: 1, lockType: 2, start: 10n, length: 20n, procId: 1234, clientId: 'host' },
    bytes: hex(
      '22000000', //                  size[4]=34
      '37', //                        type[1]=Rgetlock(55)
      '0100', //                      tag[2]=1
      '02', //                        type[1]=P9_LOCK_TYPE_UNLCK
      '0a00000000000000', //          start[8]=10
      '1400000000000000', //          length[8]=20
      'd2040000', //                  proc_id[4]=1234
      '0400', '686f7374', //          client_id[s]="host"
    ),
  },
  {
    msg: { type: 'Tlink', tag: 1, dfid: 1, fid: 3, name: 'hard' },
    bytes: hex(
      '15000000', //                  size[4]=21
      '46', //                        type[1]=Tlink(70)
      '0100', //                      tag[2]=1
      '01000000', //                  dfid[4]=1
      '03000000', //                  fid[4]=3
      '0400', '68617264', //          name[s]="hard"
    ),
  },
  {
    msg: { type: 'Rlink', tag: 1 },
    bytes: hex(
      '07000000', //                  size[4]=7
      '47', //                        type[1]=Rlink(71)
      '0100', //                      tag[2]=1
    ),
  },
  {
    // diod: P9_TMKDIR tag 1 fid 1 name 'newdir' mode 040755 gid 500
    msg: { type: 'Tmkdir', tag: 1, dfid: 1, name: 'newdir', mode: 0o40755, gid: 500 },
    bytes: hex(
      '1b000000', //                  size[4]=27
      '48', //                        type[1]=Tmkdir(72)
      '0100', //                      tag[2]=1
      '01000000', //                  dfid[4]=1
      '0600', '6e6577646972', //      name[s]="newdir"
      'ed410000', //                  mode[4]=040755
      'f4010000', //                  gid[4]=500
    ),
  },
  {
    // diod: P9_RMKDIR tag 1 qid (00000000002c1bd1 0 'd')
    msg: { type: 'Rmkdir', tag: 1, qid: { type: 0x80, version: 0, path: 0x2c1bd1n } },
    bytes: hex(
      '14000000', //                  size[4]=20
      '49', //                        type[1]=Rmkdir(73)
      '0100', //                      tag[2]=1
      '80', '00000000', 'd11b2c0000000000', // qid[13]: QTDIR, version 0, path 0x2c1bd1
    ),
  },
  {
    msg: { type: 'Trenameat', tag: 1, olddirfid: 1, oldname: 'a', newdirfid: 2, newname: 'b' },
    bytes: hex(
      '15000000', //                  size[4]=21
      '4a', //                        type[1]=Trenameat(74)
      '0100', //                      tag[2]=1
      '01000000', //                  olddirfid[4]=1
      '0100', '61', //                oldname[s]="a"
      '02000000', //                  newdirfid[4]=2
      '0100', '62', //                newname[s]="b"
    ),
  },
  {
    msg: { type: 'Rrenameat', tag: 1 },
    bytes: hex(
      '07000000', //                  size[4]=7
      '4b', //                        type[1]=Rrenameat(75)
      '0100', //                      tag[2]=1
    ),
  },
  {
    msg: { type: 'Tunlinkat', tag: 1, dirfd: 1, name: 'newdir', flags: 0x200 },
    bytes: hex(
      '17000000', //                  size[4]=23
      '4c', //                        type[1]=Tunlinkat(76)
      '0100', //                      tag[2]=1
      '01000000', //                  dirfd[4]=1
      '0600', '6e6577646972', //      name[s]="newdir"
      '00020000', //                  flags[4]=AT_REMOVEDIR (0x200)
    ),
  },
  {
    msg: { type: 'Runlinkat', tag: 1 },
    bytes: hex(
      '07000000', //                  size[4]=7
      '4d', //                        type[1]=Runlinkat(77)
      '0100', //                      tag[2]=1
    ),
  },
];

const DOTL_TYPES: DotlFcall['type'][] = [
  'Rlerror', 'Tstatfs', 'Rstatfs', 'Tlopen', 'Rlopen', 'Tlcreate', 'Rlcreate', 'Tsymlink', 'Rsymlink',
  'Tmknod', 'Rmknod', 'Trename', 'Rrename', 'Treadlink', 'Rreadlink', 'Tgetattr', 'Rgetattr',
  'Tsetattr', 'Rsetattr', 'Txattrwalk', 'Rxattrwalk', 'Txattrcreate', 'Rxattrcreate',
  'Treaddir', 'Rreaddir', 'Tfsync', 'Rfsync', 'Tlock', 'Rlock', 'Tgetlock', 'Rgetlock',
  'Tlink', 'Rlink', 'Tmkdir', 'Rmkdir', 'Trenameat', 'Rrenameat', 'Tunlinkat', 'Runlinkat',
];

describe('9P2000.L golden bytes', () => {
  for (const g of goldens) {
    it(`${g.msg.type} encodes to the golden bytes`, () => {
      expect(toHex(encode(g.msg, '9P2000.L'))).toBe(toHex(g.bytes));
      expect(encodedLength(g.msg, '9P2000.L')).toBe(g.bytes.length);
      const buf = new Uint8Array(g.bytes.length + 4).fill(0xee);
      expect(encodeInto(g.msg, '9P2000.L', buf, 2)).toBe(g.bytes.length);
      expect(toHex(buf)).toBe(`eeee${toHex(g.bytes)}eeee`);
    });
    it(`${g.msg.type} decodes from the golden bytes`, () => {
      expect(decode(g.bytes, '9P2000.L')).toEqual(g.msg);
    });
    it(`${g.msg.type} is refused by 9P2000 and 9P2000.u`, () => {
      for (const d of ['9P2000', '9P2000.u'] as const) {
        try {
          decode(g.bytes, d);
          expect.unreachable();
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
          expect((e as ProtocolError).reason).toBe('unknown-type');
          expect((e as ProtocolError).tag).toBe(1);
        }
        expect(() => encode(g.msg, d)).toThrow(`not a ${d} message`);
      }
    });
  }

  it('covers every 9P2000.L message', () => {
    expect(goldens.map((g) => g.msg.type).sort()).toEqual([...DOTL_TYPES].sort());
  });
});
