/*
 * 9P2000.L directory entries, the data of Rreaddir.
 *
 * diod protocol.md (readdir): "Directory entries are represented as
 *   variable-length records:  qid[13] offset[8] type[1] name[s]"
 * Linux net/9p/protocol.c p9dirent_read: "Qqbs".
 */
import { Reader, Writer, QID_SIZE, strSize } from './cursor.js';
import { EncodeError } from './errors.js';
import type { Dirent } from './types.js';

/** qid[13] offset[8] type[1] */
const FIXED = QID_SIZE + 8 + 1;

/** Encoded bytes of one entry. Throws EncodeError for a name that cannot be sent. */
export function direntLength(d: Dirent): number {
  return FIXED + strSize(d.name, 'dirent.name');
}

function writeDirent(w: Writer, d: Dirent): void {
  w.qid(d.qid, 'dirent.qid');
  w.u64(d.offset, 'dirent.offset');
  w.u8(d.type, 'dirent.type');
  w.str(d.name);
}

/**
 * Writes one entry at `offset` and returns the bytes written. A server fills
 * an Rreaddir by checking direntLength against the room left under `count`.
 * Throws EncodeError.
 */
export function encodeDirentInto(d: Dirent, buf: Uint8Array, offset: number): number {
  const n = direntLength(d);
  if (!Number.isInteger(offset) || offset < 0 || n > buf.length - offset) {
    throw new EncodeError(`dirent: ${n} bytes do not fit at offset ${offset} of ${buf.length}`, {
      reason: 'buffer-too-small',
    });
  }
  writeDirent(new Writer(buf, offset), d);
  return n;
}

/** Concatenated entries as one buffer. Throws EncodeError. */
export function encodeDirents(entries: readonly Dirent[]): Uint8Array {
  let total = 0;
  for (const d of entries) total += direntLength(d);
  const w = new Writer(new Uint8Array(total), 0);
  for (const d of entries) writeDirent(w, d);
  return w.buf;
}

/** Decodes the data of an Rreaddir; it must hold whole entries only. Throws ProtocolError. */
export function decodeDirents(data: Uint8Array): Dirent[] {
  const r = new Reader(data, 0, data.length);
  const out: Dirent[] = [];
  while (r.pos < r.end) {
    out.push({
      qid: r.qid('dirent.qid'),
      offset: r.u64('dirent.offset'),
      type: r.u8('dirent.type'),
      name: r.str('dirent.name'),
    });
  }
  return out;
}
