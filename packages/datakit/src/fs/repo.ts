/**
 * What every connection shares: the store, the branch heads and their watchers, and
 * the branch operations the filesystem offers (create, delete, rename, fast-forward,
 * commit with a three-way merge). No 9P here.
 *
 * datakit datakit.ml: `commit_of_commit_id` ("invalid-hash %S: %s", or ENOENT),
 * `fast_forward` (`Rejected` -> "not-fast-forward"), `Transaction.merge`
 * (`Store.Head.merge ~into`: fast-forward when the head is an ancestor of the new
 * commit, else a merge commit, "Merge conflict: %s" when that fails), the info
 * "datakit <datakit@mobyproject.org>".
 */
import { DatakitError } from '../errors.js';
import type { CommitInfo, ObjectBatch, Oid, Signature, Store } from '../store/store.js';
import { isOid, isValidBranchName } from '../store/store.js';
import { alreadyExists, badName, FsError, invalidHash, mergeConflict, noEntry, notFastForward } from './errors.js';
import { mergeTrees } from './merge.js';
import { watchRefs } from './ref-watch.js';
import { Watchable } from './watch.js';

export interface RepoOptions {
  store: Store;
  /** Author and committer of the commits made (default `datakit <datakit@mobyproject.org>`). */
  author?: { name: string; email: string };
  /** Clock in ms (default Date.now). */
  now?: () => number;
}

/** How often a commit retries when the branch keeps moving under it. */
const MAX_RETRIES = 16;
/** Branches made with mkdir and not yet committed to are held in memory: at most this many. */
const MAX_EMPTY = 10_000;

export class Repo {
  readonly store: Store;
  private readonly author: { name: string; email: string };
  private readonly now: () => number;
  private readonly heads = new Map<string, Watchable<Oid | undefined>>();
  /** Branches made with mkdir that have no commit yet (git has no ref for them). */
  private readonly empty = new Set<string>();
  /** Counters for debug/stats: transactions committed, branch refs moved or deleted. */
  readonly stats = { commits: 0, branchUpdates: 0 };
  /**
   * Ref reads and this server's own ref moves, numbered as they start: what a read
   * finds is published only if nothing that started after it has been, so a slow read
   * (a poll, the ref watcher) never takes watchers back to an older head.
   */
  private seq = 0;
  private readonly published = new Map<string, number>();
  /**
   * The sequence number when a name was last dropped from `published` (a deleted branch
   * nobody watched): a read that started before it, of a watched name with no entry, may be
   * older than that deletion. It is not published; `head` reads the ref again.
   */
  private forgotten = 0;
  /** Branches to re-read because the ref watcher saw them change ('' for all). */
  private readonly stale = new Set<string>();
  private stopWatching: (() => void) | undefined;
  /**
   * What `exists` read since the latest request started (`requestStarted`): a request
   * sent after the git CLI moved a ref reads it afresh. Dropped too whenever a head is
   * seen to move (`moves` counts those).
   */
  private existsNow = new Map<string, boolean>();
  private moves = 0;

  constructor(opts: RepoOptions) {
    this.store = opts.store;
    this.author = opts.author ?? { name: 'datakit', email: 'datakit@mobyproject.org' };
    this.now = opts.now ?? Date.now;
  }

  /**
   * The watchable head of `name`: kept up to date by this server's own updates and,
   * once anything is watched, by a watch on the refs for writers outside it (ref-watch.ts).
   */
  watch(name: string): Watchable<Oid | undefined> {
    this.stopWatching ??= watchRefs(this.store.gitdir, (branch) => this.refChanged(branch));
    return this.watchable(name);
  }

  /**
   * `name`'s watchable head, without starting the watch on the refs: until a reader
   * watches, no one needs to hear of other writers at once (and this server's own ref
   * moves need not come back to it as inotify events, one ref read each).
   */
  private watchable(name: string): Watchable<Oid | undefined> {
    let w = this.heads.get(name);
    if (w === undefined) {
      w = new Watchable<Oid | undefined>(undefined);
      this.heads.set(name, w);
    }
    return w;
  }

  /** Stops watching the refs (the server is done with this repository). */
  close(): void {
    this.stopWatching?.();
    this.stopWatching = () => undefined;
  }

  /** A ref may have moved outside this server: re-read it (once per burst of events). */
  private refChanged(branch: string | undefined): void {
    if (branch !== undefined && !this.heads.has(branch)) return;
    const first = this.stale.size === 0;
    this.stale.add(branch ?? '');
    if (!first) return;
    setImmediate(() => {
      const names = this.stale.has('') ? [...this.heads.keys()] : [...this.stale];
      this.stale.clear();
      for (const n of names) this.head(n).catch(() => undefined);
    });
  }

  /**
   * Publishes what a read (or this server's own move) found. False when the read may be
   * older than a forgetting (see `forgotten`) and someone watches the name: the caller reads again.
   */
  private publish(name: string, head: Oid | undefined, started = ++this.seq): boolean {
    // No watcher is made for a name nobody watches that has no head: looking up random
    // names must not grow the map.
    if (head === undefined && !this.heads.has(name)) return true;
    const last = this.published.get(name);
    if (last === undefined && started < this.forgotten) return !this.heads.has(name);
    if ((last ?? 0) > started) return true;
    this.published.set(name, started);
    const w = this.watchable(name);
    if (w.value !== head) {
      this.moves++;
      this.existsNow.delete(name);
      w.set(head);
    }
    // A branch gone that nobody watches is forgotten: 20,000 branches made and deleted had
    // left 20,000 entries in each map.
    if (head === undefined && w.idle) {
      this.heads.delete(name);
      this.published.delete(name);
      this.forgotten = Math.max(this.forgotten, started);
    }
    return true;
  }

  /** Branches with a watchable head kept (for debug and tests). */
  get watchedBranches(): number {
    return this.heads.size;
  }

  /** The head commit of a branch, read from git (and published to watchers if it moved). */
  async head(name: string): Promise<Oid | undefined> {
    for (;;) {
      const started = ++this.seq;
      const h = isValidBranchName(name) ? await this.store.branchHead(name) : undefined;
      // Declined only when a branch was forgotten while this read ran: read again (each
      // time only if yet another one was).
      if (this.publish(name, h, started)) return h;
    }
  }

  /**
   * Whether branch `name` exists. A walk through `branch/<b>/...` asks at `branch/<b>` and
   * again at each step below it, all in one request: one ref read answers them all
   * (`existsNow`).
   */
  async exists(name: string): Promise<boolean> {
    if (this.empty.has(name)) return true;
    const known = this.existsNow.get(name);
    if (known !== undefined) return known;
    const moves = this.moves;
    const yes = (await this.head(name)) !== undefined;
    if (moves === this.moves) this.existsNow.set(name, yes);
    return yes;
  }

  /** A 9P request starts: what `exists` read before it no longer stands. */
  requestStarted(): void {
    if (this.existsNow.size > 0) this.existsNow.clear();
  }

  /** Branch names; those with a '/' (made by the git CLI) cannot be a 9P name and are left out. */
  async branches(): Promise<string[]> {
    const names = new Set([...(await this.store.listBranches()), ...this.empty]);
    return [...names].filter((n) => !n.includes('/')).sort();
  }

  /** mkdir branch/<name>: an empty branch until its first commit. */
  async createBranch(name: string): Promise<void> {
    if (!isValidBranchName(name)) throw badName(name);
    if (await this.exists(name)) throw alreadyExists();
    if (this.empty.size >= MAX_EMPTY) throw new FsError('ENOSPC', `At most ${MAX_EMPTY} branches without commits`);
    this.empty.add(name);
  }

  async deleteBranch(name: string): Promise<void> {
    for (let i = 0; ; i++) {
      const h = await this.head(name);
      if (h === undefined) {
        if (!this.empty.delete(name)) throw noEntry(name);
        return;
      }
      try {
        await this.store.deleteBranch(name, h);
        this.stats.branchUpdates++;
        this.empty.delete(name);
        this.publish(name, undefined);
        return;
      } catch (err) {
        if (!(err instanceof DatakitError && err.code === 'CONFLICT') || i >= MAX_RETRIES) throw err;
      }
    }
  }

  async renameBranch(from: string, to: string): Promise<void> {
    if (!isValidBranchName(to)) throw badName(to);
    if (from === to) return;
    if (await this.exists(to)) throw alreadyExists();
    const h = await this.head(from);
    if (h === undefined) {
      if (!this.empty.delete(from)) throw noEntry(from);
      this.empty.add(to);
      return;
    }
    await this.cas(to, undefined, h);
    try {
      await this.store.deleteBranch(from, h);
    } catch (err) {
      // `from` moved meanwhile: undo, so no commit is lost.
      await this.store.deleteBranch(to, h).catch(() => undefined);
      this.publish(to, undefined);
      throw err;
    }
    this.publish(from, undefined);
  }

  /** datakit `commit_of_commit_id`: the commit named by `hash`. */
  async commit(hash: string): Promise<CommitInfo> {
    if (!isOid(hash)) throw invalidHash(hash, /^[0-9a-fA-F]*$/.test(hash) ? 'expected 40 lower-case hex digits' : 'not a hex string');
    const type = await this.store.objectType(hash);
    if (type === undefined) throw noEntry(hash);
    if (type !== 'commit') throw invalidHash(hash, `a ${type}, not a commit`);
    return this.store.readCommit(hash);
  }

  private async cas(name: string, expected: Oid | undefined, next: Oid): Promise<void> {
    await this.store.updateBranch(name, expected, next);
    this.stats.branchUpdates++;
    this.empty.delete(name);
    this.publish(name, next);
  }

  /** Writing a commit id to `fast-forward`. */
  async fastForward(name: string, hash: string): Promise<void> {
    const target = (await this.commit(hash)).oid;
    const current = await this.head(name);
    if (current === undefined) {
      if (!(await this.exists(name))) throw noEntry(name);
    } else {
      if (current === target) return;
      if (!(await this.store.isAncestor(current, target))) throw notFastForward();
    }
    try {
      await this.cas(name, current, target);
    } catch (err) {
      // The branch moved meanwhile: datakit's `Rejected` "(concurrent update)".
      if (err instanceof DatakitError && err.code === 'CONFLICT') throw notFastForward();
      throw err;
    }
  }

  private signature(): Signature {
    return { ...this.author, timestamp: Math.floor(this.now() / 1000), timezoneOffset: 0 };
  }

  /**
   * Writes a commit and starts making it durable (its new objects `written`, itself, and
   * its parents if they are still on their way): no branch moves to it before that is
   * done (Store.syncObjectsFor). With `batch` (the tree's new objects, from
   * Overlay.writeTree), the commit joins them and all are written as one pack
   * (Store.commitBatch). Returns its id.
   */
  async writeCommit(tree: Oid, parents: Oid[], message: string, written: Oid[], batch?: ObjectBatch): Promise<Oid> {
    const sig = this.signature();
    const oid = await this.store.writeCommit({ tree, parents, message, author: sig, committer: sig }, batch);
    if (batch === undefined) this.store.syncObjectsFor(oid, [...written, oid], parents);
    else await this.store.commitBatch(oid, batch, parents);
    return oid;
  }

  /**
   * Moves branch `name` to include `commit` (datakit `Store.Head.merge ~into`): a
   * fast-forward when the branch head is an ancestor of it, else a merge commit of
   * the head and `commit` whose trees merge three-way. Retries when the branch moves
   * under it; fails with "Merge conflict: ..." and moves nothing on a conflict.
   *
   * `guess`: where the branch probably is (a transaction's parent). The first try takes it
   * as the head without reading the ref: the swap under the ref's lock checks it anyway,
   * and a wrong guess is a conflict, retried with the ref read (the tries left unchanged).
   */
  async mergeInto(name: string, commit: Oid, message: string, guess?: { head: Oid | undefined }): Promise<Oid> {
    for (let i = guess === undefined ? 0 : -1; ; i++) {
      const current = i < 0 ? guess?.head : await this.head(name);
      try {
        if (current === undefined || current === commit || (await this.store.isAncestor(current, commit))) {
          if (current !== commit) await this.cas(name, current, commit);
          return commit;
        }
        if (await this.store.isAncestor(commit, current)) return current;
        const base = await this.store.mergeBase(current, commit);
        const [ours, theirs] = await Promise.all([this.store.readCommit(current), this.store.readCommit(commit)]);
        const baseTree = base === undefined ? undefined : (await this.store.readCommit(base)).tree;
        const m = await mergeTrees(this.store, baseTree, ours.tree, theirs.tree);
        if (m.tree === undefined) throw mergeConflict(m.conflicts.map((c) => `${c.path}: ${c.why}`).join(', '));
        const merged = await this.writeCommit(m.tree, [current, commit], message, m.written);
        await this.cas(name, current, merged);
        return merged;
      } catch (err) {
        if (!(err instanceof DatakitError && err.code === 'CONFLICT') || i >= MAX_RETRIES) {
          if (err instanceof DatakitError && err.code === 'CONFLICT') throw new FsError('EBUSY', `branch ${name} keeps moving`);
          throw err;
        }
      }
    }
  }
}
