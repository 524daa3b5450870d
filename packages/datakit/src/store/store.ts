/**
 * `Store`: a bare git repository on disk, written through isomorphic-git.
 *
 * Ref updates are compare-and-swap (`updateBranch(name, expected, next)`), which
 * isomorphic-git does not offer: they take git's own ref lock, so they are exact against
 * other writers in this process and against the `git` CLI.
 */
import * as fs from 'node:fs';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import git from 'isomorphic-git';
import { DatakitError } from '../errors.js';
import { withLockFile } from './lock.js';
import { objectFs, objectId, writeLooseObject, writeWhole } from './object-fs.js';
import { ObjectInfoReader } from './object-info.js';
import type { PackEntry } from './pack.js';
import { encodePack, packEntries, packEntry } from './pack.js';

/**
 * When the store fsyncs: `always` (the default) makes new objects and the ref durable
 * before a ref move is acknowledged; `never` leaves it to the kernel, as git's default
 * `core.fsync` does for loose objects and refs and libgit2 does for everything (a power
 * cut can then lose recent commits, or leave a ref pointing at an empty object; a killed
 * process loses nothing, the page cache survives it).
 */
export type FsyncMode = 'always' | 'never';

export type Oid = string;

export interface TreeEntry {
  /** `100644` file, `100755` executable, `120000` symlink, `040000` tree. */
  mode: '100644' | '100755' | '120000' | '040000';
  path: string;
  oid: Oid;
  type: 'blob' | 'tree';
}

export interface Signature {
  name: string;
  email: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** Minutes, as `Date.prototype.getTimezoneOffset` gives them. */
  timezoneOffset?: number;
}

/** A commit as read back. */
export interface CommitInfo {
  oid: Oid;
  tree: Oid;
  parents: Oid[];
  message: string;
  author: Signature;
  committer: Signature;
}

export interface CommitInput {
  tree: Oid;
  parents: Oid[];
  message: string;
  author: Signature;
  committer?: Signature;
}

const OID = /^[0-9a-f]{40}$/;

/** True for a full lower-case SHA-1 hex id. */
export function isOid(s: string): boolean {
  return OID.test(s);
}

/** Parsed trees are immutable: a small cache saves re-inflating them on every walk. */
const TREE_CACHE = 4096;
const COMMIT_CACHE = 4096;
/** Blob sizes kept by `blobSize` (8 bytes and an id each). */
const SIZE_CACHE = 65_536;
// git check-ref-format, the parts that matter for branch names given by users.
const BAD_BRANCH = /(^|\/)\.|\.\.|[\x00-\x20\x7f~^:?*[\\]|@\{|\.lock(\/|$)|\/$|^\/|\/\/|^$|\.$|^@$/;

export function isValidBranchName(name: string): boolean {
  // `git check-ref-format --branch` also refuses "HEAD" and a leading '-' (an option to git).
  return name.length <= 255 && !BAD_BRANCH.test(name) && name !== 'HEAD' && !name.startsWith('-');
}

const fsyncFd = promisify(fs.fsync);

/**
 * Packs: a commit's new objects go into one pack (`ObjectBatch`), two files where loose
 * objects take one each. Objects this large or larger are written loose instead (their
 * deflate runs off the main thread there, and a pack is built in memory).
 */
const PACKED_MAX = 64 * 1024;
/** Pack entries are deflated at git's loose-object level too: speed over size. */
const PACK_LEVEL = 1;
/**
 * The bound on small packs: when more than `MAX_PACKS` are there (written by this store,
 * or found at open below `ADOPT_MAX_BYTES`), the smallest are merged into one, leaving at
 * most `MERGE_DOWN_TO`; each merge takes the smallest packs, and any further pack smaller
 * than all those taken so far together, so that merged packs grow geometrically and an
 * object is copied a logarithmic number of times (in a simulation of 4 KB packs: 0.95
 * copies of each byte over 300 commits, 1.9 over 3,000, 3.5 over 30,000; with "smaller
 * than twice" 2.2, 3.8 and 6.0, with 25-30% fewer merges).
 */
const MAX_PACKS = 32;
const MERGE_DOWN_TO = 16;
/** Packs at least this large are left alone (a merge reads and writes in one go). */
const MERGE_MAX_BYTES = 8 << 20;
/**
 * Packs found at open are merged only below this size: a commit's own pack is well
 * under it, and git's packs (a clone's, `git gc`'s, `fast-import`'s) are left as git made them.
 */
const ADOPT_MAX_BYTES = 64 << 10;
/** A pack with one of these beside it is git's business (kept, promised, indexed further). */
const PACK_SIDECARS = ['.keep', '.promisor', '.bitmap', '.rev', '.mtimes'];

/**
 * Objects written together as one pack: `Store.batch()` makes one; `writeBlob`,
 * `writeTree` and `writeCommit` given it hash their object into it; `commitBatch` writes
 * it (a pack and its idx) and starts making it durable. Until then nothing is on disk.
 */
export class ObjectBatch {
  /** The objects to pack, by id (an object added twice is packed once). */
  readonly objects = new Map<Oid, { type: 'blob' | 'tree' | 'commit'; content: Uint8Array }>();
  /** Objects written loose meanwhile (large ones): made durable with the pack. */
  readonly loose: Oid[] = [];
  /** Trees and commits to remember once they are written. */
  readonly trees = new Map<Oid, readonly TreeEntry[]>();
  readonly commits: CommitInfo[] = [];
}

/**
 * fsyncs a file or a directory. One that is not there is skipped (a packed object is
 * durable already); file systems that refuse to fsync a directory are let be. The open
 * and close are synchronous (microseconds); the fsync waits for the disk off the loop.
 */
async function fsyncPath(path: string, file: boolean, counted: () => void): Promise<void> {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  counted();
  try {
    await fsyncFd(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (file || (code !== 'EINVAL' && code !== 'EISDIR')) throw err;
  } finally {
    closeSync(fd);
  }
}

const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Tree entry names as strings whose `<` order is the order of their UTF-8 bytes, as git
 * compares them. Strings without surrogates compare by code point, which is that order;
 * where any name has one, every name becomes its bytes, one char each.
 */
function byteOrdered(names: readonly string[]): string[] {
  return names.some((n) => SURROGATE.test(n)) ? names.map((n) => Buffer.from(n).toString('latin1')) : [...names];
}

/**
 * `xs` sorted by `key`, in place; checked first, since a tree rewritten with one entry
 * changed is in order already.
 */
function sortedBy<T>(xs: T[], key: (x: T) => string): T[] {
  const cmp = (a: T, b: T): number => {
    const x = key(a);
    const y = key(b);
    return x < y ? -1 : x > y ? 1 : 0;
  };
  for (let i = 1; i < xs.length; i++) if (cmp(xs[i - 1] as T, xs[i] as T) > 0) return xs.sort(cmp);
  return xs;
}

/** git's commit text (isomorphic-git's GitCommit.render, byte for byte). */
function renderCommit(c: { tree: Oid; parents: readonly Oid[]; message: string; author: Required<Signature>; committer: Required<Signature> }): string {
  const who = (s: Required<Signature>): string => {
    // getTimezoneOffset's sign is the reverse of git's: -60 is "+0100".
    const m = Math.abs(s.timezoneOffset);
    const sign = s.timezoneOffset > 0 || Object.is(s.timezoneOffset, -0) ? '-' : '+';
    const tz = `${sign}${String(Math.floor(m / 60)).padStart(2, '0')}${String(m % 60).padStart(2, '0')}`;
    return `${s.name} <${s.email}> ${s.timestamp} ${tz}`;
  };
  const parents = c.parents.map((p) => `parent ${p}\n`).join('');
  return `tree ${c.tree}\n${parents}author ${who(c.author)}\ncommitter ${who(c.committer)}\n\n${normalizeMessage(c.message)}`;
}

/** A commit message as git stores it here: no CRs, no leading blank lines, one final newline. */
function normalizeMessage(m: string): string {
  return `${m.replace(/\r/g, '').replace(/^\n+/, '').replace(/\n+$/, '')}\n`;
}

const refBuf = Buffer.allocUnsafe(256);
/**
 * A loose ref's text, trimmed: open, one read, close (readFileSync adds an fstat and a
 * second read to find the end; a short read of a regular file is its end).
 */
function readRef(path: string): string {
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, refBuf, 0, refBuf.length, 0);
  } finally {
    closeSync(fd);
  }
  return n < refBuf.length ? refBuf.toString('latin1', 0, n).trim() : readFileSync(path, 'utf8').trim();
}

export class Store {
  readonly gitdir: string;
  /** isomorphic-git's cache (parsed pack indexes among others). */
  readonly #cache = {};
  /** Packs that may be merged (`MAX_PACKS`): name (`pack-<hex>`) and size. */
  readonly #packs = new Map<string, number>();
  #merging = false;
  /** Pack merges done; a read that fails across one is tried again (its pack may be gone). */
  #merges = 0;
  /** Pack merges done by this store (for tests and diagnostics). */
  packMerges = 0;
  readonly #trees = new Map<Oid, readonly TreeEntry[]>();
  /** Commits whose objects are being made durable (`syncObjectsFor`), until they are. */
  readonly #syncing = new Map<Oid, Promise<void>>();
  /** Commits are immutable too; a commit is read several times while it is a head. */
  readonly #commits = new Map<Oid, CommitInfo>();
  /** Loose objects are written whole (tmp file, rename): see object-fs.ts. */
  readonly #fs = objectFs((name) => this.#packs.has(name));
  readonly fsync: FsyncMode;
  /** fsync calls made (files and directories): debug/stats `fsyncs`. */
  fsyncs = 0;

  private constructor(gitdir: string, fsync: FsyncMode) {
    this.gitdir = gitdir;
    this.fsync = fsync;
    this.#info = new ObjectInfoReader(gitdir);
  }

  /**
   * Opens (creating if needed) a bare repository. `fsync: 'never'` trades durability
   * against power loss for speed (see `FsyncMode`); the default is `'always'`.
   *
   * @example
   * const store = await Store.open({ gitdir: '/var/lib/kitbox/state.git' });
   */
  static async open({ gitdir, fsync = 'always' }: { gitdir: string; fsync?: FsyncMode }): Promise<Store> {
    if (fsync !== 'always' && fsync !== 'never') throw new DatakitError('INVALID_ARGUMENT', `fsync must be 'always' or 'never', not ${JSON.stringify(fsync)}`);
    mkdirSync(gitdir, { recursive: true });
    await git.init({ fs, gitdir, bare: true, defaultBranch: 'master' });
    const store = new Store(gitdir, fsync);
    store.#findPacks();
    return store;
  }

  /** Small packs already there (from earlier runs) count toward the bound and may be merged. */
  #findPacks(): void {
    const dir = join(this.gitdir, 'objects', 'pack');
    mkdirSync(dir, { recursive: true });
    const names = new Set(readdirSync(dir));
    for (const f of names) {
      const m = /^(pack-[0-9a-f]{40,64})\.idx$/.exec(f);
      if (m === null) continue;
      const name = m[1] as string;
      if (PACK_SIDECARS.some((x) => names.has(`${name}${x}`)) || !names.has(`${name}.pack`)) continue;
      const size = statSync(join(dir, `${name}.pack`), { throwIfNoEntry: false })?.size;
      if (size !== undefined && size < ADOPT_MAX_BYTES) this.#packs.set(name, size);
    }
  }

  /** A batch of objects to be written as one pack (`ObjectBatch`). */
  batch(): ObjectBatch {
    return new ObjectBatch();
  }

  /** Writes an object loose, or adds it to `batch`; its id. */
  async #put(type: 'blob' | 'tree' | 'commit', content: Uint8Array, batch: ObjectBatch | undefined): Promise<Oid> {
    if (batch === undefined || content.length >= PACKED_MAX) {
      const oid = await writeLooseObject(this.gitdir, type, content);
      batch?.loose.push(oid);
      return oid;
    }
    const oid = objectId(type, content);
    if (!batch.objects.has(oid)) batch.objects.set(oid, { type, content });
    return oid;
  }

  /**
   * Writes `batch`'s objects, and starts making them durable as `syncObjectsFor` does for
   * `commit` (which must be among them or already written): one pack and its idx when
   * there are two objects or more (the idx is renamed into place last: git and
   * isomorphic-git read a pack only through its idx), loose otherwise. Then, past the
   * bound on packs, merges the smallest in the background.
   */
  async commitBatch(commit: Oid, batch: ObjectBatch, parents: readonly Oid[] = []): Promise<void> {
    const objects = [...batch.objects];
    const files: string[] = [];
    if (objects.length >= 2) {
      const { name, pack, idx } = encodePack(objects.map(([oid, o]) => packEntry(oid, o.type, o.content, PACK_LEVEL)));
      const dir = join(this.gitdir, 'objects', 'pack');
      files.push(join(dir, `${name}.pack`), join(dir, `${name}.idx`));
      await writeWhole(files[0] as string, pack);
      await writeWhole(files[1] as string, idx);
      files.push(dir);
      if (pack.length < MERGE_MAX_BYTES) this.#packs.set(name, pack.length);
    } else {
      for (const [, o] of objects) batch.loose.push(await writeLooseObject(this.gitdir, o.type, o.content));
    }
    for (const [oid, entries] of batch.trees) this.#cacheTree(oid, entries);
    for (const c of batch.commits) this.#cacheCommit(c);
    batch.objects.clear();
    const durable = Promise.all([batch.loose.length > 0 ? this.syncObjects(batch.loose) : undefined, this.#syncPaths(files)]);
    this.#syncFor(commit, durable, parents);
    if (this.#packs.size > MAX_PACKS && !this.#merging) {
      this.#merging = true;
      setImmediate(() => {
        this.#mergePacks()
          .catch(() => undefined)
          .finally(() => {
            this.#merging = false;
          });
      });
    }
  }

  /** fsyncs these files (and, last in the list, their directory) at once; nothing with `fsync: 'never'`. */
  async #syncPaths(paths: readonly string[]): Promise<void> {
    if (this.fsync === 'never' || paths.length === 0) return;
    const counted = (): void => {
      this.fsyncs++;
    };
    await Promise.all(paths.map((p, i) => fsyncPath(p, i < paths.length - 1, counted)));
  }

  /**
   * Merges the smallest packs (see `MAX_PACKS`) into one: their entries copied as they
   * are into a new pack, made durable (with `fsync: 'always'`) before the old packs are
   * removed, idx first. A pack that cannot be read as one of ours (gone, deltified) is
   * left out of the count from then on.
   */
  async #mergePacks(): Promise<void> {
    const dir = join(this.gitdir, 'objects', 'pack');
    const bySize = [...this.#packs].sort((a, b) => a[1] - b[1]);
    const want = bySize.length - MERGE_DOWN_TO + 1;
    const entries = new Map<Oid, PackEntry>();
    const taken: string[] = [];
    let total = 0;
    for (const [name, size] of bySize) {
      if (taken.length >= want && size >= total) break;
      let got: PackEntry[];
      try {
        got = packEntries(readFileSync(join(dir, `${name}.pack`)), readFileSync(join(dir, `${name}.idx`)));
      } catch {
        this.#packs.delete(name);
        continue;
      }
      for (const e of got) if (!entries.has(e.oid)) entries.set(e.oid, e);
      taken.push(name);
      total += size;
    }
    if (taken.length < 2) return;
    const { name, pack, idx } = encodePack([...entries.values()]);
    const packPath = join(dir, `${name}.pack`);
    const idxPath = join(dir, `${name}.idx`);
    await writeWhole(packPath, pack);
    await writeWhole(idxPath, idx);
    await this.#syncPaths([packPath, idxPath, dir]);
    for (const t of taken) this.#packs.delete(t);
    if (pack.length < MERGE_MAX_BYTES) this.#packs.set(name, pack.length);
    this.#merges++;
    this.packMerges++;
    for (const t of taken) {
      if (t === name) continue;
      rmSync(join(dir, `${t}.idx`), { force: true });
      rmSync(join(dir, `${t}.pack`), { force: true });
      this.#forgetPack(join(dir, `${t}.idx`));
    }
  }

  /**
   * Drops a removed pack from isomorphic-git's cache, which holds each pack it read (its
   * parsed idx and its bytes) in a Map by idx path; the other packs stay parsed.
   */
  #forgetPack(idxPath: string): void {
    const cache = this.#cache as Record<symbol, unknown>;
    for (const k of Object.getOwnPropertySymbols(cache)) {
      const m = cache[k];
      if (m instanceof Map) m.delete(idxPath);
    }
  }

  /** An isomorphic-git read, tried again if packs were merged away under it. */
  async #read<T>(f: () => Promise<T>): Promise<T> {
    const merges = this.#merges;
    try {
      return await f();
    } catch (err) {
      if (merges === this.#merges) throw err;
      return f();
    }
  }

  /** Writes a blob (loose, not yet fsynced: see `syncObjects`), or adds it to `batch`. */
  writeBlob(data: Uint8Array, batch?: ObjectBatch): Promise<Oid> {
    return this.#put('blob', data, batch);
  }

  /**
   * Writes one tree level; entries are sorted the way git requires (by name, a tree's
   * name compared as if it ended in '/').
   */
  async writeTree(entries: readonly TreeEntry[], batch?: ObjectBatch): Promise<Oid> {
    const ordered = byteOrdered(entries.map((e) => e.path));
    const names = new Set<string>();
    let size = 0;
    const rows = entries.map((e, i) => {
      if (e.path === '' || e.path.includes('/') || e.path === '.' || e.path === '..' || e.path.includes('\0')) {
        throw new DatakitError('INVALID_NAME', `invalid tree entry name ${JSON.stringify(e.path)}`);
      }
      if (!OID.test(e.oid)) throw new DatakitError('INVALID_HASH', `invalid object id ${JSON.stringify(e.oid)}`);
      const name = ordered[i] as string;
      if (names.has(name)) throw new DatakitError('INVALID_NAME', `duplicate tree entry name ${JSON.stringify(e.path)}`);
      names.add(name);
      // git writes a tree's mode without its leading zero (fsck --strict: zeroPaddedFilemode).
      const mode = e.mode === '040000' ? '40000' : e.mode;
      size += mode.length + 1 + Buffer.byteLength(e.path) + 1 + 20;
      return { e, mode, name, key: e.mode === '040000' ? `${name}/` : name };
    });
    // `<mode> <name>\0<20-byte id>` for each entry, written in place.
    const body = Buffer.allocUnsafe(size);
    let off = 0;
    for (const { e, mode } of sortedBy(rows, (r) => r.key)) {
      off += body.write(mode, off, 'latin1');
      body[off++] = 0x20;
      off += body.write(e.path, off, 'utf8');
      body[off++] = 0;
      off += body.write(e.oid, off, 'hex');
    }
    const oid = await this.#put('tree', body, batch);
    // The next transaction starts from this tree: it need not be read back and inflated.
    // Kept in the order readTree gives (isomorphic-git's: by name, code point order).
    const parsed = sortedBy([...rows], (r) => r.name).map(({ e }): TreeEntry => ({ mode: e.mode, path: e.path, oid: e.oid, type: e.mode === '040000' ? 'tree' : 'blob' }));
    if (batch === undefined) this.#cacheTree(oid, parsed);
    else batch.trees.set(oid, parsed);
    return oid;
  }

  /** Writes a commit (git's format, as isomorphic-git writes it; loose, not yet fsynced), or adds it to `batch`. */
  async writeCommit(c: CommitInput, batch?: ObjectBatch): Promise<Oid> {
    for (const o of [c.tree, ...c.parents]) if (!OID.test(o)) throw new DatakitError('INVALID_HASH', `invalid object id ${JSON.stringify(o)}`);
    const author = { timezoneOffset: 0, ...c.author };
    const committer = { timezoneOffset: 0, ...(c.committer ?? c.author) };
    const oid = await this.#put('commit', Buffer.from(renderCommit({ tree: c.tree, parents: c.parents, message: c.message, author, committer })), batch);
    // As readCommit parses it back: transactions and merges start from it next.
    const info = { oid, tree: c.tree, parents: [...c.parents], message: normalizeMessage(c.message), author, committer };
    if (batch === undefined) this.#cacheCommit(info);
    else batch.commits.push(info);
    return oid;
  }

  /** The commit a branch points at, or `undefined` for a branch that does not exist. */
  async branchHead(name: string): Promise<Oid | undefined> {
    this.#checkBranch(name);
    // The loose ref, read directly and synchronously: this runs several times per
    // commit, and a 41-byte read costs less than a trip through the thread pool.
    try {
      const text = readRef(join(this.gitdir, 'refs', 'heads', ...name.split('/')));
      if (OID.test(text)) return text;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR') throw err;
    }
    // Packed, symbolic or odd: isomorphic-git knows them all.
    try {
      return await git.resolveRef({ fs: this.#fs, gitdir: this.gitdir, ref: `refs/heads/${name}` });
    } catch (err) {
      if ((err as { code?: string }).code === 'NotFoundError') return undefined;
      throw err;
    }
  }

  /** One tree level, as git stores it (sorted). Fails with NotFoundError / ObjectTypeError codes. */
  async readTree(oid: Oid): Promise<readonly TreeEntry[]> {
    const hit = this.#trees.get(oid);
    if (hit !== undefined) return hit;
    const r = await this.#read(() => git.readTree({ fs: this.#fs, gitdir: this.gitdir, oid, cache: this.#cache }));
    const entries = r.tree.map((e) => ({ mode: e.mode as TreeEntry['mode'], path: e.path, oid: e.oid, type: e.type as TreeEntry['type'] }));
    this.#cacheTree(oid, entries);
    return entries;
  }

  #cacheTree(oid: Oid, entries: readonly TreeEntry[]): void {
    if (this.#trees.size >= TREE_CACHE) this.#trees.clear();
    this.#trees.set(oid, entries);
  }

  #cacheCommit(info: CommitInfo): void {
    if (this.#commits.size >= COMMIT_CACHE) this.#commits.clear();
    this.#commits.set(info.oid, info);
  }

  /**
   * A blob's bytes. While any reader still holds them (an open fid of ro/ or trees/, a
   * transaction's unchanged file), the same object is returned: a dozen opens of one large
   * file hold one copy, not a dozen. Readers must not change them (rw/ copies on first write).
   */
  async readBlob(oid: Oid): Promise<Uint8Array> {
    const held = this.#blobs.get(oid)?.deref();
    if (held !== undefined) return held;
    const blob = (await this.#read(() => git.readBlob({ fs: this.#fs, gitdir: this.gitdir, oid, cache: this.#cache }))).blob;
    const again = this.#blobs.get(oid)?.deref();
    if (again !== undefined) return again;
    this.#blobs.set(oid, new WeakRef(blob));
    this.#blobsGone.register(blob, oid);
    return blob;
  }

  readonly #blobs = new Map<Oid, WeakRef<Uint8Array>>();
  readonly #blobsGone = new FinalizationRegistry<Oid>((oid) => {
    if (this.#blobs.get(oid)?.deref() === undefined) this.#blobs.delete(oid);
  });

  async readCommit(oid: Oid): Promise<CommitInfo> {
    const hit = this.#commits.get(oid);
    if (hit !== undefined) return { ...hit, parents: [...hit.parents] };
    const r = await this.#read(() => git.readCommit({ fs: this.#fs, gitdir: this.gitdir, oid, cache: this.#cache }));
    const c = r.commit;
    const info = { oid: r.oid, tree: c.tree, parents: [...c.parent], message: c.message, author: c.author, committer: c.committer };
    this.#cacheCommit(info);
    return { ...info, parents: [...info.parents] };
  }

  /**
   * A blob's size, without reading it where it can be told from its header (a loose
   * object's first bytes, a pack entry's header and a delta's first bytes): `stat` of a
   * large file in ro/ or trees/ must not inflate it. Fails as readBlob does for an object
   * that is not there or not a blob.
   */
  async blobSize(oid: Oid): Promise<number> {
    const held = this.#blobs.get(oid)?.deref();
    if (held !== undefined) return held.length;
    const known = this.#sizes.get(oid);
    if (known !== undefined) return known;
    const info = OID.test(oid) ? await this.#read(() => this.#info.info(oid)) : undefined;
    if (info === undefined || info === 'unknown' || info.type !== 'blob') return (await this.readBlob(oid)).length;
    if (this.#sizes.size >= SIZE_CACHE) this.#sizes.clear();
    this.#sizes.set(oid, info.size);
    return info.size;
  }

  /** Blob sizes told by `blobSize` (objects never change). */
  readonly #sizes = new Map<Oid, number>();
  readonly #info: ObjectInfoReader;

  /** The object's type, or `undefined` when the repository does not hold it. */
  async objectType(oid: Oid): Promise<'blob' | 'tree' | 'commit' | 'tag' | undefined> {
    if (!OID.test(oid)) return undefined;
    // Known without reading: a transaction's parent is checked on every commit.
    if (this.#commits.has(oid)) return 'commit';
    if (this.#trees.has(oid)) return 'tree';
    // From the object's header: a 1 GiB blob looked up in trees/ is not inflated.
    const info = await this.#read(() => this.#info.info(oid));
    if (info !== 'unknown' && info !== undefined) return info.type;
    // Not found by header (or not readable so): isomorphic-git's lookup has the last word.
    try {
      const r = await this.#read(() => git.readObject({ fs: this.#fs, gitdir: this.gitdir, oid, format: 'content', cache: this.#cache }));
      return r.type === 'blob' || r.type === 'tree' || r.type === 'commit' || r.type === 'tag' ? r.type : undefined;
    } catch (err) {
      if ((err as { code?: string }).code === 'NotFoundError') return undefined;
      throw err;
    }
  }

  /** The object's content without git's header (what `git cat-file <type> <oid>` prints). */
  async readRaw(oid: Oid): Promise<{ type: string; content: Uint8Array }> {
    const r = await this.#read(() => git.readObject({ fs: this.#fs, gitdir: this.gitdir, oid, format: 'content', cache: this.#cache }));
    return { type: r.type, content: r.object as Uint8Array };
  }

  /** Names of the branches (refs/heads/*), loose or packed. */
  listBranches(): Promise<string[]> {
    return git.listBranches({ fs: this.#fs, gitdir: this.gitdir });
  }

  /**
   * True when `ancestor` is `oid` or one of its ancestors. Walks the history through
   * readCommit's cache: a commit's parent (what a transaction commit checks) is found
   * at the first step, without reading anything from disk.
   */
  async isAncestor(ancestor: Oid, oid: Oid): Promise<boolean> {
    if (ancestor === oid) return true;
    const seen = new Set<Oid>([oid]);
    const queue: Oid[] = [oid];
    while (queue.length > 0) {
      const next: Oid[] = [];
      for (const c of await Promise.all(queue.map((q) => this.#parentsOf(q)))) {
        for (const p of c) {
          if (p === ancestor) return true;
          if (!seen.has(p)) {
            seen.add(p);
            next.push(p);
          }
        }
      }
      queue.splice(0, queue.length, ...next);
    }
    return false;
  }

  /**
   * A commit's parents for a history walk. In a shallow repository (`shallow` lists the
   * commits whose parents were not fetched) the walk ends where the history does, as
   * isomorphic-git's `isDescendent` did; elsewhere a missing commit is an error.
   */
  async #parentsOf(oid: Oid): Promise<readonly Oid[]> {
    try {
      return (await this.readCommit(oid)).parents;
    } catch (err) {
      if ((err as { code?: string }).code !== 'NotFoundError') throw err;
      let shallow: string;
      try {
        shallow = readFileSync(join(this.gitdir, 'shallow'), 'utf8');
      } catch {
        throw err;
      }
      if (shallow.trim() === '') throw err;
      return [];
    }
  }

  /** A best common ancestor of two commits, or `undefined` when they share no history. */
  async mergeBase(a: Oid, b: Oid): Promise<Oid | undefined> {
    const r = (await this.#read(() => git.findMergeBase({ fs: this.#fs, gitdir: this.gitdir, oids: [a, b], cache: this.#cache }))) as Oid[];
    return r[0];
  }

  /**
   * Makes loose objects durable: fsyncs each object file and its directory, all at
   * once. Called before a ref is moved to point at them (objects already packed are
   * durable and are skipped).
   */
  async syncObjects(oids: Iterable<Oid>): Promise<void> {
    if (this.fsync === 'never') return;
    const dirs = new Set<string>([join(this.gitdir, 'objects')]);
    const files: string[] = [];
    for (const oid of new Set(oids)) {
      if (!OID.test(oid)) continue;
      const dir = join(this.gitdir, 'objects', oid.slice(0, 2));
      files.push(join(dir, oid.slice(2)));
      dirs.add(dir);
    }
    // All at once: the file system commits concurrent fsyncs together (ext4's journal
    // does), where one after the other each waits for its own commit.
    const counted = (): void => {
      this.fsyncs++;
    };
    await Promise.all([...files.map((f) => fsyncPath(f, true, counted)), ...[...dirs].map((d) => fsyncPath(d, false, counted))]);
  }

  /**
   * Starts making `commit` durable: `oids` (its new objects, itself included) are
   * fsynced as `syncObjects` does, and its `parents`, if still being made durable, are
   * waited for. `updateBranch(..., commit)` waits for this before the ref moves (while
   * it writes and fsyncs the ref's lock file), and fails if it failed.
   */
  syncObjectsFor(commit: Oid, oids: Iterable<Oid>, parents: readonly Oid[] = []): void {
    this.#syncFor(commit, this.syncObjects(oids), parents);
  }

  /** `commit` is durable once `objects` are and its `parents` (those still on their way) are. */
  #syncFor(commit: Oid, objects: Promise<unknown>, parents: readonly Oid[]): void {
    const p = Promise.all([objects, ...parents.map((c) => this.#syncing.get(c))]).then(() => undefined);
    this.#syncing.set(commit, p);
    p.then(
      () => {
        if (this.#syncing.get(commit) === p) this.#syncing.delete(commit);
      },
      // Kept, so that no ref moves to it; the map stays small (failures are rare).
      () => {
        if (this.#syncing.size > 10_000) this.#syncing.clear();
      },
    );
  }

  /**
   * Deletes branch `name` if it is at `expected` (compare-and-swap under git's ref lock).
   * Fails with `code: 'CONFLICT'` when it is elsewhere or does not exist.
   */
  async deleteBranch(name: string, expected: Oid): Promise<void> {
    this.#checkBranch(name);
    const path = join(this.gitdir, 'refs', 'heads', ...name.split('/'));
    await withLockFile(path, async () => {
      const current = await this.#readLooseOrPacked(name, path);
      if (current !== expected) {
        throw new DatakitError('CONFLICT', `branch ${name} is at ${current ?? '(none)'}, expected ${expected}`, {
          branch: name,
          current,
          expected,
        });
      }
      // Removes the loose file and any packed-refs line.
      await git.deleteRef({ fs: this.#fs, gitdir: this.gitdir, ref: `refs/heads/${name}` });
      return { result: undefined };
    }, this.#lockSync());
  }

  /** What withLockFile fsyncs: nothing with `fsync: 'never'`; counted in `fsyncs`. */
  #lockSync(): { fsync: boolean; onFsync: () => void } {
    return { fsync: this.fsync === 'always', onFsync: () => this.fsyncs++ };
  }

  /**
   * Moves `name` from `expected` (`undefined`: the branch must not exist) to `next`,
   * atomically. Fails with `code: 'CONFLICT'` when the branch is not at `expected`.
   */
  async updateBranch(name: string, expected: Oid | undefined, next: Oid): Promise<void> {
    this.#checkBranch(name);
    if (!OID.test(next)) throw new DatakitError('INVALID_HASH', `invalid commit id ${JSON.stringify(next)}`);
    const path = join(this.gitdir, 'refs', 'heads', ...name.split('/'));
    const write = async (): Promise<{ content: string; result: undefined }> => {
      // Re-read under the lock: this is what makes the swap exact.
      const current = await this.#readLooseOrPacked(name, path);
      if (current !== expected) {
        throw new DatakitError('CONFLICT', `branch ${name} is at ${current ?? '(none)'}, expected ${expected ?? '(none)'}`, {
          branch: name,
          current,
          expected,
        });
      }
      return { content: `${next}\n`, result: undefined };
    };
    await withLockFile(path, write, { beforeRename: this.#syncing.get(next), ...this.#lockSync() });
  }

  async #readLooseOrPacked(name: string, path: string): Promise<Oid | undefined> {
    try {
      const text = readRef(path);
      if (!OID.test(text)) throw new DatakitError('CORRUPT_REF', `refs/heads/${name} holds ${JSON.stringify(text)}`);
      return text;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // Not loose: it may still be in packed-refs (written by `git gc` / `git pack-refs`).
    return this.branchHead(name);
  }

  #checkBranch(name: string): void {
    if (!isValidBranchName(name)) throw new DatakitError('INVALID_BRANCH', `invalid branch name ${JSON.stringify(name)}`);
  }
}
