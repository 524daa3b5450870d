/**
 * An object's type and size without reading its content (what `git cat-file
 * --batch-check` prints): `stat` of a 1 GiB file in `ro/` must not inflate 1 GiB.
 *
 * - Loose (`objects/xx/<38 hex>`): the zlib stream starts with `<type> <size>\0`; the
 *   first bytes of the file are inflated, no more.
 * - Packed: the idx (version 2) gives the entry's offset; the entry's header gives the
 *   type and size of a whole object. A delta's header gives the delta's size, so for
 *   OFS_DELTA / REF_DELTA the start of the delta is inflated for the result's size (its
 *   second varint), and the type is the base's, followed down the chain.
 *
 * Anything this cannot read (a version 1 idx, a truncated file) is `'unknown'`: the
 * caller reads the object whole instead, as before. A pack whose idx cannot be read is
 * remembered and skipped (the object may still be loose or in another pack). Deltas whose
 * bases name each other (within a pack or across packs) are a corrupt repository:
 * `CORRUPT_OBJECT`, not `'unknown'` (reading such an object whole never ends either). Reads are small (`pread` of a few
 * hundred bytes); idx files are kept (as isomorphic-git keeps its own parse of them) and
 * the pack list is read again when an object is not found in it, or a pack has gone (a
 * merge removed it).
 */
import { promises as fsp } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, inflateSync } from 'node:zlib';
import { DatakitError } from '../errors.js';

export type ObjectType = 'commit' | 'tree' | 'blob' | 'tag';
export interface ObjectInfo {
  type: ObjectType;
  size: number;
}

const TYPES: readonly (ObjectType | undefined)[] = [undefined, 'commit', 'tree', 'blob', 'tag'];
const OFS_DELTA = 6;
const REF_DELTA = 7;
/** git's pack.depth defaults to 50; a chain longer than this (or a loop) is not followed. */
const MAX_CHAIN = 10_000;
/** Bytes read at an entry: its header (at most 10 + 10 + 20) and the start of a delta's zlib stream. */
const ENTRY_READ = 512;
/** Bytes of a loose object file inflated for its header (a dynamic Huffman table comes first). */
const LOOSE_READ = [512, 4096] as const;
/** `<type> <size>`: at most "commit" + ' ' + 16 digits. */
const HEADER_MAX = 32;

interface Idx {
  buf: Buffer;
  n: number;
}

class Unreadable extends Error {}

/**
 * The start of zlib stream `z` (at least `want` bytes where there are that many): its
 * first 32 bytes inflated, then 64, ... until enough comes out. A prefix of a stream
 * inflates (Z_SYNC_FLUSH) to a prefix of its output, and a few dozen bytes of input cannot
 * make more than a few hundred KiB of it, however compressible.
 */
function inflateStart(z: Uint8Array, want: number, until?: (out: Buffer) => boolean): Buffer {
  for (let n = 32; ; n *= 2) {
    let out: Buffer;
    try {
      out = inflateSync(z.subarray(0, n), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 1 << 20 });
    } catch {
      throw new Unreadable('corrupt zlib stream');
    }
    if (out.length >= want || (until?.(out) ?? false) || n >= z.length) return out;
  }
}

/** A pack entry's varint-encoded size (4 bits in the first byte), and where the header ends. */
function entryHeader(b: Buffer): { type: number; size: number; end: number } {
  let i = 0;
  let c = b[i++] ?? 0;
  const type = (c >> 4) & 7;
  let size = c & 0x0f;
  let shift = 4;
  while (c & 0x80) {
    if (i >= b.length || shift > 49) throw new Unreadable('bad entry header');
    c = b[i++] as number;
    size += (c & 0x7f) * 2 ** shift;
    shift += 7;
  }
  return { type, size, end: i };
}

/** A delta's leading varint (little end first), and where it ends. */
function deltaVarint(b: Buffer, at: number): { value: number; end: number } {
  let value = 0;
  let shift = 0;
  for (let i = at; i < b.length; i++) {
    const c = b[i] as number;
    value += (c & 0x7f) * 2 ** shift;
    if ((c & 0x80) === 0) return { value, end: i + 1 };
    shift += 7;
    if (shift > 49) break;
  }
  throw new Unreadable('bad delta header');
}

/** A search for one object: the ids its delta chain has gone through, and whether an unreadable pack was skipped. */
interface Search {
  readonly visiting: Set<string>;
  skipped: boolean;
}

export class ObjectInfoReader {
  #packs: string[] | undefined;
  readonly #idx = new Map<string, Idx>();
  /** Packs whose idx cannot be read here (version 1, truncated): skipped from then on. */
  readonly #badIdx = new Set<string>();

  constructor(private readonly gitdir: string) {}

  /** The object's type and size; `undefined` when absent; `'unknown'` when it cannot be told cheaply. */
  async info(oid: string): Promise<ObjectInfo | undefined | 'unknown'> {
    try {
      const search: Search = { visiting: new Set(), skipped: false };
      const found = await this.#find(oid, search);
      return found === undefined && search.skipped ? 'unknown' : found;
    } catch (err) {
      if (err instanceof Unreadable) return 'unknown';
      throw err;
    }
  }

  async #find(oid: string, search: Search): Promise<ObjectInfo | undefined> {
    if (search.visiting.has(oid) || search.visiting.size >= MAX_CHAIN) {
      throw new DatakitError('CORRUPT_OBJECT', `object ${oid}: its delta chain loops or is longer than ${MAX_CHAIN}`, { oid });
    }
    search.visiting.add(oid);
    const packed = await this.#packed(oid, false, search);
    if (packed !== undefined) return packed;
    const loose = await this.#loose(oid);
    if (loose !== undefined) return loose;
    // A pack written since the list was read (a commit, a fetch, git gc)?
    return this.#packed(oid, true, search);
  }

  async #loose(oid: string): Promise<ObjectInfo | undefined> {
    let fh: FileHandle;
    try {
      fh = await fsp.open(join(this.gitdir, 'objects', oid.slice(0, 2), oid.slice(2)), 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
    try {
      for (const want of LOOSE_READ) {
        const buf = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(buf, 0, want, 0);
        // An empty file is a write cut short (object-fs.ts): absent.
        if (bytesRead === 0) return undefined;
        const out = inflateStart(buf.subarray(0, bytesRead), HEADER_MAX, (o) => o.includes(0));
        const nul = out.indexOf(0);
        if (nul >= 0) return parseHeader(out.subarray(0, nul));
        if (out.length > HEADER_MAX || bytesRead < want) throw new Unreadable('no object header');
      }
      throw new Unreadable('no object header');
    } finally {
      await fh.close();
    }
  }

  async #list(): Promise<string[]> {
    let names: string[];
    try {
      names = await fsp.readdir(join(this.gitdir, 'objects', 'pack'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
      else throw err;
    }
    // Any `<name>.idx` with its `<name>.pack`, as git reads them (`git pack-objects dir/x` makes x-<hash>).
    const all = new Set(names);
    const packs = names.filter((f) => f.endsWith('.idx') && all.has(`${f.slice(0, -4)}.pack`)).map((f) => f.slice(0, -4));
    const now = new Set(packs);
    for (const name of this.#idx.keys()) if (!now.has(name)) this.#idx.delete(name);
    for (const name of this.#badIdx) if (!now.has(name)) this.#badIdx.delete(name);
    this.#packs = packs;
    return packs;
  }

  /** The pack's idx; `undefined` when it has gone or cannot be read here (`search.skipped` then). */
  async #loadIdx(name: string, search: Search): Promise<Idx | undefined> {
    const hit = this.#idx.get(name);
    if (hit !== undefined) return hit;
    if (this.#badIdx.has(name)) {
      search.skipped = true;
      return undefined;
    }
    let buf: Buffer;
    try {
      buf = await fsp.readFile(join(this.gitdir, 'objects', 'pack', `${name}.idx`));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    // Version 2: "\377tOc", version 2, fanout[256], oids, crc32s, offsets, offset64s, 2 sha1s.
    const n = buf.length >= 8 + 1024 ? buf.readUInt32BE(8 + 255 * 4) : 0;
    if (buf.length < 8 + 1024 + 40 || buf.readUInt32BE(0) !== 0xff744f63 || buf.readUInt32BE(4) !== 2 || buf.length < 8 + 1024 + n * 28 + 40) {
      this.#badIdx.add(name);
      search.skipped = true;
      return undefined;
    }
    const idx = { buf, n };
    this.#idx.set(name, idx);
    return idx;
  }

  /** The offset of `oid` in pack `idx`, or -1. */
  #offset(idx: Idx, oid: Buffer): number {
    const { buf, n } = idx;
    const first = oid[0] as number;
    let lo = first === 0 ? 0 : buf.readUInt32BE(8 + (first - 1) * 4);
    let hi = buf.readUInt32BE(8 + first * 4);
    if (hi > n || lo > hi) throw new Unreadable('bad idx fanout');
    const names = 8 + 1024;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = buf.compare(oid, 0, 20, names + mid * 20, names + mid * 20 + 20);
      if (c === 0) {
        const at = names + n * 24 + mid * 4;
        const off = buf.readUInt32BE(at);
        if ((off & 0x80000000) === 0) return off;
        const big = names + n * 28 + (off & 0x7fffffff) * 8;
        if (big + 8 > buf.length) throw new Unreadable('bad idx offset');
        return Number(buf.readBigUInt64BE(big));
      }
      if (c > 0) hi = mid;
      else lo = mid + 1;
    }
    return -1;
  }

  async #packed(oid: string, relist: boolean, search: Search): Promise<ObjectInfo | undefined> {
    const key = Buffer.from(oid, 'hex');
    const packs = relist || this.#packs === undefined ? await this.#list() : this.#packs;
    for (const name of packs) {
      const idx = await this.#loadIdx(name, search);
      if (idx === undefined) continue;
      const off = this.#offset(idx, key);
      if (off < 0) continue;
      let found: ObjectInfo | { base: string; size: number };
      try {
        found = await this.#entry(name, idx, off);
      } catch (err) {
        // Merged away under us: the list is read again, and the object found where it went.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !relist) return this.#packed(oid, true, search);
        throw err;
      }
      if ('type' in found) return found;
      // A delta on an object outside this pack (git never stores one so, but be exact).
      const base = await this.#find(found.base, search);
      if (base === undefined) throw new Unreadable('delta base not found');
      return { type: base.type, size: found.size };
    }
    return undefined;
  }

  /**
   * The object at `off` in pack `name`: a delta's size from its own header, its type from its
   * base; a delta whose base is not in this pack gives that base's id instead of a type.
   */
  async #entry(name: string, idx: Idx, off: number): Promise<ObjectInfo | { base: string; size: number }> {
    const fh = await fsp.open(join(this.gitdir, 'objects', 'pack', `${name}.pack`), 'r');
    try {
      let size: number | undefined;
      const seen = new Set<number>();
      for (let depth = 0; depth < MAX_CHAIN; depth++) {
        if (seen.has(off)) throw new DatakitError('CORRUPT_OBJECT', `${name}.pack: the delta chain at offset ${off} loops`, { pack: name, offset: off });
        seen.add(off);
        const buf = Buffer.allocUnsafe(ENTRY_READ);
        const { bytesRead } = await fh.read(buf, 0, ENTRY_READ, off);
        const b = buf.subarray(0, bytesRead);
        const h = entryHeader(b);
        const type = TYPES[h.type];
        if (type !== undefined) return { type, size: size ?? h.size };
        if (h.type !== OFS_DELTA && h.type !== REF_DELTA) throw new Unreadable(`bad entry type ${h.type}`);
        let base: number;
        let data: number;
        if (h.type === OFS_DELTA) {
          // Big-endian base-128 with an added 1 per continuation (gitformat-pack).
          let i = h.end;
          let c = b[i++] ?? 0;
          let back = c & 0x7f;
          while (c & 0x80) {
            if (i >= b.length || back > 2 ** 45) throw new Unreadable('bad delta offset');
            c = b[i++] as number;
            back = (back + 1) * 128 + (c & 0x7f);
          }
          base = off - back;
          data = i;
          if (base < 12) throw new Unreadable('bad delta offset');
        } else {
          if (h.end + 20 > b.length) throw new Unreadable('truncated entry');
          const baseOid = b.subarray(h.end, h.end + 20);
          data = h.end + 20;
          if (size === undefined) size = this.#deltaResult(b.subarray(data));
          const found = this.#offset(idx, baseOid);
          // Elsewhere: looked for by the caller, this pack's file closed first.
          if (found < 0) return { base: baseOid.toString('hex'), size };
          off = found;
          continue;
        }
        if (size === undefined) size = this.#deltaResult(b.subarray(data));
        off = base;
      }
      throw new DatakitError('CORRUPT_OBJECT', `${name}.pack: a delta chain longer than ${MAX_CHAIN}`, { pack: name });
    } finally {
      await fh.close();
    }
  }

  /** A delta's result size: its second varint, after the base's. */
  #deltaResult(z: Buffer): number {
    const out = inflateStart(z, 20);
    const baseSize = deltaVarint(out, 0);
    return deltaVarint(out, baseSize.end).value;
  }
}

function parseHeader(h: Buffer): ObjectInfo {
  const m = /^(commit|tree|blob|tag) (0|[1-9][0-9]{0,15})$/.exec(h.toString('latin1'));
  if (m === null) throw new Unreadable('bad object header');
  return { type: m[1] as ObjectType, size: Number(m[2]) };
}
