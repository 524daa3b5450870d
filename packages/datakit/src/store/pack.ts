/**
 * Pack files (version 2) and their indexes (version 2), as git's
 * Documentation/gitformat-pack.txt describes them, for the objects of one commit written
 * as one pack (store.ts `ObjectBatch`) and for merging such packs into one.
 *
 *   pack:  "PACK" version[4]=2 count[4]  entry*  sha1[20] (of everything before)
 *   entry: type[3 bits] size[4 bits, then 7 bits a byte, little end first, MSB = more]
 *          zlib(content)                  types: 1 commit, 2 tree, 3 blob, 4 tag
 *   idx:   "\377tOc" version[4]=2  fanout[256 x 4]  sha1[20 x n] (sorted)  crc32[4 x n]
 *          offset[4 x n] (MSB set: index into offset64)  offset64[8 x m]
 *          pack sha1[20]  idx sha1[20]
 *
 * Entries are written whole (no deltas), so a merge copies each entry's bytes as they are.
 */
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { STORED_BELOW, writeZlibStored, zlibStoredLength } from './zlib.js';

export type PackType = 'commit' | 'tree' | 'blob' | 'tag';

const TYPE_CODE: Record<PackType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };
const IDX_MAGIC = 0xff744f63;
/** Offsets at or above this go into the idx's 64-bit table. */
const BIG_OFFSET = 0x80000000;

/** One object as stored in a pack: its id, its entry's bytes (header and deflated content), their CRC-32. */
export interface PackEntry {
  oid: string;
  bytes: Uint8Array;
  crc: number;
}

/** An object's pack entry: deflated at `level`, or below `STORED_BELOW` bytes stored (zlib.ts). */
export function packEntry(oid: string, type: PackType, content: Uint8Array, level: number): PackEntry {
  const head: number[] = [];
  let n = content.length;
  let b = (TYPE_CODE[type] << 4) | (n & 0x0f);
  n = Math.floor(n / 16);
  while (n > 0) {
    head.push(b | 0x80);
    b = n & 0x7f;
    n = Math.floor(n / 128);
  }
  head.push(b);
  let bytes: Buffer;
  if (content.length < STORED_BELOW) {
    bytes = Buffer.allocUnsafe(head.length + zlibStoredLength(content.length));
    bytes.set(head, 0);
    writeZlibStored(content, bytes, head.length);
  } else {
    bytes = Buffer.concat([Buffer.from(head), deflateSync(content, { level })]);
  }
  return { oid, bytes, crc: crc32(bytes) };
}

/** The pack and its idx for `entries` (distinct ids), and the pack's name (`pack-<hex>`). */
export function encodePack(entries: readonly PackEntry[]): { name: string; pack: Buffer; idx: Buffer } {
  const n = entries.length;
  let size = 12 + 20;
  for (const e of entries) size += e.bytes.length;
  const pack = Buffer.allocUnsafe(size);
  pack.write('PACK', 0, 'latin1');
  pack.writeUInt32BE(2, 4);
  pack.writeUInt32BE(n, 8);
  let off = 12;
  const offsets = new Map<string, number>();
  for (const e of entries) {
    offsets.set(e.oid, off);
    pack.set(e.bytes, off);
    off += e.bytes.length;
  }
  const packSum = createHash('sha1').update(pack.subarray(0, off)).digest();
  packSum.copy(pack, off);

  const sorted = [...entries].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const big = sorted.filter((e) => (offsets.get(e.oid) as number) >= BIG_OFFSET).length;
  const idx = Buffer.alloc(8 + 256 * 4 + n * (20 + 4 + 4) + big * 8 + 40);
  idx.writeUInt32BE(IDX_MAGIC, 0);
  idx.writeUInt32BE(2, 4);
  const fanout = new Array<number>(256).fill(0);
  for (const e of sorted) (fanout[parseInt(e.oid.slice(0, 2), 16)] as number)++;
  for (let i = 0, sum = 0; i < 256; i++) {
    sum += fanout[i] as number;
    idx.writeUInt32BE(sum, 8 + i * 4);
  }
  const oidsAt = 8 + 1024;
  const crcAt = oidsAt + 20 * n;
  const offAt = crcAt + 4 * n;
  const bigAt = offAt + 4 * n;
  let nextBig = 0;
  sorted.forEach((e, i) => {
    idx.write(e.oid, oidsAt + 20 * i, 'hex');
    idx.writeUInt32BE(e.crc >>> 0, crcAt + 4 * i);
    const o = offsets.get(e.oid) as number;
    if (o < BIG_OFFSET) {
      idx.writeUInt32BE(o, offAt + 4 * i);
    } else {
      idx.writeUInt32BE((BIG_OFFSET | nextBig) >>> 0, offAt + 4 * i);
      idx.writeBigUInt64BE(BigInt(o), bigAt + 8 * nextBig++);
    }
  });
  const sumAt = bigAt + 8 * big;
  packSum.copy(idx, sumAt);
  createHash('sha1').update(idx.subarray(0, sumAt + 20)).digest().copy(idx, sumAt + 20);
  return { name: `pack-${packSum.toString('hex')}`, pack, idx };
}

/**
 * The entries of a pack, read back through its idx, for copying into another pack.
 * Fails (with a plain Error) where the pack is not what `encodePack` writes: a bad
 * header or idx, or a deltified entry (whose bytes could not be copied as they are).
 */
export function packEntries(pack: Uint8Array, idx: Uint8Array): PackEntry[] {
  const p = Buffer.from(pack.buffer, pack.byteOffset, pack.byteLength);
  const x = Buffer.from(idx.buffer, idx.byteOffset, idx.byteLength);
  if (x.length < 8 + 1024 + 40 || x.readUInt32BE(0) !== IDX_MAGIC || x.readUInt32BE(4) !== 2) throw new Error('not a version 2 pack index');
  const n = x.readUInt32BE(8 + 255 * 4);
  const oidsAt = 8 + 1024;
  const crcAt = oidsAt + 20 * n;
  const offAt = crcAt + 4 * n;
  const bigAt = offAt + 4 * n;
  if (x.length < bigAt + 40) throw new Error('pack index too short');
  if (p.length < 32 || p.toString('latin1', 0, 4) !== 'PACK' || p.readUInt32BE(4) !== 2 || p.readUInt32BE(8) !== n) throw new Error('pack header does not match its index');
  const rows: { oid: string; crc: number; off: number }[] = [];
  for (let i = 0; i < n; i++) {
    let off = x.readUInt32BE(offAt + 4 * i);
    if (off & BIG_OFFSET) {
      const at = bigAt + 8 * (off & ~BIG_OFFSET);
      if (at + 8 > x.length - 40) throw new Error('pack index offset out of range');
      off = Number(x.readBigUInt64BE(at));
    }
    rows.push({ oid: x.toString('hex', oidsAt + 20 * i, oidsAt + 20 * i + 20), crc: x.readUInt32BE(crcAt + 4 * i), off });
  }
  rows.sort((a, b) => a.off - b.off);
  const end = p.length - 20;
  return rows.map((r, i) => {
    const to = i + 1 < rows.length ? (rows[i + 1] as { off: number }).off : end;
    if (r.off < 12 || to > end || to <= r.off) throw new Error('pack entry out of range');
    const type = ((p[r.off] as number) >> 4) & 7;
    if (type < 1 || type > 4) throw new Error(`pack entry of type ${type} (a delta)`);
    const bytes = p.subarray(r.off, to);
    if (crc32(bytes) !== r.crc) throw new Error(`pack entry ${r.oid} does not match its CRC-32`);
    return { oid: r.oid, bytes, crc: r.crc };
  });
}
