/**
 * Loose objects, written the way git writes them (object-file.c `write_loose_object`):
 * the deflated `<type> <size>\0<content>` goes into a `tmp_obj_XXXXXX` file in the
 * object's directory and is renamed to the object's name, so a file under an object's
 * name is always whole. A writer killed midway leaves only a tmp_obj_ file, which git's
 * fsck skips and its gc prunes.
 *
 * isomorphic-git writes a loose object in place and never rewrites one that exists, so a
 * writer killed between open and write left an empty or truncated object under its real
 * name, and a later commit of the same content would point at it. The store writes blobs
 * and trees here itself (also saving isomorphic-git's per-call set-up) and hands
 * isomorphic-git `objectFs()` for the rest.
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

/** `objects/xx/<38 hex>`: a loose object file. */
const LOOSE = /[/\\]objects[/\\][0-9a-f]{2}[/\\][0-9a-f]{38}$/;
const deflate = promisify(deflateCb);
/** Objects smaller than this are deflated on the main thread (the thread pool costs more). */
const SYNC_DEFLATE = 64 * 1024;

/** The calls the writer makes; a test gives others to stand for a writer that dies. */
export interface ObjectWriteFs {
  open(path: string, flags: string, mode: number): Promise<{ writeFile(data: Uint8Array | string): Promise<void>; close(): Promise<void> }>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, opts: { force: boolean }): Promise<void>;
  mkdir(path: string, opts: { recursive: boolean }): Promise<unknown>;
}

/** Writes `data` to `path` through a temporary file in the same directory (made if missing). */
export async function writeWhole(path: string, data: Uint8Array | string, base: ObjectWriteFs = nodeFs.promises): Promise<void> {
  const tmp = join(dirname(path), `tmp_obj_${randomBytes(6).toString('hex')}`);
  let h;
  try {
    h = await base.open(tmp, 'wx', 0o444);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await base.mkdir(dirname(path), { recursive: true });
    h = await base.open(tmp, 'wx', 0o444);
  }
  try {
    await h.writeFile(data);
  } catch (err) {
    await h.close().catch(() => undefined);
    await base.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await h.close();
  await base.rename(tmp, path);
}

/** True when `path` is a loose object file with something in it. */
async function present(path: string): Promise<boolean> {
  try {
    return (await nodeFs.promises.stat(path)).size > 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Writes one object of `type` into `gitdir` unless a whole loose copy is there already;
 * returns its id. (A packed copy is not looked for: a loose duplicate is harmless, and
 * isomorphic-git does the same.)
 */
export async function writeLooseObject(gitdir: string, type: 'blob' | 'tree' | 'commit', content: Uint8Array, base?: ObjectWriteFs): Promise<string> {
  const header = Buffer.from(`${type} ${content.length}\0`);
  const raw = Buffer.concat([header, content]);
  const oid = createHash('sha1').update(raw).digest('hex');
  const path = join(gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
  if (await present(path)) return oid;
  await writeWhole(path, raw.length < SYNC_DEFLATE ? deflateSync(raw) : await deflate(raw), base);
  return oid;
}

/**
 * node's fs for isomorphic-git, except for loose objects: written whole (`writeWhole`),
 * and an empty one (see above) reported absent so it is written again.
 */
export function objectFs(): { promises: typeof nodeFs.promises } {
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
      await writeWhole(path, data);
    }) as typeof nodeFs.promises.writeFile,
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
