/*
 * The stat structure of 9P2000 and 9P2000.u.
 *
 * stat(5):   size[2] type[2] dev[4] qid[13] mode[4] atime[4] mtime[4]
 *            length[8] name[s] uid[s] gid[s] muid[s]
 *            "size[2] ... the total byte count of the following data"
 * 9P2000.u:  ... muid[s] extension[s] n_uid[4] n_gid[4] n_muid[4]
 * read(5):   "... reads of directories ... return an integral number of
 *            directory entries ... each stat structure" (concatenated).
 * stat(5):   wstat: "a field ... of ~0 (for integers) or the empty string
 *            (for strings) ... [means] don't touch".
 *
 * For 9P2000.L the .u layout is used, as Linux does (p9_client_statsize),
 * although .L itself has no message that carries a stat.
 */
import { Reader, Writer, QID_SIZE, strSize } from './cursor.js';
import { NONUNAME } from './constants.js';
import { EncodeError } from './errors.js';
import type { Dialect, Stat } from './types.js';

/** size[2] type[2] dev[4] qid[13] mode[4] atime[4] mtime[4] length[8] */
const FIXED = 2 + 2 + 4 + QID_SIZE + 4 + 4 + 4 + 8;
/** n_uid[4] n_gid[4] n_muid[4] */
const FIXED_U = 12;

/** Encoded bytes of a stat, including its own size[2]. */
export function statSize(st: Stat, ext: boolean): number {
  let n =
    FIXED +
    strSize(st.name, 'stat.name') +
    strSize(st.uid, 'stat.uid') +
    strSize(st.gid, 'stat.gid') +
    strSize(st.muid, 'stat.muid');
  if (ext) n += strSize(st.extension ?? '', 'stat.extension') + FIXED_U;
  // Rstat/Twstat put it behind an n[2]; its own size[2] counts the rest.
  if (n > 0xffff) throw new EncodeError(`stat: ${n} bytes, the most is 65535`, { reason: 'too-large', field: 'stat' });
  return n;
}

export function writeStat(w: Writer, st: Stat, ext: boolean): void {
  const at = w.reserveSize();
  w.u16(st.type, 'stat.type');
  w.u32(st.dev, 'stat.dev');
  w.qid(st.qid, 'stat.qid');
  w.u32(st.mode, 'stat.mode');
  w.u32(st.atime, 'stat.atime');
  w.u32(st.mtime, 'stat.mtime');
  w.u64(st.length, 'stat.length');
  w.str(st.name);
  w.str(st.uid);
  w.str(st.gid);
  w.str(st.muid);
  if (ext) {
    w.str(st.extension ?? '');
    w.u32(st.nUid ?? NONUNAME, 'stat.nUid');
    w.u32(st.nGid ?? NONUNAME, 'stat.nGid');
    w.u32(st.nMuid ?? NONUNAME, 'stat.nMuid');
  }
  w.patchSize(at);
}

/** Reads one stat, which must fill exactly the bytes its size[2] claims. */
export function readStat(r: Reader, ext: boolean): Stat {
  const size = r.u16('stat.size');
  r.need(size, 'stat');
  const outer = r.end;
  r.end = r.pos + size;
  const st: Stat = {
    type: r.u16('stat.type'),
    dev: r.u32('stat.dev'),
    qid: r.qid('stat.qid'),
    mode: r.u32('stat.mode'),
    atime: r.u32('stat.atime'),
    mtime: r.u32('stat.mtime'),
    length: r.u64('stat.length'),
    name: r.str('stat.name'),
    uid: r.str('stat.uid'),
    gid: r.str('stat.gid'),
    muid: r.str('stat.muid'),
  };
  if (ext) {
    st.extension = r.str('stat.extension');
    st.nUid = r.u32('stat.nUid');
    st.nGid = r.u32('stat.nGid');
    st.nMuid = r.u32('stat.nMuid');
  }
  if (r.pos !== r.end) r.fail('bad-stat', `stat: size[2] is ${size} but the fields end ${r.end - r.pos} bytes earlier`);
  r.end = outer;
  return st;
}

// ------------------------------------------------------------- public API --

/** Bytes `encodeStat` produces for `stat`, including its size[2]. */
export function statLength(stat: Stat, dialect: Dialect): number {
  return statSize(stat, dialect !== '9P2000');
}

/** Writes one stat at `offset`; returns the bytes written. */
export function encodeStatInto(stat: Stat, dialect: Dialect, buf: Uint8Array, offset: number): number {
  const ext = dialect !== '9P2000';
  const n = statSize(stat, ext);
  if (!Number.isInteger(offset) || offset < 0 || offset + n > buf.length) {
    throw new EncodeError(`stat: ${n} bytes do not fit at offset ${offset} of ${buf.length}`, {
      reason: 'buffer-too-small',
    });
  }
  writeStat(new Writer(buf, offset), stat, ext);
  return n;
}

/** One stat as bytes: an entry of a directory read, for instance. */
export function encodeStat(stat: Stat, dialect: Dialect): Uint8Array {
  const ext = dialect !== '9P2000';
  const buf = new Uint8Array(statSize(stat, ext));
  writeStat(new Writer(buf, 0), stat, ext);
  return buf;
}

/** Decodes exactly one stat filling `buf`. Throws ProtocolError. */
export function decodeStat(buf: Uint8Array, dialect: Dialect): Stat {
  const r = new Reader(buf, 0, buf.length);
  const st = readStat(r, dialect !== '9P2000');
  r.done('stat');
  return st;
}

/**
 * Splits the data of a classic directory read into one view per stat (no
 * copy), checking only each size[2] against what is left. Throws ProtocolError.
 */
export function splitStats(data: Uint8Array): Uint8Array[] {
  const r = new Reader(data, 0, data.length);
  const out: Uint8Array[] = [];
  while (r.pos < r.end) {
    const start = r.pos;
    const size = r.u16('stat.size');
    r.need(size, 'stat');
    r.pos += size;
    out.push(data.subarray(start, r.pos));
  }
  return out;
}

/** Decodes the data of a classic directory read: concatenated stats. Throws ProtocolError. */
export function decodeStats(data: Uint8Array, dialect: Dialect): Stat[] {
  const ext = dialect !== '9P2000';
  const r = new Reader(data, 0, data.length);
  const out: Stat[] = [];
  while (r.pos < r.end) out.push(readStat(r, ext));
  return out;
}

/**
 * A stat whose every field means "don't touch" in a Twstat (stat(5)); set
 * only the fields to change. Includes the .u fields (ignored for 9P2000).
 */
export function dontTouchStat(): Stat {
  return {
    type: 0xffff,
    dev: 0xffffffff,
    qid: { type: 0xff, version: 0xffffffff, path: 0xffffffffffffffffn },
    mode: 0xffffffff,
    atime: 0xffffffff,
    mtime: 0xffffffff,
    length: 0xffffffffffffffffn,
    name: '',
    uid: '',
    gid: '',
    muid: '',
    extension: '',
    nUid: NONUNAME,
    nGid: NONUNAME,
    nMuid: NONUNAME,
  };
}
