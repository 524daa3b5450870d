/**
 * A read-only view of a git tree: a branch's `ro/` (live: every operation looks at
 * the head of the moment), a snapshot's `ro/` and `/trees/D-<hash>` (fixed).
 *
 * datakit datakit.ml `ro_tree`: "Vfs.Dir.read_only ~ls ~lookup ~remove"; files
 * `irmin_ro_file` (read-only; a file gone from the head reads as absent).
 * Git modes: 100644 file, 100755 executable, 120000 symlink, 040000 tree.
 * A file's contents are taken when it is opened, so one open sees one version.
 */
import type { Oid, Store, TreeEntry } from '../store/store.js';
import { isDir, noEntry, notDir, readOnlyDir, readOnlyFile } from './errors.js';
import type { Kind, Node, OpenFile, OpenRequest, Stat } from './node.js';
import { dec, slice } from './node.js';

/** The tree to show (`undefined`: the empty tree). */
export type RootOf = () => Promise<Oid | undefined>;

export function kindOfMode(mode: TreeEntry['mode']): Kind {
  return mode === '040000' ? 'dir' : mode === '120000' ? 'symlink' : 'file';
}

/** The entry at `path` under tree `root` (`undefined` if absent); the root itself for []. */
export async function findEntry(store: Store, root: Oid | undefined, path: readonly string[]): Promise<TreeEntry | undefined> {
  if (root === undefined) return path.length === 0 ? { mode: '040000', path: '', oid: '', type: 'tree' } : undefined;
  let cur: TreeEntry = { mode: '040000', path: '', oid: root, type: 'tree' };
  for (const name of path) {
    if (cur.type !== 'tree') return undefined;
    const next: TreeEntry | undefined = (await store.readTree(cur.oid)).find((e) => e.path === name);
    if (next === undefined) return undefined;
    cur = next;
  }
  return cur;
}

async function entries(store: Store, e: TreeEntry): Promise<readonly TreeEntry[]> {
  return e.oid === '' ? [] : store.readTree(e.oid);
}

/** The node for a tree entry under a view. */
function nodeOf(store: Store, root: RootOf, keyBase: string, path: readonly string[], mode: TreeEntry['mode']): Node {
  const kind = kindOfMode(mode);
  return kind === 'dir' ? new RoDir(store, root, keyBase, path) : new RoFile(store, root, keyBase, path, kind);
}

export class RoDir implements Node {
  readonly kind = 'dir';
  readonly key: string;
  constructor(
    private readonly store: Store,
    private readonly root: RootOf,
    private readonly keyBase: string,
    private readonly path: readonly string[],
    private readonly rootName = 'ro',
  ) {
    this.key = `${keyBase}/${path.join('/')}`;
  }

  get name(): string {
    return this.path[this.path.length - 1] ?? this.rootName;
  }

  private async here(): Promise<TreeEntry> {
    const e = await findEntry(this.store, await this.root(), this.path);
    if (e === undefined) throw noEntry(this.path.join('/'));
    if (e.type !== 'tree') throw notDir();
    return e;
  }

  async stat(): Promise<Stat> {
    await this.here();
    return { size: 0, perm: 0o555 };
  }

  async lookup(name: string): Promise<Node> {
    const e = (await entries(this.store, await this.here())).find((c) => c.path === name);
    if (e === undefined) throw noEntry(name);
    return nodeOf(this.store, this.root, this.keyBase, [...this.path, name], e.mode);
  }

  async list(): Promise<readonly Node[]> {
    const es = await entries(this.store, await this.here());
    return es.map((e) => nodeOf(this.store, this.root, this.keyBase, [...this.path, e.path], e.mode));
  }

  mkdir(): Promise<Node> {
    return Promise.reject(readOnlyDir());
  }
  create(): Promise<Node> {
    return Promise.reject(readOnlyDir());
  }
  symlink(): Promise<Node> {
    return Promise.reject(readOnlyDir());
  }
  unlink(): Promise<void> {
    return Promise.reject(readOnlyDir());
  }
  rename(): Promise<void> {
    return Promise.reject(readOnlyDir());
  }
}

export class RoFile implements Node {
  readonly key: string;
  constructor(
    private readonly store: Store,
    private readonly root: RootOf,
    keyBase: string,
    private readonly path: readonly string[],
    readonly kind: 'file' | 'symlink',
  ) {
    this.key = `${keyBase}/${path.join('/')}`;
  }

  get name(): string {
    return this.path[this.path.length - 1] ?? '';
  }

  /** This file's entry in the tree of the moment. */
  private async entry(): Promise<TreeEntry> {
    const entry = await findEntry(this.store, await this.root(), this.path);
    if (entry === undefined) throw noEntry(this.path.join('/'));
    if (entry.type === 'tree') throw isDir();
    return entry;
  }

  private async blob(): Promise<{ entry: TreeEntry; data: Uint8Array }> {
    const entry = await this.entry();
    return { entry, data: await this.store.readBlob(entry.oid) };
  }

  async stat(): Promise<Stat> {
    const entry = await this.entry();
    // The size from the object's header: `ls -l` must not read every file whole.
    return { size: await this.store.blobSize(entry.oid), perm: entry.mode === '100755' ? 0o555 : 0o444, version: parseInt(entry.oid.slice(0, 8), 16) };
  }

  async open(req: OpenRequest): Promise<OpenFile> {
    if (req.write) throw readOnlyFile();
    const { data } = await this.blob();
    return {
      read: (offset, count) => Promise.resolve(slice(data, offset, count)),
      write: () => Promise.reject(readOnlyFile()),
    };
  }

  async readlink(): Promise<string> {
    return dec.decode((await this.blob()).data);
  }

  truncate(): Promise<void> {
    return Promise.reject(readOnlyFile());
  }
  chmod(): Promise<void> {
    return Promise.reject(readOnlyFile());
  }
}
