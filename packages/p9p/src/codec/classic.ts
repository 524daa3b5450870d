/*
 * Messages of 9P2000 (Plan 9 intro(5)) and their 9P2000.u extensions
 * (experimental-draft-9P2000-unix-extension). The ones marked ALL are also
 * part of 9P2000.L (diod protocol.md: "a subset of the canonical 9P2000
 * operations, the 9P2000.u attach and auth messages").
 *
 *   size[4] Tversion tag[2] msize[4] version[s]
 *   size[4] Rversion tag[2] msize[4] version[s]
 *   size[4] Tauth    tag[2] afid[4] uname[s] aname[s]            .u/.L: n_uname[4]
 *   size[4] Rauth    tag[2] aqid[13]
 *   size[4] Tattach  tag[2] fid[4] afid[4] uname[s] aname[s]     .u/.L: n_uname[4]
 *   size[4] Rattach  tag[2] qid[13]
 *   size[4] Rerror   tag[2] ename[s]                             .u: errno[4]
 *   size[4] Tflush   tag[2] oldtag[2]
 *   size[4] Rflush   tag[2]
 *   size[4] Twalk    tag[2] fid[4] newfid[4] nwname[2] nwname*(wname[s])
 *   size[4] Rwalk    tag[2] nwqid[2] nwqid*(wqid[13])
 *   size[4] Topen    tag[2] fid[4] mode[1]
 *   size[4] Ropen    tag[2] qid[13] iounit[4]
 *   size[4] Tcreate  tag[2] fid[4] name[s] perm[4] mode[1]       .u: extension[s]
 *   size[4] Rcreate  tag[2] qid[13] iounit[4]
 *   size[4] Tread    tag[2] fid[4] offset[8] count[4]
 *   size[4] Rread    tag[2] count[4] data[count]
 *   size[4] Twrite   tag[2] fid[4] offset[8] count[4] data[count]
 *   size[4] Rwrite   tag[2] count[4]
 *   size[4] Tclunk   tag[2] fid[4]
 *   size[4] Rclunk   tag[2]
 *   size[4] Tremove  tag[2] fid[4]
 *   size[4] Rremove  tag[2]
 *   size[4] Tstat    tag[2] fid[4]
 *   size[4] Rstat    tag[2] stat[n]
 *   size[4] Twstat   tag[2] fid[4] stat[n]
 *   size[4] Rwstat   tag[2]
 *
 * walk(5): "nwname ... may not exceed MAXWELEM (16)". stat(5): stat[n] in
 * Rstat/Twstat is a count n[2] followed by the stat, which begins with its
 * own size[2]: "the size appears twice".
 */
import { QID_SIZE, strSize } from './cursor.js';
import type { Reader } from './cursor.js';
import { MAXWELEM, NONUNAME } from './constants.js';
import { EncodeError } from './errors.js';
import { ALL, CLASSIC } from './layout.js';
import type { Layouts } from './layout.js';
import { readStat, statSize, writeStat } from './stat.js';
import type { ClassicFcall, Qid, Rattach, Rerror, Rstat, Rwalk, Stat, Tattach, Tauth, Tcreate, Twalk } from './types.js';

function tooMany(what: string, n: number): never {
  throw new EncodeError(`${what}: ${n} elements, the most is ${MAXWELEM}`, { reason: 'too-many-elements', field: what });
}

/** stat[n]: n[2], then a stat that must fill exactly n bytes. */
function readStatN(r: Reader, ext: boolean, what: string): Stat {
  const n = r.u16(`${what}.n`);
  r.need(n, what);
  const outer = r.end;
  r.end = r.pos + n;
  const st = readStat(r, ext);
  if (r.pos !== r.end) r.fail('bad-stat', `${what}: n[2] is ${n} but the stat fills ${n - (r.end - r.pos)}`);
  r.end = outer;
  return st;
}

export const classic: Layouts<ClassicFcall['type']> = {
  Tversion: {
    dialects: ALL,
    size: (m) => 4 + strSize(m.version, 'Tversion.version'),
    write(w, m) {
      w.u32(m.msize, 'Tversion.msize');
      w.str(m.version);
    },
    read: (r, tag) => ({ type: 'Tversion', tag, msize: r.u32('Tversion.msize'), version: r.str('Tversion.version') }),
  },
  Rversion: {
    dialects: ALL,
    size: (m) => 4 + strSize(m.version, 'Rversion.version'),
    write(w, m) {
      w.u32(m.msize, 'Rversion.msize');
      w.str(m.version);
    },
    read: (r, tag) => ({ type: 'Rversion', tag, msize: r.u32('Rversion.msize'), version: r.str('Rversion.version') }),
  },
  Tauth: {
    dialects: ALL,
    size: (m, ext) => 4 + strSize(m.uname, 'Tauth.uname') + strSize(m.aname, 'Tauth.aname') + (ext ? 4 : 0),
    write(w, m, ext) {
      w.u32(m.afid, 'Tauth.afid');
      w.str(m.uname);
      w.str(m.aname);
      if (ext) w.u32(m.nUname ?? NONUNAME, 'Tauth.nUname');
    },
    read(r, tag, ext) {
      const m: Tauth = {
        type: 'Tauth',
        tag,
        afid: r.u32('Tauth.afid'),
        uname: r.str('Tauth.uname'),
        aname: r.str('Tauth.aname'),
      };
      if (ext) m.nUname = r.u32('Tauth.nUname');
      return m;
    },
  },
  Rauth: {
    dialects: ALL,
    size: () => QID_SIZE,
    write: (w, m) => w.qid(m.aqid, 'Rauth.aqid'),
    read: (r, tag) => ({ type: 'Rauth', tag, aqid: r.qid('Rauth.aqid') }),
  },
  Tattach: {
    dialects: ALL,
    size: (m, ext) => 8 + strSize(m.uname, 'Tattach.uname') + strSize(m.aname, 'Tattach.aname') + (ext ? 4 : 0),
    write(w, m, ext) {
      w.u32(m.fid, 'Tattach.fid');
      w.u32(m.afid, 'Tattach.afid');
      w.str(m.uname);
      w.str(m.aname);
      if (ext) w.u32(m.nUname ?? NONUNAME, 'Tattach.nUname');
    },
    read(r, tag, ext) {
      const m: Tattach = {
        type: 'Tattach',
        tag,
        fid: r.u32('Tattach.fid'),
        afid: r.u32('Tattach.afid'),
        uname: r.str('Tattach.uname'),
        aname: r.str('Tattach.aname'),
      };
      if (ext) m.nUname = r.u32('Tattach.nUname');
      return m;
    },
  },
  Rattach: {
    dialects: ALL,
    size: () => QID_SIZE,
    write: (w, m) => w.qid(m.qid, 'Rattach.qid'),
    read: (r, tag): Rattach => ({ type: 'Rattach', tag, qid: r.qid('Rattach.qid') }),
  },
  Rerror: {
    // 9P2000.L answers with Rlerror; Linux would misread an Rerror there.
    dialects: CLASSIC,
    size: (m, ext) => strSize(m.ename, 'Rerror.ename') + (ext ? 4 : 0),
    write(w, m, ext) {
      w.str(m.ename);
      if (ext) w.u32(m.errno ?? 0, 'Rerror.errno');
    },
    read(r, tag, ext) {
      const m: Rerror = { type: 'Rerror', tag, ename: r.str('Rerror.ename') };
      if (ext) m.errno = r.u32('Rerror.errno');
      return m;
    },
  },
  Tflush: {
    dialects: ALL,
    size: () => 2,
    write: (w, m) => w.u16(m.oldtag, 'Tflush.oldtag'),
    read: (r, tag) => ({ type: 'Tflush', tag, oldtag: r.u16('Tflush.oldtag') }),
  },
  Rflush: {
    dialects: ALL,
    size: () => 0,
    write() {},
    read: (_r, tag) => ({ type: 'Rflush', tag }),
  },
  Twalk: {
    dialects: ALL,
    size(m) {
      const names = m.wnames;
      if (names.length > MAXWELEM) tooMany('Twalk.wnames', names.length);
      let n = 4 + 4 + 2;
      for (const name of names) n += strSize(name, 'Twalk.wname');
      return n;
    },
    write(w, m) {
      w.u32(m.fid, 'Twalk.fid');
      w.u32(m.newfid, 'Twalk.newfid');
      w.u16(m.wnames.length, 'Twalk.nwname');
      for (const name of m.wnames) w.str(name);
    },
    read(r, tag): Twalk {
      const fid = r.u32('Twalk.fid');
      const newfid = r.u32('Twalk.newfid');
      const n = r.u16('Twalk.nwname');
      if (n > MAXWELEM) r.fail('too-many-elements', `Twalk.nwname: ${n}, the most is ${MAXWELEM}`);
      const wnames: string[] = [];
      for (let i = 0; i < n; i++) wnames.push(r.str('Twalk.wname'));
      return { type: 'Twalk', tag, fid, newfid, wnames };
    },
  },
  Rwalk: {
    dialects: ALL,
    size(m) {
      if (m.wqids.length > MAXWELEM) tooMany('Rwalk.wqids', m.wqids.length);
      return 2 + QID_SIZE * m.wqids.length;
    },
    write(w, m) {
      w.u16(m.wqids.length, 'Rwalk.nwqid');
      for (const q of m.wqids) w.qid(q, 'Rwalk.wqid');
    },
    read(r, tag): Rwalk {
      const n = r.u16('Rwalk.nwqid');
      if (n > MAXWELEM) r.fail('too-many-elements', `Rwalk.nwqid: ${n}, the most is ${MAXWELEM}`);
      const wqids: Qid[] = [];
      for (let i = 0; i < n; i++) wqids.push(r.qid('Rwalk.wqid'));
      return { type: 'Rwalk', tag, wqids };
    },
  },
  Topen: {
    dialects: CLASSIC,
    size: () => 5,
    write(w, m) {
      w.u32(m.fid, 'Topen.fid');
      w.u8(m.mode, 'Topen.mode');
    },
    read: (r, tag) => ({ type: 'Topen', tag, fid: r.u32('Topen.fid'), mode: r.u8('Topen.mode') }),
  },
  Ropen: {
    dialects: CLASSIC,
    size: () => QID_SIZE + 4,
    write(w, m) {
      w.qid(m.qid, 'Ropen.qid');
      w.u32(m.iounit, 'Ropen.iounit');
    },
    read: (r, tag) => ({ type: 'Ropen', tag, qid: r.qid('Ropen.qid'), iounit: r.u32('Ropen.iounit') }),
  },
  Tcreate: {
    dialects: CLASSIC,
    size: (m, ext) =>
      4 + strSize(m.name, 'Tcreate.name') + 4 + 1 + (ext ? strSize(m.extension ?? '', 'Tcreate.extension') : 0),
    write(w, m, ext) {
      w.u32(m.fid, 'Tcreate.fid');
      w.str(m.name);
      w.u32(m.perm, 'Tcreate.perm');
      w.u8(m.mode, 'Tcreate.mode');
      if (ext) w.str(m.extension ?? '');
    },
    read(r, tag, ext) {
      const m: Tcreate = {
        type: 'Tcreate',
        tag,
        fid: r.u32('Tcreate.fid'),
        name: r.str('Tcreate.name'),
        perm: r.u32('Tcreate.perm'),
        mode: r.u8('Tcreate.mode'),
      };
      if (ext) m.extension = r.str('Tcreate.extension');
      return m;
    },
  },
  Rcreate: {
    dialects: CLASSIC,
    size: () => QID_SIZE + 4,
    write(w, m) {
      w.qid(m.qid, 'Rcreate.qid');
      w.u32(m.iounit, 'Rcreate.iounit');
    },
    read: (r, tag) => ({ type: 'Rcreate', tag, qid: r.qid('Rcreate.qid'), iounit: r.u32('Rcreate.iounit') }),
  },
  Tread: {
    dialects: ALL,
    size: () => 16,
    write(w, m) {
      w.u32(m.fid, 'Tread.fid');
      w.u64(m.offset, 'Tread.offset');
      w.u32(m.count, 'Tread.count');
    },
    read: (r, tag) => ({
      type: 'Tread',
      tag,
      fid: r.u32('Tread.fid'),
      offset: r.u64('Tread.offset'),
      count: r.u32('Tread.count'),
    }),
  },
  Rread: {
    dialects: ALL,
    size: (m) => 4 + m.data.length,
    write: (w, m) => w.data(m.data, 'Rread.count'),
    read: (r, tag) => ({ type: 'Rread', tag, data: r.data('Rread.data') }),
  },
  Twrite: {
    dialects: ALL,
    size: (m) => 16 + m.data.length,
    write(w, m) {
      w.u32(m.fid, 'Twrite.fid');
      w.u64(m.offset, 'Twrite.offset');
      w.data(m.data, 'Twrite.count');
    },
    read: (r, tag) => ({
      type: 'Twrite',
      tag,
      fid: r.u32('Twrite.fid'),
      offset: r.u64('Twrite.offset'),
      data: r.data('Twrite.data'),
    }),
  },
  Rwrite: {
    dialects: ALL,
    size: () => 4,
    write: (w, m) => w.u32(m.count, 'Rwrite.count'),
    read: (r, tag) => ({ type: 'Rwrite', tag, count: r.u32('Rwrite.count') }),
  },
  Tclunk: {
    dialects: ALL,
    size: () => 4,
    write: (w, m) => w.u32(m.fid, 'Tclunk.fid'),
    read: (r, tag) => ({ type: 'Tclunk', tag, fid: r.u32('Tclunk.fid') }),
  },
  Rclunk: {
    dialects: ALL,
    size: () => 0,
    write() {},
    read: (_r, tag) => ({ type: 'Rclunk', tag }),
  },
  Tremove: {
    dialects: ALL,
    size: () => 4,
    write: (w, m) => w.u32(m.fid, 'Tremove.fid'),
    read: (r, tag) => ({ type: 'Tremove', tag, fid: r.u32('Tremove.fid') }),
  },
  Rremove: {
    dialects: ALL,
    size: () => 0,
    write() {},
    read: (_r, tag) => ({ type: 'Rremove', tag }),
  },
  Tstat: {
    dialects: CLASSIC,
    size: () => 4,
    write: (w, m) => w.u32(m.fid, 'Tstat.fid'),
    read: (r, tag) => ({ type: 'Tstat', tag, fid: r.u32('Tstat.fid') }),
  },
  Rstat: {
    dialects: CLASSIC,
    size: (m, ext) => 2 + statSize(m.stat, ext),
    write(w, m, ext) {
      const at = w.reserveSize();
      writeStat(w, m.stat, ext);
      w.patchSize(at);
    },
    read: (r, tag, ext): Rstat => ({ type: 'Rstat', tag, stat: readStatN(r, ext, 'Rstat.stat') }),
  },
  Twstat: {
    dialects: CLASSIC,
    size: (m, ext) => 4 + 2 + statSize(m.stat, ext),
    write(w, m, ext) {
      w.u32(m.fid, 'Twstat.fid');
      const at = w.reserveSize();
      writeStat(w, m.stat, ext);
      w.patchSize(at);
    },
    read: (r, tag, ext) => ({ type: 'Twstat', tag, fid: r.u32('Twstat.fid'), stat: readStatN(r, ext, 'Twstat.stat') }),
  },
  Rwstat: {
    dialects: CLASSIC,
    size: () => 0,
    write() {},
    read: (_r, tag) => ({ type: 'Rwstat', tag }),
  },
};
