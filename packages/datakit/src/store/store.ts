/**
 * `Store`: a bare git repository on disk, written through isomorphic-git.
 *
 * Ref updates are compare-and-swap (`updateBranch(name, expected, next)`), which
 * isomorphic-git does not offer: they take git's own ref lock, so they are exact against
 * other writers in this process and against the `git` CLI.
 */
import * as fs from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import git from 'isomorphic-git';
import { DatakitError } from '../errors.js';
import { withLockFile } from './lock.js';

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
// git check-ref-format, the parts that matter for branch names given by users.
const BAD_BRANCH = /(^|\/)\.|\.\.|[\x00-\x20\x7f~^:?*[\\]|@\{|\.lock(\/|$)|\/$|^\/|\/\/|^$|\.$|^@$/;

export function isValidBranchName(name: string): boolean {
  return name.length <= 255 && !BAD_BRANCH.test(name);
}

export class Store {
  readonly gitdir: string;
  readonly #cache = {};
  readonly #trees = new Map<Oid, readonly TreeEntry[]>();

  private constructor(gitdir: string) {
    this.gitdir = gitdir;
  }

  /**
   * Opens (creating if needed) a bare repository.
   *
   * @example
   * const store = await Store.open({ gitdir: '/var/lib/kitbox/state.git' });
   */
  static async open({ gitdir }: { gitdir: string }): Promise<Store> {
    await mkdir(gitdir, { recursive: true });
    await git.init({ fs, gitdir, bare: true, defaultBranch: 'master' });
    return new Store(gitdir);
  }

  writeBlob(data: Uint8Array): Promise<Oid> {
    return git.writeBlob({ fs, gitdir: this.gitdir, blob: data });
  }

  /** Writes one tree level; entries are sorted the way git requires. */
  writeTree(entries: readonly TreeEntry[]): Promise<Oid> {
    for (const e of entries) {
      if (e.path === '' || e.path.includes('/') || e.path === '.' || e.path === '..' || e.path.includes('\0')) {
        throw new DatakitError('INVALID_NAME', `invalid tree entry name ${JSON.stringify(e.path)}`);
      }
    }
    return git.writeTree({ fs, gitdir: this.gitdir, tree: entries.map((e) => ({ ...e })) });
  }

  writeCommit(c: CommitInput): Promise<Oid> {
    const author = { timezoneOffset: 0, ...c.author };
    const committer = { timezoneOffset: 0, ...(c.committer ?? c.author) };
    return git.writeCommit({
      fs,
      gitdir: this.gitdir,
      commit: { tree: c.tree, parent: c.parents, message: c.message, author, committer },
    });
  }

  /** The commit a branch points at, or `undefined` for a branch that does not exist. */
  async branchHead(name: string): Promise<Oid | undefined> {
    this.#checkBranch(name);
    try {
      return await git.resolveRef({ fs, gitdir: this.gitdir, ref: `refs/heads/${name}` });
    } catch (err) {
      if ((err as { code?: string }).code === 'NotFoundError') return undefined;
      throw err;
    }
  }

  /** One tree level, as git stores it (sorted). Fails with NotFoundError / ObjectTypeError codes. */
  async readTree(oid: Oid): Promise<readonly TreeEntry[]> {
    const hit = this.#trees.get(oid);
    if (hit !== undefined) return hit;
    const r = await git.readTree({ fs, gitdir: this.gitdir, oid, cache: this.#cache });
    const entries = r.tree.map((e) => ({ mode: e.mode as TreeEntry['mode'], path: e.path, oid: e.oid, type: e.type as TreeEntry['type'] }));
    if (this.#trees.size >= TREE_CACHE) this.#trees.clear();
    this.#trees.set(oid, entries);
    return entries;
  }

  async readBlob(oid: Oid): Promise<Uint8Array> {
    return (await git.readBlob({ fs, gitdir: this.gitdir, oid, cache: this.#cache })).blob;
  }

  async readCommit(oid: Oid): Promise<CommitInfo> {
    const r = await git.readCommit({ fs, gitdir: this.gitdir, oid, cache: this.#cache });
    const c = r.commit;
    return { oid: r.oid, tree: c.tree, parents: [...c.parent], message: c.message, author: c.author, committer: c.committer };
  }

  /** The object's type, or `undefined` when the repository does not hold it. */
  async objectType(oid: Oid): Promise<'blob' | 'tree' | 'commit' | 'tag' | undefined> {
    if (!OID.test(oid)) return undefined;
    try {
      const r = await git.readObject({ fs, gitdir: this.gitdir, oid, format: 'content', cache: this.#cache });
      return r.type === 'blob' || r.type === 'tree' || r.type === 'commit' || r.type === 'tag' ? r.type : undefined;
    } catch (err) {
      if ((err as { code?: string }).code === 'NotFoundError') return undefined;
      throw err;
    }
  }

  /** The object's content without git's header (what `git cat-file <type> <oid>` prints). */
  async readRaw(oid: Oid): Promise<{ type: string; content: Uint8Array }> {
    const r = await git.readObject({ fs, gitdir: this.gitdir, oid, format: 'content', cache: this.#cache });
    return { type: r.type, content: r.object as Uint8Array };
  }

  /** Names of the branches (refs/heads/*), loose or packed. */
  listBranches(): Promise<string[]> {
    return git.listBranches({ fs, gitdir: this.gitdir });
  }

  /** True when `ancestor` is `oid` or one of its ancestors. */
  async isAncestor(ancestor: Oid, oid: Oid): Promise<boolean> {
    if (ancestor === oid) return true;
    return git.isDescendent({ fs, gitdir: this.gitdir, oid, ancestor, depth: -1, cache: this.#cache });
  }

  /** A best common ancestor of two commits, or `undefined` when they share no history. */
  async mergeBase(a: Oid, b: Oid): Promise<Oid | undefined> {
    const r = (await git.findMergeBase({ fs, gitdir: this.gitdir, oids: [a, b], cache: this.#cache })) as Oid[];
    return r[0];
  }

  /**
   * Makes loose objects durable: fsyncs each object file this store wrote and its
   * directory. Called before a ref is moved to point at them (objects already packed
   * are durable and are skipped).
   */
  async syncObjects(oids: Iterable<Oid>): Promise<void> {
    const dirs = new Set<string>();
    for (const oid of new Set(oids)) {
      if (!OID.test(oid)) continue;
      const dir = join(this.gitdir, 'objects', oid.slice(0, 2));
      try {
        const h = await open(join(dir, oid.slice(2)), 'r');
        try {
          await h.sync();
        } finally {
          await h.close();
        }
        dirs.add(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    dirs.add(join(this.gitdir, 'objects'));
    for (const d of dirs) {
      const h = await open(d, 'r');
      try {
        await h.sync();
      } catch (err) {
        // Some file systems refuse fsync on a directory; the file itself is synced.
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL' && (err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
      } finally {
        await h.close();
      }
    }
  }

  /**
   * Deletes branch `name` if it is at `expected` (compare-and-swap under git's ref lock).
   * Fails with `code: 'CONFLICT'` when it is elsewhere or does not exist.
   */
  async deleteBranch(name: string, expected: Oid): Promise<void> {
    this.#checkBranch(name);
    const path = join(this.gitdir, 'refs', 'heads', ...name.split('/'));
    await mkdir(dirname(path), { recursive: true });
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
      await git.deleteRef({ fs, gitdir: this.gitdir, ref: `refs/heads/${name}` });
      return { result: undefined };
    });
  }

  /**
   * Moves `name` from `expected` (`undefined`: the branch must not exist) to `next`,
   * atomically. Fails with `code: 'CONFLICT'` when the branch is not at `expected`.
   */
  async updateBranch(name: string, expected: Oid | undefined, next: Oid): Promise<void> {
    this.#checkBranch(name);
    if (!OID.test(next)) throw new DatakitError('INVALID_HASH', `invalid commit id ${JSON.stringify(next)}`);
    const path = join(this.gitdir, 'refs', 'heads', ...name.split('/'));
    await mkdir(dirname(path), { recursive: true });
    await withLockFile(path, async () => {
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
    });
  }

  async #readLooseOrPacked(name: string, path: string): Promise<Oid | undefined> {
    try {
      const text = (await readFile(path, 'utf8')).trim();
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
