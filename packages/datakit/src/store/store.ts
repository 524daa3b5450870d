/**
 * `Store`: a bare git repository on disk, written through isomorphic-git.
 *
 * Ref updates are compare-and-swap (`updateBranch(name, expected, next)`), which
 * isomorphic-git does not offer: they take git's own ref lock, so they are exact against
 * other writers in this process and against the `git` CLI.
 */
import * as fs from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
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

export interface CommitInput {
  tree: Oid;
  parents: Oid[];
  message: string;
  author: Signature;
  committer?: Signature;
}

const OID = /^[0-9a-f]{40}$/;
// git check-ref-format, the parts that matter for branch names given by users.
const BAD_BRANCH = /(^|\/)\.|\.\.|[\x00-\x20\x7f~^:?*[\\]|@\{|\.lock(\/|$)|\/$|^\/|\/\/|^$|\.$|^@$/;

export function isValidBranchName(name: string): boolean {
  return name.length <= 255 && !BAD_BRANCH.test(name);
}

export class Store {
  readonly gitdir: string;

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
