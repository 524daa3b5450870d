/**
 * `Store`: a bare git repository on disk, written through isomorphic-git.
 *
 * Ref updates are compare-and-swap (`updateBranch(name, expected, next)`), which
 * isomorphic-git does not offer: they take git's own ref lock, so they are exact against
 * other writers in this process and against the `git` CLI.
 */
import * as fs from 'node:fs';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import git from 'isomorphic-git';
import { DatakitError } from '../errors.js';
import { withLockFile } from './lock.js';
import { objectFs, writeLooseObject } from './object-fs.js';

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
// git check-ref-format, the parts that matter for branch names given by users.
const BAD_BRANCH = /(^|\/)\.|\.\.|[\x00-\x20\x7f~^:?*[\\]|@\{|\.lock(\/|$)|\/$|^\/|\/\/|^$|\.$|^@$/;

export function isValidBranchName(name: string): boolean {
  return name.length <= 255 && !BAD_BRANCH.test(name);
}

const fsyncFd = promisify(fs.fsync);

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

export class Store {
  readonly gitdir: string;
  readonly #cache = {};
  readonly #trees = new Map<Oid, readonly TreeEntry[]>();
  /** Commits whose objects are being made durable (`syncObjectsFor`), until they are. */
  readonly #syncing = new Map<Oid, Promise<void>>();
  /** Commits are immutable too; a commit is read several times while it is a head. */
  readonly #commits = new Map<Oid, CommitInfo>();
  /** Loose objects are written whole (tmp file, rename): see object-fs.ts. */
  readonly #fs = objectFs();
  readonly fsync: FsyncMode;
  /** fsync calls made (files and directories): debug/stats `fsyncs`. */
  fsyncs = 0;

  private constructor(gitdir: string, fsync: FsyncMode) {
    this.gitdir = gitdir;
    this.fsync = fsync;
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
    return new Store(gitdir, fsync);
  }

  /** Writes a blob (loose, not yet fsynced: see `syncObjects`). */
  writeBlob(data: Uint8Array): Promise<Oid> {
    return writeLooseObject(this.gitdir, 'blob', data);
  }

  /**
   * Writes one tree level; entries are sorted the way git requires (by name, a tree's
   * name compared as if it ended in '/').
   */
  async writeTree(entries: readonly TreeEntry[]): Promise<Oid> {
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
    const oid = await writeLooseObject(this.gitdir, 'tree', body);
    // The next transaction starts from this tree: it need not be read back and inflated.
    // Kept in the order readTree gives (isomorphic-git's: by name, code point order).
    this.#cacheTree(
      oid,
      sortedBy([...rows], (r) => r.name).map(({ e }) => ({ mode: e.mode, path: e.path, oid: e.oid, type: e.mode === '040000' ? 'tree' : 'blob' })),
    );
    return oid;
  }

  /** Writes a commit (git's format, as isomorphic-git writes it; loose, not yet fsynced). */
  async writeCommit(c: CommitInput): Promise<Oid> {
    for (const o of [c.tree, ...c.parents]) if (!OID.test(o)) throw new DatakitError('INVALID_HASH', `invalid object id ${JSON.stringify(o)}`);
    const author = { timezoneOffset: 0, ...c.author };
    const committer = { timezoneOffset: 0, ...(c.committer ?? c.author) };
    const oid = await writeLooseObject(this.gitdir, 'commit', Buffer.from(renderCommit({ tree: c.tree, parents: c.parents, message: c.message, author, committer })));
    // As readCommit parses it back: transactions and merges start from it next.
    this.#cacheCommit({ oid, tree: c.tree, parents: [...c.parents], message: normalizeMessage(c.message), author, committer });
    return oid;
  }

  /** The commit a branch points at, or `undefined` for a branch that does not exist. */
  async branchHead(name: string): Promise<Oid | undefined> {
    this.#checkBranch(name);
    // The loose ref, read directly and synchronously: this runs several times per
    // commit, and a 41-byte read costs less than a trip through the thread pool.
    try {
      const text = readFileSync(join(this.gitdir, 'refs', 'heads', ...name.split('/')), 'utf8').trim();
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
    const r = await git.readTree({ fs: this.#fs, gitdir: this.gitdir, oid, cache: this.#cache });
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

  async readBlob(oid: Oid): Promise<Uint8Array> {
    return (await git.readBlob({ fs: this.#fs, gitdir: this.gitdir, oid, cache: this.#cache })).blob;
  }

  async readCommit(oid: Oid): Promise<CommitInfo> {
    const hit = this.#commits.get(oid);
    if (hit !== undefined) return { ...hit, parents: [...hit.parents] };
    const r = await git.readCommit({ fs: this.#fs, gitdir: this.gitdir, oid, cache: this.#cache });
    const c = r.commit;
    const info = { oid: r.oid, tree: c.tree, parents: [...c.parent], message: c.message, author: c.author, committer: c.committer };
    this.#cacheCommit(info);
    return { ...info, parents: [...info.parents] };
  }

  /** The object's type, or `undefined` when the repository does not hold it. */
  async objectType(oid: Oid): Promise<'blob' | 'tree' | 'commit' | 'tag' | undefined> {
    if (!OID.test(oid)) return undefined;
    // Known without reading: a transaction's parent is checked on every commit.
    if (this.#commits.has(oid)) return 'commit';
    if (this.#trees.has(oid)) return 'tree';
    try {
      const r = await git.readObject({ fs: this.#fs, gitdir: this.gitdir, oid, format: 'content', cache: this.#cache });
      return r.type === 'blob' || r.type === 'tree' || r.type === 'commit' || r.type === 'tag' ? r.type : undefined;
    } catch (err) {
      if ((err as { code?: string }).code === 'NotFoundError') return undefined;
      throw err;
    }
  }

  /** The object's content without git's header (what `git cat-file <type> <oid>` prints). */
  async readRaw(oid: Oid): Promise<{ type: string; content: Uint8Array }> {
    const r = await git.readObject({ fs: this.#fs, gitdir: this.gitdir, oid, format: 'content', cache: this.#cache });
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
    const r = (await git.findMergeBase({ fs: this.#fs, gitdir: this.gitdir, oids: [a, b], cache: this.#cache })) as Oid[];
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
    const p = Promise.all([this.syncObjects(oids), ...parents.map((c) => this.#syncing.get(c))]).then(() => undefined);
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
      const text = readFileSync(path, 'utf8').trim();
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
