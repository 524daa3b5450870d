// Golden bytes for the messages of 9P2000 and 9P2000.u (and the classic
// messages that 9P2000.L keeps), written by hand from intro(5), stat(5) and
// the 9P2000.u draft: every integer little-endian, strings len[2] + UTF-8.
import { describe, expect, it } from 'vitest';
import { decode } from './decode.js';
import { encode, encodeInto, encodedLength } from './encode.js';
import { ProtocolError } from './errors.js';
import { fromHex as hex, toHex } from './hex.js';
import type { ClassicFcall, Dialect, Fcall } from './types.js';

interface Golden {
  dialects: Dialect[];
  msg: Fcall;
  bytes: Uint8Array;
}

const ALL: Dialect[] = ['9P2000', '9P2000.u', '9P2000.L'];
const PLAN9: Dialect[] = ['9P2000'];
const UNIX: Dialect[] = ['9P2000.u'];
const LINUX: Dialect[] = ['9P2000.L'];

/** Messages 9P2000.L keeps from 9P2000; the rest of ClassicFcall is 9P2000/.u only. */
const IN_ALL: ClassicFcall['type'][] = [
  'Tversion', 'Rversion', 'Tauth', 'Rauth', 'Tattach', 'Rattach', 'Tflush', 'Rflush',
  'Twalk', 'Rwalk', 'Tread', 'Rread', 'Twrite', 'Rwrite', 'Tclunk', 'Rclunk', 'Tremove', 'Rremove',
];
const CLASSIC_ONLY: ClassicFcall['type'][] = [
  'Rerror', 'Topen', 'Ropen', 'Tcreate', 'Rcreate', 'Tstat', 'Rstat', 'Twstat', 'Rwstat',
];

const goldens: Golden[] = [
  // ------------------------------------------------------------ version --
  {
    dialects: PLAN9,
    msg: { type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000' },
    bytes: hex(
      '13000000', //                  size[4]=19
      '64', //                        type[1]=Tversion(100)
      'ffff', //                      tag[2]=NOTAG
      '00200000', //                  msize[4]=8192
      '0600', '395032303030', //      version[s]="9P2000"
    ),
  },
  {
    dialects: UNIX,
    msg: { type: 'Tversion', tag: 0xffff, msize: 8192, version: '9P2000.u' },
    bytes: hex(
      '15000000', //                  size[4]=21
      '64', //                        type[1]=Tversion(100)
      'ffff', //                      tag[2]=NOTAG
      '00200000', //                  msize[4]=8192
      '0800', '3950323030302e75', //  version[s]="9P2000.u"
    ),
  },
  {
    dialects: LINUX,
    msg: { type: 'Tversion', tag: 0xffff, msize: 131072, version: '9P2000.L' },
    bytes: hex(
      '15000000', //                  size[4]=21
      '64', //                        type[1]=Tversion(100)
      'ffff', //                      tag[2]=NOTAG
      '00000200', //                  msize[4]=131072
      '0800', '3950323030302e4c', //  version[s]="9P2000.L"
    ),
  },
  {
    dialects: PLAN9,
    msg: { type: 'Rversion', tag: 0xffff, msize: 8192, version: '9P2000' },
    bytes: hex(
      '13000000', //                  size[4]=19
      '65', //                        type[1]=Rversion(101)
      'ffff', //                      tag[2]=NOTAG
      '00200000', //                  msize[4]=8192
      '0600', '395032303030', //      version[s]="9P2000"
    ),
  },
  {
    dialects: UNIX,
    msg: { type: 'Rversion', tag: 0xffff, msize: 4096, version: '9P2000.u' },
    bytes: hex(
      '15000000', //                  size[4]=21
      '65', //                        type[1]=Rversion(101)
      'ffff', //                      tag[2]=NOTAG
      '00100000', //                  msize[4]=4096
      '0800', '3950323030302e75', //  version[s]="9P2000.u"
    ),
  },
  {
    dialects: LINUX,
    msg: { type: 'Rversion', tag: 0xffff, msize: 131072, version: '9P2000.L' },
    bytes: hex(
      '15000000', //                  size[4]=21
      '65', //                        type[1]=Rversion(101)
      'ffff', //                      tag[2]=NOTAG
      '00000200', //                  msize[4]=131072
      '0800', '3950323030302e4c', //  version[s]="9P2000.L"
    ),
  },
  // --------------------------------------------------------------- auth --
  {
    dialects: PLAN9,
    msg: { type: 'Tauth', tag: 1, afid: 10, uname: 'glenda', aname: '' },
    bytes: hex(
      '15000000', //                  size[4]=21
      '66', //                        type[1]=Tauth(102)
      '0100', //                      tag[2]=1
      '0a000000', //                  afid[4]=10
      '0600', '676c656e6461', //      uname[s]="glenda"
      '0000', //                      aname[s]=""
    ),
  },
  {
    dialects: UNIX,
    msg: { type: 'Tauth', tag: 1, afid: 10, uname: 'glenda', aname: '', nUname: 1000 },
    bytes: hex(
      '19000000', //                  size[4]=25
      '66', //                        type[1]=Tauth(102)
      '0100', //                      tag[2]=1
      '0a000000', //                  afid[4]=10
      '0600', '676c656e6461', //      uname[s]="glenda"
      '0000', //                      aname[s]=""
      'e8030000', //                  n_uname[4]=1000
    ),
  },
  {
    dialects: LINUX,
    msg: { type: 'Tauth', tag: 1, afid: 10, uname: 'root', aname: '/srv', nUname: 0 },
    bytes: hex(
      '1b000000', //                  size[4]=27
      '66', //                        type[1]=Tauth(102)
      '0100', //                      tag[2]=1
      '0a000000', //                  afid[4]=10
      '0400', '726f6f74', //          uname[s]="root"
      '0400', '2f737276', //          aname[s]="/srv"
      '00000000', //                  n_uname[4]=0
    ),
  },
  {
    dialects: ALL,
    msg: { type: 'Rauth', tag: 1, aqid: { type: 0x08, version: 0, path: 1n } },
    bytes: hex(
      '14000000', //                  size[4]=20
      '67', //                        type[1]=Rauth(103)
      '0100', //                      tag[2]=1
      '08', //                        aqid.type[1]=QTAUTH
      '00000000', //                  aqid.version[4]=0
      '0100000000000000', //          aqid.path[8]=1
    ),
  },
  // ------------------------------------------------------------- attach --
  {
    dialects: PLAN9,
    msg: { type: 'Tattach', tag: 2, fid: 0, afid: 0xffffffff, uname: 'glenda', aname: '' },
    bytes: hex(
      '19000000', //                  size[4]=25
      '68', //                        type[1]=Tattach(104)
      '0200', //                      tag[2]=2
      '00000000', //                  fid[4]=0
      'ffffffff', //                  afid[4]=NOFID
      '0600', '676c656e6461', //      uname[s]="glenda"
      '0000', //                      aname[s]=""
    ),
  },
  {
    dialects: UNIX,
    msg: { type: 'Tattach', tag: 2, fid: 0, afid: 0xffffffff, uname: 'glenda', aname: '', nUname: 0xffffffff },
    bytes: hex(
      '1d000000', //                  size[4]=29
      '68', //                        type[1]=Tattach(104)
      '0200', //                      tag[2]=2
      '00000000', //                  fid[4]=0
      'ffffffff', //                  afid[4]=NOFID
      '0600', '676c656e6461', //      uname[s]="glenda"
      '0000', //                      aname[s]=""
      'ffffffff', //                  n_uname[4]=NONUNAME
    ),
  },
  {
    // diod protocol.md sample session:
    //   P9_TATTACH tag 1 fid 0 afid -1 uname 'root' aname '/tmp/9' n_uname P9_NONUNAME
    dialects: LINUX,
    msg: { type: 'Tattach', tag: 1, fid: 0, afid: 0xffffffff, uname: 'root', aname: '/tmp/9', nUname: 0xffffffff },
    bytes: hex(
      '21000000', //                  size[4]=33
      '68', //                        type[1]=Tattach(104)
      '0100', //                      tag[2]=1
      '00000000', //                  fid[4]=0
      'ffffffff', //                  afid[4]=NOFID
      '0400', '726f6f74', //          uname[s]="root"
      '0600', '2f746d702f39', //      aname[s]="/tmp/9"
      'ffffffff', //                  n_uname[4]=NONUNAME
    ),
  },
  {
    dialects: ALL,
    msg: { type: 'Rattach', tag: 1, qid: { type: 0x80, version: 0, path: 0x2c1facn } },
    bytes: hex(
      '14000000', //                  size[4]=20
      '69', //                        type[1]=Rattach(105)
      '0100', //                      tag[2]=1
      '80', //                        qid.type[1]=QTDIR
      '00000000', //                  qid.version[4]=0
      'ac1f2c0000000000', //          qid.path[8]=0x2c1fac
    ),
  },
  // -------------------------------------------------------------- error --
  {
    dialects: PLAN9,
    msg: { type: 'Rerror', tag: 3, ename: 'file not found' },
    bytes: hex(
      '17000000', //                  size[4]=23
      '6b', //                        type[1]=Rerror(107)
      '0300', //                      tag[2]=3
      '0e00', '66696c65206e6f7420666f756e64', // ename[s]="file not found"
    ),
  },
  {
    dialects: UNIX,
    msg: { type: 'Rerror', tag: 3, ename: 'file not found', errno: 2 },
    bytes: hex(
      '1b000000', //                  size[4]=27
      '6b', //                        type[1]=Rerror(107)
      '0300', //                      tag[2]=3
      '0e00', '66696c65206e6f7420666f756e64', // ename[s]="file not found"
      '02000000', //                  errno[4]=2 (ENOENT)
    ),
  },
  // -------------------------------------------------------------- flush --
  {
    dialects: ALL,
    msg: { type: 'Tflush', tag: 4, oldtag: 3 },
    bytes: hex(
      '09000000', //                  size[4]=9
      '6c', //                        type[1]=Tflush(108)
      '0400', //                      tag[2]=4
      '0300', //                      oldtag[2]=3
    ),
  },
  {
    dialects: ALL,
    msg: { type: 'Rflush', tag: 4 },
    bytes: hex(
      '07000000', //                  size[4]=7
      '6d', //                        type[1]=Rflush(109)
      '0400', //                      tag[2]=4
    ),
  },
  // --------------------------------------------------------------- walk --
  {
    dialects: ALL,
    msg: { type: 'Twalk', tag: 5, fid: 1, newfid: 2, wnames: ['usr', 'glenda'] },
    bytes: hex(
      '1e000000', //                  size[4]=30
      '6e', //                        type[1]=Twalk(110)
      '0500', //                      tag[2]=5
      '01000000', //                  fid[4]=1
      '02000000', //                  newfid[4]=2
      '0200', //                      nwname[2]=2
      '0300', '757372', //            wname[s]="usr"
      '0600', '676c656e6461', //      wname[s]="glenda"
    ),
  },
  {
    // A clone: no names.
    dialects: ALL,
    msg: { type: 'Twalk', tag: 5, fid: 1, newfid: 2, wnames: [] },
    bytes: hex(
      '11000000', //                  size[4]=17
      '6e', //                        type[1]=Twalk(110)
      '0500', //                      tag[2]=5
      '01000000', //                  fid[4]=1
      '02000000', //                  newfid[4]=2
      '0000', //                      nwname[2]=0
    ),
  },
  {
    // Multi-byte UTF-8: U+00E9 is c3 a9; U+1F4C1 (a surrogate pair in JS) is f0 9f 93 81.
    dialects: ALL,
    msg: { type: 'Twalk', tag: 5, fid: 1, newfid: 2, wnames: ['caf\u00e9', '\u{1f4c1}'] },
    bytes: hex(
      '1e000000', //                  size[4]=30
      '6e', //                        type[1]=Twalk(110)
      '0500', //                      tag[2]=5
      '01000000', //                  fid[4]=1
      '02000000', //                  newfid[4]=2
      '0200', //                      nwname[2]=2
      '0500', '636166c3a9', //        wname[s]="café" (5 bytes)
      '0400', 'f09f9381', //          wname[s]=U+1F4C1 (4 bytes)
    ),
  },
  {
    dialects: ALL,
    msg: {
      type: 'Rwalk',
      tag: 5,
      wqids: [
        { type: 0x80, version: 0, path: 0x10n },
        { type: 0x00, version: 7, path: 0x11n },
      ],
    },
    bytes: hex(
      '23000000', //                  size[4]=35
      '6f', //                        type[1]=Rwalk(111)
      '0500', //                      tag[2]=5
      '0200', //                      nwqid[2]=2
      '80', '00000000', '1000000000000000', // wqid[13]: QTDIR, version 0, path 0x10
      '00', '07000000', '1100000000000000', // wqid[13]: QTFILE, version 7, path 0x11
    ),
  },
  // --------------------------------------------------------------- open --
  {
    dialects: [...PLAN9, ...UNIX],
    msg: { type: 'Topen', tag: 6, fid: 2, mode: 0x12 },
    bytes: hex(
      '0c000000', //                  size[4]=12
      '70', //                        type[1]=Topen(112)
      '0600', //                      tag[2]=6
      '02000000', //                  fid[4]=2
      '12', //                        mode[1]=ORDWR|OTRUNC
    ),
  },
  {
    dialects: [...PLAN9, ...UNIX],
    msg: { type: 'Ropen', tag: 6, qid: { type: 0, version: 1, path: 0x11n }, iounit: 8168 },
    bytes: hex(
      '18000000', //                  size[4]=24
      '71', //                        type[1]=Ropen(113)
      '0600', //                      tag[2]=6
      '00', '01000000', '1100000000000000', // qid[13]: QTFILE, version 1, path 0x11
      'e81f0000', //                  iounit[4]=8168
    ),
  },
  // ------------------------------------------------------------- create --
  {
    dialects: PLAN9,
    msg: { type: 'Tcreate', tag: 7, fid: 2, name: 'notes', perm: 0o644, mode: 1 },
    bytes: hex(
      '17000000', //                  size[4]=23
      '72', //                        type[1]=Tcreate(114)
      '0700', //                      tag[2]=7
      '02000000', //                  fid[4]=2
      '0500', '6e6f746573', //        name[s]="notes"
      'a4010000', //                  perm[4]=0644
      '01', //                        mode[1]=OWRITE
    ),
  },
  {
    dialects: UNIX,
    msg: { type: 'Tcreate', tag: 7, fid: 2, name: 'link', perm: 0x020001ff, mode: 0, extension: '/tmp/x' },
    bytes: hex(
      '1e000000', //                  size[4]=30
      '72', //                        type[1]=Tcreate(114)
      '0700', //                      tag[2]=7
      '02000000', //                  fid[4]=2
      '0400', '6c696e6b', //          name[s]="link"
      'ff010002', //                  perm[4]=DMSYMLINK|0777
      '00', //                        mode[1]=OREAD
      '0600', '2f746d702f78', //      extension[s]="/tmp/x"
    ),
  },
  {
    dialects: [...PLAN9, ...UNIX],
    msg: { type: 'Rcreate', tag: 7, qid: { type: 0, version: 0, path: 0x12n }, iounit: 0 },
    bytes: hex(
      '18000000', //                  size[4]=24
      '73', //                        type[1]=Rcreate(115)
      '0700', //                      tag[2]=7
      '00', '00000000', '1200000000000000', // qid[13]: QTFILE, version 0, path 0x12
      '00000000', //                  iounit[4]=0
    ),
  },
  // --------------------------------------------------------- read/write --
  {
    dialects: ALL,
    msg: { type: 'Tread', tag: 8, fid: 2, offset: 0x100000000n, count: 4096 },
    bytes: hex(
      '17000000', //                  size[4]=23
      '74', //                        type[1]=Tread(116)
      '0800', //                      tag[2]=8
      '02000000', //                  fid[4]=2
      '0000000001000000', //          offset[8]=2^32
      '00100000', //                  count[4]=4096
    ),
  },
  {
    dialects: ALL,
    msg: { type: 'Rread', tag: 8, data: new TextEncoder().encode('hello\n') },
    bytes: hex(
      '11000000', //                  size[4]=17
      '75', //                        type[1]=Rread(117)
      '0800', //                      tag[2]=8
      '06000000', //                  count[4]=6
      '68656c6c6f0a', //              data[count]="hello\n"
    ),
  },
  {
    dialects: ALL,
    msg: { type: 'Rread', tag: 8, data: new Uint8Array(0) },
    bytes: hex(
      '0b000000', //                  size[4]=11
      '75', //                        type[1]=Rread(117)
      '0800', //                      tag[2]=8
      '00000000', //                  count[4]=0 (end of file)
    ),
  },
  {
    dialects: ALL,
    msg: { type: 'Twrite', tag: 9, fid: 2, offset: 0n, data: new TextEncoder().encode('hello\n') },
    bytes: hex(
      '1d000000', //                  size[4]=29
      '76', //                        type[1]=Twrite(118)
      '0900', //                      tag[2]=9
      '02000000', //                  fid[4]=2
      '0000000000000000', //          offset[8]=0
      '06000000', //                  count[4]=6
      '68656c6c6f0a', //              data[count]="hello\n"
    ),
  },
  {
    dialects: ALL,
    msg: { type: 'Rwrite', tag: 9, count: 6 },
    bytes: hex(
      '0b000000', //                  size[4]=11
      '77', //                        type[1]=Rwrite(119)
      '0900', //                      tag[2]=9
      '06000000', //                  count[4]=6
    ),
  },
  // ------------------------------------------------------ clunk, remove --
  {
    dialects: ALL,
    msg: { type: 'Tclunk', tag: 10, fid: 2 },
    bytes: hex(
      '0b000000', //                  size[4]=11
      '78', //                        type[1]=Tclunk(120)
      '0a00', //                      tag[2]=10
      '02000000', //                  fid[4]=2
    ),
  },
  {
    dialects: ALL,
    msg: { type: 'Rclunk', tag: 10 },
    bytes: hex(
      '07000000', //                  size[4]=7
      '79', //                        type[1]=Rclunk(121)
      '0a00', //                      tag[2]=10
    ),
  },
  {
    dialects: ALL,
    msg: { type: 'Tremove', tag: 11, fid: 3 },
    bytes: hex(
      '0b000000', //                  size[4]=11
      '7a', //                        type[1]=Tremove(122)
      '0b00', //                      tag[2]=11
      '03000000', //                  fid[4]=3
    ),
  },
  {
    dialects: ALL,
    msg: { type: 'Rremove', tag: 11 },
    bytes: hex(
      '07000000', //                  size[4]=7
      '7b', //                        type[1]=Rremove(123)
      '0b00', //                      tag[2]=11
    ),
  },
  // --------------------------------------------------------------- stat --
  {
    dialects: [...PLAN9, ...UNIX],
    msg: { type: 'Tstat', tag: 12, fid: 1 },
    bytes: hex(
      '0b000000', //                  size[4]=11
      '7c', //                        type[1]=Tstat(124)
      '0c00', //                      tag[2]=12
      '01000000', //                  fid[4]=1
    ),
  },
  {
    dialects: PLAN9,
    msg: {
      type: 'Rstat',
      tag: 12,
      stat: {
        type: 0,
        dev: 0,
        qid: { type: 0x80, version: 0, path: 1n },
        mode: 0x800001ed,
        atime: 1700000000,
        mtime: 1700000001,
        length: 0n,
        name: 'usr',
        uid: 'glenda',
        gid: 'sys',
        muid: 'glenda',
      },
    },
    bytes: hex(
      '4c000000', //                  size[4]=76
      '7d', //                        type[1]=Rstat(125)
      '0c00', //                      tag[2]=12
      '4300', //                      n[2]=67 (the stat, size field included)
      '4100', //                      stat.size[2]=65
      '0000', //                      stat.type[2]=0
      '00000000', //                  stat.dev[4]=0
      '80', '00000000', '0100000000000000', // stat.qid[13]: QTDIR, version 0, path 1
      'ed010080', //                  stat.mode[4]=DMDIR|0755
      '00f15365', //                  stat.atime[4]=1700000000
      '01f15365', //                  stat.mtime[4]=1700000001
      '0000000000000000', //          stat.length[8]=0
      '0300', '757372', //            stat.name[s]="usr"
      '0600', '676c656e6461', //      stat.uid[s]="glenda"
      '0300', '737973', //            stat.gid[s]="sys"
      '0600', '676c656e6461', //      stat.muid[s]="glenda"
    ),
  },
  {
    dialects: UNIX,
    msg: {
      type: 'Rstat',
      tag: 12,
      stat: {
        type: 0,
        dev: 0,
        qid: { type: 0, version: 0, path: 0x1234n },
        mode: 0x008001b6,
        atime: 0,
        mtime: 0,
        length: 0n,
        name: 'null',
        uid: 'root',
        gid: 'root',
        muid: '',
        extension: 'c 1 3',
        nUid: 0,
        nGid: 0,
        nMuid: 0xffffffff,
      },
    },
    bytes: hex(
      '59000000', //                  size[4]=89
      '7d', //                        type[1]=Rstat(125)
      '0c00', //                      tag[2]=12
      '5000', //                      n[2]=80
      '4e00', //                      stat.size[2]=78
      '0000', //                      stat.type[2]=0
      '00000000', //                  stat.dev[4]=0
      '00', '00000000', '3412000000000000', // stat.qid[13]: QTFILE, version 0, path 0x1234
      'b6018000', //                  stat.mode[4]=DMDEVICE|0666
      '00000000', //                  stat.atime[4]=0
      '00000000', //                  stat.mtime[4]=0
      '0000000000000000', //          stat.length[8]=0
      '0400', '6e756c6c', //          stat.name[s]="null"
      '0400', '726f6f74', //          stat.uid[s]="root"
      '0400', '726f6f74', //          stat.gid[s]="root"
      '0000', //                      stat.muid[s]=""
      '0500', '6320312033', //        stat.extension[s]="c 1 3"
      '00000000', //                  stat.n_uid[4]=0
      '00000000', //                  stat.n_gid[4]=0
      'ffffffff', //                  stat.n_muid[4]=NONUNAME
    ),
  },
  {
    // wstat: every field "don't touch" but the name.
    dialects: PLAN9,
    msg: {
      type: 'Twstat',
      tag: 13,
      fid: 2,
      stat: {
        type: 0xffff,
        dev: 0xffffffff,
        qid: { type: 0xff, version: 0xffffffff, path: 0xffffffffffffffffn },
        mode: 0xffffffff,
        atime: 0xffffffff,
        mtime: 0xffffffff,
        length: 0xffffffffffffffffn,
        name: 'renamed',
        uid: '',
        gid: '',
        muid: '',
      },
    },
    bytes: hex(
      '45000000', //                  size[4]=69
      '7e', //                        type[1]=Twstat(126)
      '0d00', //                      tag[2]=13
      '02000000', //                  fid[4]=2
      '3800', //                      n[2]=56
      '3600', //                      stat.size[2]=54
      'ffff', //                      stat.type[2]=~0
      'ffffffff', //                  stat.dev[4]=~0
      'ff', 'ffffffff', 'ffffffffffffffff', // stat.qid[13]=~0
      'ffffffff', //                  stat.mode[4]=~0
      'ffffffff', //                  stat.atime[4]=~0
      'ffffffff', //                  stat.mtime[4]=~0
      'ffffffffffffffff', //          stat.length[8]=~0
      '0700', '72656e616d6564', //    stat.name[s]="renamed"
      '0000', //                      stat.uid[s]=""
      '0000', //                      stat.gid[s]=""
      '0000', //                      stat.muid[s]=""
    ),
  },
  {
    // wstat 9P2000.u: chmod 0600, everything else "don't touch".
    dialects: UNIX,
    msg: {
      type: 'Twstat',
      tag: 13,
      fid: 2,
      stat: {
        type: 0xffff,
        dev: 0xffffffff,
        qid: { type: 0xff, version: 0xffffffff, path: 0xffffffffffffffffn },
        mode: 0o600,
        atime: 0xffffffff,
        mtime: 0xffffffff,
        length: 0xffffffffffffffffn,
        name: '',
        uid: '',
        gid: '',
        muid: '',
        extension: '',
        nUid: 0xffffffff,
        nGid: 0xffffffff,
        nMuid: 0xffffffff,
      },
    },
    bytes: hex(
      '4c000000', //                  size[4]=76
      '7e', //                        type[1]=Twstat(126)
      '0d00', //                      tag[2]=13
      '02000000', //                  fid[4]=2
      '3f00', //                      n[2]=63
      '3d00', //                      stat.size[2]=61
      'ffff', //                      stat.type[2]=~0
      'ffffffff', //                  stat.dev[4]=~0
      'ff', 'ffffffff', 'ffffffffffffffff', // stat.qid[13]=~0
      '80010000', //                  stat.mode[4]=0600
      'ffffffff', //                  stat.atime[4]=~0
      'ffffffff', //                  stat.mtime[4]=~0
      'ffffffffffffffff', //          stat.length[8]=~0
      '0000', '0000', '0000', '0000', // stat.name, uid, gid, muid [s]=""
      '0000', //                      stat.extension[s]=""
      'ffffffff', //                  stat.n_uid[4]=~0
      'ffffffff', //                  stat.n_gid[4]=~0
      'ffffffff', //                  stat.n_muid[4]=~0
    ),
  },
  {
    dialects: [...PLAN9, ...UNIX],
    msg: { type: 'Rwstat', tag: 13 },
    bytes: hex(
      '07000000', //                  size[4]=7
      '7f', //                        type[1]=Rwstat(127)
      '0d00', //                      tag[2]=13
    ),
  },
];

describe('9P2000 and 9P2000.u golden bytes', () => {
  for (const g of goldens) {
    for (const d of g.dialects) {
      const label = `${g.msg.type} [${d}] ${toHex(g.bytes).slice(0, 24)}…`;
      it(`${label} encodes to the golden bytes`, () => {
        expect(toHex(encode(g.msg, d))).toBe(toHex(g.bytes));
        expect(encodedLength(g.msg, d)).toBe(g.bytes.length);
        // encodeInto writes the same frame mid-buffer and touches nothing else.
        const buf = new Uint8Array(g.bytes.length + 6).fill(0xee);
        expect(encodeInto(g.msg, d, buf, 3)).toBe(g.bytes.length);
        expect(toHex(buf)).toBe(`eeeeee${toHex(g.bytes)}eeeeee`);
      });
      it(`${label} decodes from the golden bytes`, () => {
        expect(decode(g.bytes, d)).toEqual(g.msg);
      });
    }
  }

  it('covers every classic message in every dialect that has it', () => {
    const covered = new Set(goldens.flatMap((g) => g.dialects.map((d) => `${g.msg.type} ${d}`)));
    for (const t of IN_ALL) for (const d of ALL) expect(covered, `${t} ${d}`).toContain(`${t} ${d}`);
    for (const t of CLASSIC_ONLY) {
      for (const d of ['9P2000', '9P2000.u'] as const) expect(covered, `${t} ${d}`).toContain(`${t} ${d}`);
    }
  });

  it('refuses the 9P2000-only messages in 9P2000.L', () => {
    for (const g of goldens.filter((x) => CLASSIC_ONLY.includes(x.msg.type as ClassicFcall['type']))) {
      const err = catchError(() => decode(g.bytes, '9P2000.L'));
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).reason).toBe('unknown-type');
      expect(() => encode(g.msg, '9P2000.L')).toThrow(/not a 9P2000.L message/);
    }
  });

  it('gives Rread and Twrite data as views into the frame', () => {
    const frame = goldens.find((g) => g.msg.type === 'Twrite')!.bytes;
    const m = decode(frame, '9P2000');
    if (m.type !== 'Twrite') throw new Error(m.type);
    expect(m.data.buffer).toBe(frame.buffer);
    expect(m.data.byteOffset).toBe(frame.byteOffset + 23);
  });

  it('does not copy Rread data that already sits where the frame puts it', () => {
    const buf = new Uint8Array(64);
    const data = buf.subarray(11, 17);
    data.set([1, 2, 3, 4, 5, 6]);
    const n = encodeInto({ type: 'Rread', tag: 1, data }, '9P2000.L', buf, 0);
    expect(toHex(buf.subarray(0, n))).toBe('110000007501000600000001' + '0203040506');
  });
});

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}
