/**
 * Loose objects, written the way git writes them (object-file.c `write_loose_object`):
 * the deflated `<type> <size>\0<content>` goes into a `tmp_obj_XXXXXX` file in the
 * object's directory and is renamed to the object's name, so a file under an object's
 * name is always whole. A writer killed midway leaves only a tmp_obj_ file, which git's
 * fsck skips and its gc prunes.
 *
 * isomorphic-git writes a loose object in place and never rewrites one that exists, so a
 * writer killed between open and write left an empty or truncated object under its real
 * name, and a later commit of the same content would point at it. The store writes blobs,
 * trees and commits here itself (also saving isomorphic-git's per-call set-up) and hands
 * isomorphic-git `objectFs()` for the rest.
 *
 * Under `fsync: 'never'` nothing is fsynced: a power cut can then also leave an empty
 * object under a name a ref already points at (git's own default can too).
 *
 * Durability is the store's `syncObjects`: every object a new commit needs is fsynced,
 * with its directory, before the ref moves, all in one batch so the file system can
 * commit them together. Until then an object is only in the page cache: a power cut can
 * leave it empty under its name (as git's own default, core.fsync without loose-object,
 * can). Such a file is never referenced (its commit never moved a ref), and an empty
 * object file is taken for absent here (`stat` answers ENOENT) so that writing the same
 * object again replaces it.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { deflate as deflateCb, deflateSync } from 'node:zlib';
import { STORED_BELOW, zlibStored } from './zlib.js';

/** `objects/xx/<38 hex>`: a loose object file. */
const LOOSE = /[/\\]objects[/\\][0-9a-f]{2}[/\\][0-9a-f]{38}$/;
/** `objects/pack`, where isomorphic-git lists the packs. */
const PACK_DIR = /[/\\]objects[/\\]pack[/\\]?$/;
const deflate = promisify(deflateCb);
/**
 * git's own level for loose objects: core.looseCompression defaults to 1 (best speed).
 * The id is the hash of the uncompressed object, so the level changes only the bytes.
 */
const LOOSE_LEVEL = 1;
/** Objects smaller than this are deflated on the main thread (the thread pool costs more). */
const SYNC_DEFLATE = 64 * 1024;
/** A large object is written this much at a time, other requests served in between. */
const WRITE_CHUNK = 1 << 20;

/**
 * The calls the writer makes; a test gives others to stand for a writer that dies.
 *
 * They are synchronous: creating, writing and renaming a small file touches only the
 * page cache and takes microseconds, less than handing each call to libuv's thread
 * pool and back (a commit makes about a dozen of them). What waits for the disk,
 * fsync, stays asynchronous (store.ts).
 */
export interface ObjectWriteFs {
  openSync(path: string, flags: string, mode: number): number;
  writeSync(fd: number, data: Uint8Array): number;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  rmSync(path: string, opts: { force: boolean }): void;
  mkdirSync(path: string, opts: { recursive: boolean }): unknown;
}

/**
 * Temporary file names: a random part drawn once per process, and a counter (a random
 * draw per file took 20 us here); O_EXCL still refuses a name that is taken.
 */
const TMP_PREFIX = `tmp_obj_${randomBytes(6).toString('hex')}_`;
let tmpCount = 0;

/** Writes `data` to `path` through a temporary file in the same directory (made if missing). */
export async function writeWhole(path: string, data: Uint8Array, base: ObjectWriteFs = nodeFs): Promise<void> {
  const tmp = join(dirname(path), `${TMP_PREFIX}${(tmpCount++).toString(36)}`);
  let fd;
  try {
    fd = base.openSync(tmp, 'wx', 0o444);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    base.mkdirSync(dirname(path), { recursive: true });
    fd = base.openSync(tmp, 'wx', 0o444);
  }
  try {
    for (let off = 0; off < data.length; ) {
      off += base.writeSync(fd, data.subarray(off, off + WRITE_CHUNK));
      if (off < data.length) await new Promise((r) => setImmediate(r));
    }
  } catch (err) {
    try {
      base.closeSync(fd);
      base.rmSync(tmp, { force: true });
    } catch {
      // The write's error is the one to report.
    }
    throw err;
  }
  base.closeSync(fd);
  base.renameSync(tmp, path);
}

/** True when `path` is a loose object file with something in it. */
function present(path: string): boolean {
  const st = nodeFs.statSync(path, { throwIfNoEntry: false });
  return st !== undefined && st.size > 0;
}

/** `<type> <size>\0<content>` and its id. */
export function hashObject(type: 'blob' | 'tree' | 'commit', content: Uint8Array): { oid: string; raw: Buffer } {
  const raw = Buffer.concat([Buffer.from(`${type} ${content.length}\0`), content]);
  return { oid: createHash('sha1').update(raw).digest('hex'), raw };
}

/** An object's id: the SHA-1 of `<type> <size>\0<content>`. */
export function objectId(type: 'blob' | 'tree' | 'commit', content: Uint8Array): string {
  return createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
}

/**
 * Writes one object of `type` into `gitdir` unless a whole loose copy is there already;
 * returns its id. (A packed copy is not looked for: a loose duplicate is harmless, and
 * isomorphic-git does the same.)
 */
export async function writeLooseObject(gitdir: string, type: 'blob' | 'tree' | 'commit', content: Uint8Array, base?: ObjectWriteFs): Promise<string> {
  const { oid, raw } = hashObject(type, content);
  const path = join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
  if (present(path)) return oid;
  const opts = { level: LOOSE_LEVEL };
  // Small objects stored, not compressed (zlib.ts); the rest deflated, large ones off the main thread.
  const z = raw.length < STORED_BELOW ? zlibStored(raw) : raw.length < SYNC_DEFLATE ? deflateSync(raw, opts) : await deflate(raw, opts);
  await writeWhole(path, z, base);
  return oid;
}

/**
 * node's fs for isomorphic-git, except for loose objects: written whole (`writeWhole`),
 * and an empty one (see above) reported absent so it is written again.
 */
export function objectFs(small?: (pack: string) => boolean): { promises: typeof nodeFs.promises } {
  // isomorphic-git probes every fs it is given, on every call, with readFile() and no
  // path; node answers with a freshly built TypeError (a stack trace each time).
  const probe = Object.assign(new TypeError('readFile: no path'), { code: 'ERR_INVALID_ARG_TYPE' });
  const promises: typeof nodeFs.promises = {
    ...nodeFs.promises,
    readFile: ((path: unknown, opts?: unknown) =>
      path === undefined ? Promise.reject(probe) : nodeFs.promises.readFile(path as string, opts as { encoding: null })) as typeof nodeFs.promises.readFile,
    writeFile: (async (path: unknown, data: unknown, opts?: unknown) => {
      if (typeof path !== 'string' || !LOOSE.test(path) || !(data instanceof Uint8Array || typeof data === 'string')) {
        return nodeFs.promises.writeFile(path as string, data as string, opts as nodeFs.WriteFileOptions);
      }
      await writeWhole(path, typeof data === 'string' ? Buffer.from(data) : data);
    }) as typeof nodeFs.promises.writeFile,
    // isomorphic-git looks for a packed object through the idx files in the order listed,
    // loading each on first use: the many small packs (`small`) go last, so that reading
    // an object from git's own packs does not load every one of theirs.
    readdir: (async (path: unknown, opts?: unknown) => {
      const list = await nodeFs.promises.readdir(path as string, opts as undefined);
      if (small === undefined || typeof path !== 'string' || !PACK_DIR.test(path)) return list;
      const last = (f: string): boolean => f.endsWith('.idx') && small(f.slice(0, -4));
      return [...list.filter((f) => !last(f)), ...list.filter(last)];
    }) as typeof nodeFs.promises.readdir,
    stat: (async (path: unknown, opts?: unknown) => {
      const st = await nodeFs.promises.stat(path as string, opts as nodeFs.StatOptions);
      if (typeof path === 'string' && st.size === 0 && LOOSE.test(path)) {
        throw Object.assign(new Error(`ENOENT: empty object file, stat '${path}'`), { code: 'ENOENT', errno: -2, syscall: 'stat', path });
      }
      return st;
    }) as typeof nodeFs.promises.stat,
  };
  return { promises };
}
