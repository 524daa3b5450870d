/**
 * `/branch/<name>/transactions/<t>/`: datakit datakit.ml `Transaction`.
 *
 *   rw/      the working tree, a copy of the head when the transaction was made
 *   msg      the commit message ("" commits as "(no commit message)")
 *   parents  the parent commits, one per line (initially the head)
 *   ctl      "commit" or "close"; "Unknown command %S" otherwise
 *   origin   the path the transaction works on (always "")
 *   diff/<c> files changed between commit <c> and rw/ (see diff.ts)
 *   merge    write a commit id to merge it into rw/; then also ours/, theirs/, base/
 *            (read-only) and conflicts (paths still in conflict; commit refuses
 *            "conflicts file is not empty" until each is written or removed)
 *
 * A transaction belongs to the connection that made it ("Each 9p connection has its
 * own set of transactions"). Committing writes the tree and a commit with `parents`
 * (objects fsynced first), then merges it into the branch (Repo.mergeInto); on success
 * the transaction directory goes away, on failure it stays for another try.
 */
import type { Oid } from '../store/store.js';
import { alreadyExists, dirOnly, FsError, noEntry, readOnlyDir, unknownCommand } from './errors.js';
import { CommandFile } from './command.js';
import { diffDir } from './diff.js';
import type { Node, Stat } from './node.js';
import { constFile, enc, MemoryFile, StaticDir, StatusFile } from './node.js';
import { mergeTrees } from './merge.js';
import { RoDir } from './tree-ro.js';
import { checkName, Overlay, type OverlayOptions } from './overlay.js';
import type { Repo } from './repo.js';
import { RwDir } from './rw.js';

/** `msg` and `parents` are small: 1 MiB each at most. */
const MAX_META = 1 << 20;
/** Open transactions one connection may hold on one branch. */
const MAX_TRANSACTIONS = 1024;

export class Transaction {
  readonly overlay: Overlay;
  readonly msg: MemoryFile;
  readonly parents: MemoryFile;
  closed = false;
  private committing = false;
  /** Paths left in conflict by a merge (datakit's `conflicts` file). */
  readonly conflicts = new Set<string>();
  /** ours/, theirs/, base/ and conflicts once a merge has started. */
  private merging: Node[] = [];

  constructor(
    private readonly repo: Repo,
    readonly branch: string,
    readonly name: string,
    readonly key: string,
    head: { commit: Oid; tree: Oid } | undefined,
    limits: OverlayOptions,
    private readonly onClose: () => void,
  ) {
    this.overlay = new Overlay(repo.store, head?.tree, limits);
    this.msg = new MemoryFile('msg', `${key}/msg`, new Uint8Array(0), MAX_META);
    this.parents = new MemoryFile('parents', `${key}/parents`, enc.encode(head === undefined ? '' : `${head.commit}\n`), MAX_META);
    // Writing or removing a path resolves its conflict (datakit `remove_conflict`).
    this.overlay.onTouch = (path) => {
      for (const c of this.conflicts) if (c === path || c.startsWith(`${path}/`)) this.conflicts.delete(c);
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.overlay.release();
    this.onClose();
  }

  /** datakit `CommitListFile.read`: every non-empty line must name a commit. */
  private async parentList(): Promise<Oid[]> {
    const out: Oid[] = [];
    for (const line of this.parents.text.split('\n')) {
      if (line === '') continue;
      out.push((await this.repo.commit(line.trim())).oid);
    }
    return out;
  }

  /** Runs a commit or merge; one at a time. */
  private async busy<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw noEntry(this.name);
    if (this.committing) throw new FsError('EBUSY', 'The transaction is already committing or merging');
    this.committing = true;
    try {
      return await fn();
    } finally {
      this.committing = false;
    }
  }

  /**
   * datakit `commit_of_view`: a commit of rw/ with `parents` and `msg` (not on any branch yet).
   * The caller holds the overlay's lock (exclusive) until it is done with the result.
   */
  private async commitOfView(): Promise<{ commit: Oid; tree: Oid; parents: Oid[]; message: string }> {
    if (this.conflicts.size > 0) throw new FsError('EPERM', 'conflicts file is not empty', { reason: 'conflicts' });
    const parents = await this.parentList();
    const text = this.msg.text;
    const message = text === '' ? '(no commit message)' : text;
    // The commit's new objects are written together, as one pack.
    const batch = this.repo.store.batch();
    const { tree, written } = await this.overlay.writeTree(batch);
    const commit = await this.repo.writeCommit(tree, parents, message, written, batch);
    return { commit, tree, parents, message };
  }

  /**
   * The overlay stays locked from the snapshot of rw/ until the commit is on the branch and the
   * transaction closed: a write to rw/ that arrives meanwhile waits, then fails (ENOENT) if the
   * commit succeeded, or applies to the still-open transaction if it failed. None is
   * acknowledged and lost.
   */
  commit(): Promise<Oid> {
    return this.busy(() =>
      this.overlay.exclusive(async () => {
        const { commit, message, parents } = await this.commitOfView();
        // Most often the branch is still where the transaction started: its first parent.
        const head = await this.repo.mergeInto(this.branch, commit, message, { head: parents[0] });
        this.repo.stats.commits++;
        this.close();
        return head;
      }),
    );
  }

  /**
   * Writing a commit id to `merge` (datakit `merge_mode`): rw/ becomes the merge of
   * itself ("ours", as a commit of rw/) and that commit ("theirs") from their common
   * ancestor ("base"); the commit is appended to `parents`; conflicting paths hold
   * "** Conflict **" files and are listed in `conflicts` until written or removed.
   */
  merge(hash: string): Promise<string> {
    // Locked from the snapshot of rw/ ("ours") to the reset to the merge's result, so no write
    // to rw/ lands in between (it would be acknowledged, then wiped by the reset).
    return this.busy(() => this.overlay.exclusive(() => this.mergeLocked(hash)));
  }

  private async mergeLocked(hash: string): Promise<string> {
    const theirs = await this.repo.commit(hash);
    const ours = await this.commitOfView();
    const base = ours.parents.length === 0 ? undefined : await this.repo.store.mergeBase(ours.commit, theirs.oid);
    const baseTree = base === undefined ? undefined : (await this.repo.store.readCommit(base)).tree;
    const lines = this.parents.text.split('\n').filter((l) => l !== '');
    this.parents.set(enc.encode([...lines, theirs.oid].map((l) => `${l}\n`).join('')));
    const m = await mergeTrees(this.repo.store, baseTree, ours.tree, theirs.tree, { markConflicts: true });
    // rw/ now stands on these objects without rewriting them at commit: make them durable now.
    await this.repo.store.syncObjects(m.written);
    this.overlay.reset(m.tree);
    for (const c of m.conflicts) this.conflicts.add(c.path);
    const store = this.repo.store;
    this.merging = [
      new RoDir(store, () => Promise.resolve(ours.tree), `${this.key}/ours@${ours.commit}`, [], 'ours'),
      new RoDir(store, () => Promise.resolve(theirs.tree), `${this.key}/theirs@${theirs.oid}`, [], 'theirs'),
      baseTree === undefined
        ? new StaticDir('base', `${this.key}/base@none`, () => [])
        : new RoDir(store, () => Promise.resolve(baseTree), `${this.key}/base@${base ?? ''}`, [], 'base'),
      new StatusFile('conflicts', `${this.key}/conflicts`, () =>
        Promise.resolve(enc.encode([...this.conflicts].sort().map((c) => `${c}\n`).join(''))),
      ),
    ];
    return 'ok';
  }

  async ctl(cmd: string): Promise<string> {
    if (cmd === 'close') {
      this.close();
      return '';
    }
    if (cmd === 'commit') {
      await this.commit();
      return '';
    }
    throw unknownCommand(cmd);
  }

  dir(): Node {
    const children: Node[] = [
      new RwDir(this.overlay, this.overlay.root, `${this.key}/rw`),
      this.msg,
      this.parents,
      new CommandFile('ctl', `${this.key}/ctl`, (c) => this.ctl(c)),
      constFile('origin', `${this.key}/origin`, ''),
      // The working tree is written to the store to be compared (its objects stay loose
      // and unreferenced until a commit uses them).
      diffDir(this.repo, `${this.key}/diff`, async () => (await this.overlay.exclusive(() => this.overlay.writeTree())).tree),
      new CommandFile('merge', `${this.key}/merge`, (c) => this.merge(c)),
    ];
    const closed = (): boolean => this.closed;
    const name = this.name;
    return {
      kind: 'dir',
      name,
      key: this.key,
      stat: (): Promise<Stat> => (closed() ? Promise.reject(noEntry(name)) : Promise.resolve({ size: 0, perm: 0o755 })),
      lookup: (n: string): Promise<Node> => {
        if (closed()) return Promise.reject(noEntry(name));
        const c = children.find((x) => x.name === n) ?? this.merging.find((x) => x.name === n);
        return c === undefined ? Promise.reject(noEntry(n)) : Promise.resolve(c);
      },
      list: () => Promise.resolve(closed() ? [] : [...children, ...this.merging]),
      mkdir: () => Promise.reject(readOnlyDir()),
      create: () => Promise.reject(readOnlyDir()),
      unlink: () => Promise.reject(readOnlyDir()),
    };
  }
}

/** One connection's transactions on one branch. */
export class TransactionsDir implements Node {
  readonly kind = 'dir';
  readonly name = 'transactions';
  readonly key: string;

  constructor(
    private readonly repo: Repo,
    private readonly branch: string,
    private readonly items: Map<string, Transaction>,
    connKey: string,
    private readonly limits: OverlayOptions,
  ) {
    this.key = `${connKey}/branch/${branch}/transactions`;
  }

  stat(): Promise<Stat> {
    return Promise.resolve({ size: 0, perm: 0o755 });
  }

  lookup(name: string): Promise<Node> {
    const t = this.items.get(name);
    return t === undefined ? Promise.reject(noEntry(name)) : Promise.resolve(t.dir());
  }

  list(): Promise<readonly Node[]> {
    return Promise.resolve([...this.items.values()].map((t) => t.dir()));
  }

  async mkdir(name: string): Promise<Node> {
    checkName(name);
    if (this.items.has(name)) throw alreadyExists();
    if (this.items.size >= MAX_TRANSACTIONS) throw new FsError('ENOSPC', `At most ${MAX_TRANSACTIONS} open transactions per branch and connection`);
    const commit = await this.repo.head(this.branch);
    if (commit === undefined && !(await this.repo.exists(this.branch))) throw noEntry(this.branch);
    const head = commit === undefined ? undefined : { commit, tree: (await this.repo.store.readCommit(commit)).tree };
    if (this.items.has(name)) throw alreadyExists();
    const t: Transaction = new Transaction(this.repo, this.branch, name, `${this.key}/${name}`, head, this.limits, () => {
      if (this.items.get(name) === t) this.items.delete(name);
    });
    this.items.set(name, t);
    return t.dir();
  }

  create(): Promise<Node> {
    return Promise.reject(dirOnly());
  }

  /** rmdir of a transaction closes it (datakit refuses; `echo close > ctl` does the same). */
  unlink(name: string, dir: boolean): Promise<void> {
    const t = this.items.get(name);
    if (t === undefined) return Promise.reject(noEntry(name));
    if (!dir) return Promise.reject(new FsError('EISDIR', 'Is a directory'));
    t.close();
    return Promise.resolve();
  }

  rename(): Promise<void> {
    return Promise.reject(readOnlyDir());
  }
}
