/**
 * A transaction's working tree: a copy-on-write overlay of a git tree, in memory.
 *
 * datakit datakit.ml `rw`: "Irmin doesn't store empty directories, so we need to
 * store that list in the server's memory. Meet [extra_dirs]." Here every directory
 * is a node; one left empty is simply not written to git.
 *
 * Nodes load lazily from the store (a directory's entries on first use, a file's bytes
 * on first read or write), keep their git id while unchanged, and lose it once they or
 * anything below them change, so `writeTree` rewrites only what changed. Nodes are
 * objects, not paths: a fid that holds a file follows it across renames, and a removed
 * node is marked so further use fails with ENOENT, as on Unix.
 */
import type { ObjectBatch, Oid, Store, TreeEntry } from '../store/store.js';
import { alreadyExists, badName, FsError, isDir, noEntry, notDir } from './errors.js';
import { checkGitattributes } from './gitattributes.js';
import { checkGitmodules } from './gitmodules.js';
import { heldBytes } from './node.js';

let nextId = 1;

interface Base {
  readonly id: number;
  parent: ODir | undefined;
  name: string;
  removed: boolean;
  version: number;
  /** What a node made in this transaction counts against the budgets (0 for one loaded from git). */
  cost?: number;
}

/** A node made in a transaction (an empty file or directory included) counts this much plus its name's length. */
const NODE_COST = 128;
export interface ODir extends Base {
  kind: 'dir';
  /** The git tree while unchanged. */
  oid: Oid | undefined;
  children: Map<string, ONode> | undefined;
}
export interface OFile extends Base {
  kind: 'file';
  exec: boolean;
  /** The git blob while unchanged. */
  oid: Oid | undefined;
  data: Uint8Array | undefined;
  /** Renamed in this transaction: its blob may be new under this name (a `.gitmodules` is checked). */
  moved?: true;
}
export interface OLink extends Base {
  kind: 'symlink';
  target: string;
  oid: Oid | undefined;
}
export type ONode = ODir | OFile | OLink;

const NAME_MAX = 255;

/**
 * Code points HFS+ ignores in names (git's is_hfs_dotgit: ".g\u200cit" is ".git" there):
 * zero-width joiners and marks, directional marks and overrides, the BOM.
 */
const HFS_IGNORED = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/** git's tolower and strncasecmp: ASCII letters only. */
const asciiLower = (s: string): string => s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) | 0x20));

/**
 * Whether `name` would be `dotname` (".git", ".gitmodules", ...) on a file system that
 * checks the tree out, after git's is_hfs_dotgit / is_ntfs_dotgit: case-insensitive, with
 * HFS+'s ignored code points removed, and for NTFS trailing spaces and dots and an
 * alternate data stream (":...") dropped, or its 8.3 short name (`git~1`, `gitmod~1`).
 */
function sameAsDotName(name: string, dotname: string, shortName: RegExp): boolean {
  const lower = name.toLowerCase();
  if (lower.replace(HFS_IGNORED, '') === dotname) return true;
  const ntfs = (lower.split(':')[0] ?? '').replace(/[ .]+$/, '');
  return ntfs === dotname || shortName.test(ntfs);
}

/** From `i` on, only spaces and dots up to the end or an alternate data stream (':'). */
function ntfsTail(name: string, i: number, alsoSeparators: boolean): boolean {
  for (; ; i++) {
    const c = name[i];
    if (c === undefined || c === ':' || (alsoSeparators && (c === '/' || c === '\\'))) return true;
    if (c !== ' ' && c !== '.') return false;
  }
}

/**
 * path.c is_ntfs_dot_generic, as fsck applies it, to `name` from `at`: `.<needle>` then
 * spaces and dots, its short name `<needle's first 6>~1..4`, or NTFS's fall-back short name:
 * 8 characters, a prefix of `shortPrefix` then '~', a digit 1-9 and digits ("gi7eba~1",
 * "gi7e~123", "~1234567"). Looks at a dozen characters and a run of spaces and dots.
 */
function isNtfsDot(name: string, needle: string, shortPrefix: string, at = 0): boolean {
  const lower = asciiLower(name.slice(at, at + Math.max(needle.length + 1, 8)));
  if (lower.startsWith(`.${needle}`)) return ntfsTail(name, at + needle.length + 1, false);
  const d = name[at + 7];
  if (lower.startsWith(needle.slice(0, 6)) && name[at + 6] === '~' && d !== undefined && d >= '1' && d <= '4') return ntfsTail(name, at + 8, false);
  let i = 0;
  for (let sawTilde = false; i < 8; i++) {
    const c = name[at + i];
    if (c === undefined) return false;
    if (sawTilde) {
      if (c < '0' || c > '9') return false;
    } else if (c === '~') {
      const n = name[at + ++i];
      if (n === undefined || n < '1' || n > '9') return false;
      sawTilde = true;
    } else if (i >= 6 || lower[i] !== shortPrefix[i]) return false;
  }
  return ntfsTail(name, at + i, false);
}

/** path.c is_ntfs_dotgit on `name` from `at`: `.git` or `git~1`, then spaces and dots up to the end, ':', '/' or a backslash. */
function isNtfsDotgit(name: string, at = 0): boolean {
  const lower = asciiLower(name.slice(at, at + 5));
  if (lower.startsWith('.git')) return ntfsTail(name, at + 4, true);
  if (lower.startsWith('git~1')) return ntfsTail(name, at + 5, true);
  return false;
}

/** Whether `test` holds from just after some backslash in `name` (fsck checks those parts too, as NTFS paths). */
function afterSomeBackslash(name: string, test: (at: number) => boolean): boolean {
  for (let i = name.indexOf('\\'); i >= 0; i = name.indexOf('\\', i + 1)) if (test(i + 1)) return true;
  return false;
}

const DOTGIT_SHORT = /^git~[1-4]$/;
/** git fsck --strict refuses these as symlinks (gitmodulesSymlink; the others are warnings there, refused all the same). */
const NO_SYMLINK: readonly [string, RegExp, string][] = [
  ['.gitmodules', /^(gitmod~[1-4]|gi7eba~[1-9])$/, 'gi7eba'],
  ['.gitattributes', /^(gitatt~[1-4]|gi7d29~[1-9])$/, 'gi7d29'],
  ['.gitignore', /^(gitign~[1-4]|gi250a~[1-9])$/, 'gi250a'],
  ['.mailmap', /^(mailma~[1-4]|maba30~[1-9])$/, 'maba30'],
];

/** fsck.c fsck_tree's rule for a name git sees as `dotname`; for `.gitmodules`, also after a backslash. */
function fsckSees(name: string, [dotname, short, prefix]: readonly [string, RegExp, string]): boolean {
  const needle = dotname.slice(1);
  if (sameAsDotName(name, dotname, short) || isNtfsDot(name, needle, prefix)) return true;
  return dotname === '.gitmodules' && afterSomeBackslash(name, (at) => isNtfsDot(name, needle, prefix, at));
}

/**
 * Whether `git fsck` takes a tree entry called `name` for `.gitmodules`: its blob is then
 * checked as one (see gitmodules.ts), and it must be a blob, not a tree (gitmodulesBlob) or
 * a symlink (gitmodulesSymlink).
 */
export function isGitmodulesName(name: string): boolean {
  return fsckSees(name, NO_SYMLINK[0]!);
}

/** Whether `git fsck` takes a tree entry called `name` for `.gitattributes` (checked: gitattributes.ts; a tree there fails gitattributesBlob). */
export function isGitattributesName(name: string): boolean {
  return fsckSees(name, NO_SYMLINK[1]!);
}

export function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) throw badName(name);
  if (new TextEncoder().encode(name).length > NAME_MAX) throw new FsError('ENAMETOOLONG', `Name too long: ${name.slice(0, 32)}...`);
  // git refuses a tree entry that is, or a checkout would turn into, .git (fsck: hasDotgit),
  // also after a backslash (`.git\x`, `x\.git`: NTFS paths).
  if (sameAsDotName(name, '.git', DOTGIT_SHORT) || isNtfsDotgit(name) || afterSomeBackslash(name, (at) => isNtfsDotgit(name, at))) throw badName(name);
}

/** checkName, and what git refuses as a symlink's name. */
export function checkSymlinkName(name: string): void {
  checkName(name);
  for (const n of NO_SYMLINK) if (fsckSees(name, n)) throw new FsError('EINVAL', `${n[0]} cannot be a symlink (git fsck refuses it)`);
}

/** checkName, and `.gitmodules` (as git sees it) for a directory: fsck's gitmodulesBlob. */
function checkDirName(name: string): void {
  checkName(name);
  if (isGitmodulesName(name)) throw new FsError('EINVAL', `${name}: .gitmodules cannot be a directory (git fsck: gitmodulesBlob)`);
  if (isGitattributesName(name)) throw new FsError('EINVAL', `${name}: .gitattributes cannot be a directory (git fsck: gitattributesBlob)`);
}

/** Bytes of changed file contents all transactions of a server hold together. */
export class SharedBudget {
  used = 0;
  constructor(readonly limit: number) {}
}

export interface OverlayOptions {
  /** Most bytes of changed file contents held in memory (default 256 MiB); past it, ENOSPC. */
  maxBytes?: number;
  /** The server-wide budget these bytes also count against (ENOSPC past its limit). */
  shared?: SharedBudget;
}

export class Overlay {
  readonly root: ODir;
  readonly maxBytes: number;
  private readonly shared: SharedBudget | undefined;
  /** Bytes of file contents held in memory. */
  bytes = 0;
  /**
   * The transaction committed or was closed: every change queued after that fails (ENOENT)
   * instead of being acknowledged and then going nowhere.
   */
  closed = false;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    tree: Oid | undefined,
    opts: OverlayOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
    this.shared = opts.shared;
    this.root = { kind: 'dir', id: nextId++, parent: undefined, name: '', removed: false, version: 0, oid: tree, children: tree === undefined ? new Map() : undefined };
  }

  /**
   * Runs `fn` after every change queued before it: 9P requests run concurrently, and two
   * writes to one file must not both start from the same old contents.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const guarded = (): Promise<T> => (this.closed ? Promise.reject(new FsError('ENOENT', 'The transaction is closed')) : fn());
    const run = this.#tail.then(guarded, guarded);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async children(d: ODir): Promise<Map<string, ONode>> {
    if (d.removed) throw noEntry();
    if (d.children !== undefined) return d.children;
    const entries = d.oid === undefined ? [] : await this.store.readTree(d.oid);
    // Another caller may have loaded it while we waited.
    if (d.children !== undefined) return d.children;
    const m = new Map<string, ONode>();
    for (const e of entries) m.set(e.path, this.fromEntry(e, d));
    d.children = m;
    return m;
  }

  private fromEntry(e: TreeEntry, parent: ODir): ONode {
    // Literals, not a spread of a shared base: a directory of the big tree makes a
    // hundred of these for every transaction that walks into it.
    const id = nextId++;
    if (e.mode === '040000') return { id, parent, name: e.path, removed: false, version: 0, kind: 'dir', oid: e.oid, children: undefined };
    if (e.mode === '120000') return { id, parent, name: e.path, removed: false, version: 0, kind: 'symlink', target: '', oid: e.oid };
    return { id, parent, name: e.path, removed: false, version: 0, kind: 'file', exec: e.mode === '100755', oid: e.oid, data: undefined };
  }

  async lookup(d: ODir, name: string): Promise<ONode> {
    const c = (await this.children(d)).get(name);
    if (c === undefined) throw noEntry(name);
    return c;
  }

  async read(f: OFile): Promise<Uint8Array> {
    if (f.removed) throw noEntry(f.name);
    if (f.data !== undefined) return f.data;
    if (f.oid === undefined) return new Uint8Array(0);
    // Unchanged: the store's copy, not kept here (nor counted: it is in git already). Whoever
    // reads holds it while it needs it (an open fid); the store hands every holder the same
    // copy. Kept here, every file a transaction had read stayed in memory until it ended.
    const data = await this.store.readBlob(f.oid);
    return f.data ?? data;
  }

  /** A file's size; one still as git has it is not read (nor kept: `stat` of every file in rw/ must not hold them all). */
  async size(f: OFile): Promise<number> {
    if (f.removed) throw noEntry(f.name);
    if (f.data !== undefined) return f.data.length;
    return f.oid === undefined ? 0 : this.store.blobSize(f.oid);
  }

  async linkTarget(l: OLink): Promise<string> {
    if (l.removed) throw noEntry(l.name);
    if (l.oid !== undefined && l.target === '') l.target = new TextDecoder().decode(await this.store.readBlob(l.oid));
    return l.target;
  }

  /** Replaces a file's contents. */
  async setData(f: OFile, data: Uint8Array): Promise<void> {
    // A file still as git has it is not counted (nor read: truncating it must not
    // inflate a blob only to drop it); a changed one holds its bytes already.
    const delta = heldBytes(data) - (f.oid === undefined ? heldBytes(await this.read(f)) : 0);
    this.reserve(delta);
    f.data = data;
    this.changed(f);
  }

  /**
   * chmod +x / -x. The contents stay as they are: a file still as git has it keeps its blob
   * id (only the trees above it change), one changed keeps its bytes.
   */
  setExec(f: OFile, exec: boolean): void {
    if (f.exec === exec) return;
    f.exec = exec;
    this.changed(f, true);
  }

  private async add<T extends ONode>(d: ODir, name: string, make: (base: Base) => T): Promise<T> {
    checkName(name);
    const m = await this.children(d);
    if (m.has(name)) throw alreadyExists();
    // Empty files and directories cost memory too: 200,000 empty directories took 168 MiB uncounted.
    const cost = NODE_COST + name.length;
    this.reserve(cost);
    const n = make({ id: nextId++, parent: d, name, removed: false, version: 0, cost });
    m.set(name, n);
    this.changed(d);
    if (n.kind !== 'dir') this.onTouch?.(this.pathOf(n));
    return n;
  }

  async mkdir(d: ODir, name: string): Promise<ODir> {
    checkDirName(name);
    const n = await this.add(d, name, (b): ODir => ({ ...b, kind: 'dir', oid: undefined, children: new Map() }));
    this.onTouch?.(this.pathOf(n));
    return n;
  }

  createFile(d: ODir, name: string, exec: boolean): Promise<OFile> {
    return this.add(d, name, (b) => ({ ...b, kind: 'file', exec, oid: undefined, data: new Uint8Array(0) }));
  }

  symlink(d: ODir, name: string, target: string): Promise<OLink> {
    if (target.length > 4096) throw new FsError('ENAMETOOLONG', 'Symlink target too long');
    checkSymlinkName(name);
    return this.add(d, name, (b) => ({ ...b, kind: 'symlink', target, oid: undefined }));
  }

  /** Removes `d/name`; a directory only when `dir` (and then recursively, as datakit does). */
  async unlink(d: ODir, name: string, dir: boolean): Promise<void> {
    const m = await this.children(d);
    const n = m.get(name);
    if (n === undefined) throw noEntry(name);
    if (dir && n.kind !== 'dir') throw notDir();
    if (!dir && n.kind === 'dir') throw isDir();
    const path = this.pathOf(n);
    m.delete(name);
    this.drop(n);
    this.changed(d);
    this.onTouch?.(path);
  }

  private drop(n: ONode): void {
    n.removed = true;
    if (n.cost !== undefined) this.charge(-n.cost);
    if (n.kind === 'file' && n.data !== undefined && n.oid === undefined) this.charge(-heldBytes(n.data));
    if (n.kind === 'dir' && n.children !== undefined) for (const c of n.children.values()) this.drop(c);
  }

  /** rename(2): replaces a file, or an empty directory with a directory. */
  async rename(from: ODir, oldName: string, to: ODir, newName: string): Promise<void> {
    checkName(newName);
    const src = await this.lookup(from, oldName);
    if (src.kind === 'symlink') checkSymlinkName(newName);
    if (src.kind === 'dir') checkDirName(newName);
    for (let d: ODir | undefined = to; d !== undefined; d = d.parent) {
      if (d === src) throw new FsError('EINVAL', 'Cannot move a directory into itself');
    }
    const dst = await this.children(to);
    const victim = dst.get(newName);
    if (victim === src) return;
    if (victim !== undefined) {
      if (victim.kind === 'dir' && src.kind !== 'dir') throw isDir();
      if (victim.kind !== 'dir' && src.kind === 'dir') throw notDir();
      if (victim.kind === 'dir' && (await this.children(victim)).size > 0) throw new FsError('ENOTEMPTY', 'Directory not empty');
      dst.delete(newName);
      this.drop(victim);
    }
    const oldPath = this.pathOf(src);
    (await this.children(from)).delete(oldName);
    this.changed(from);
    src.parent = to;
    src.name = newName;
    if (src.kind === 'file') src.moved = true;
    dst.set(newName, src);
    this.changed(to);
    this.onTouch?.(oldPath);
    this.onTouch?.(this.pathOf(src));
  }

  /** Called with the path of every node written, created, removed or renamed (from or to). */
  onTouch: ((path: string) => void) | undefined;

  /** `n`'s path from the root ('' for the root). */
  pathOf(n: ONode): string {
    const names: string[] = [];
    for (let c: ONode | undefined = n; c?.parent !== undefined; c = c.parent) names.push(c.name);
    return names.reverse().join('/');
  }

  /** Replaces the whole tree (a merge's result): every node held so far is gone. */
  reset(tree: Oid | undefined): void {
    if (this.root.children !== undefined) for (const c of this.root.children.values()) this.drop(c);
    this.root.oid = tree;
    this.root.children = tree === undefined ? new Map() : undefined;
    this.root.version++;
    this.charge(-this.bytes);
  }

  /** Counts `delta` bytes, ENOSPC (nothing counted) when that would pass either budget. */
  private reserve(delta: number): void {
    // A change that was under way when the transaction closed: its bytes were given back.
    if (this.closed) throw new FsError('ENOENT', 'The transaction is closed');
    if (delta > 0) {
      if (this.bytes + delta > this.maxBytes) throw new FsError('ENOSPC', `The transaction holds more than ${this.maxBytes} bytes`);
      const sh = this.shared;
      if (sh !== undefined && sh.used + delta > sh.limit) throw new FsError('ENOSPC', `The server's transactions hold more than ${sh.limit} bytes`);
    }
    this.charge(delta);
  }

  /** Counts `delta` bytes against this overlay and the shared budget (nothing once closed: see release). */
  private charge(delta: number): void {
    if (this.closed) return;
    this.bytes += delta;
    if (this.shared !== undefined) this.shared.used += delta;
  }

  /**
   * The transaction is over: its bytes go back to the shared budget, once; changes are
   * refused from now on, and one still under way (a write waiting for its blob) neither
   * charges nor gives back anything more.
   */
  release(): void {
    if (this.closed) return;
    if (this.shared !== undefined) this.shared.used -= this.bytes;
    this.bytes = 0;
    this.closed = true;
  }

  /**
   * Marks `n` and its ancestors as changed: their git ids no longer hold (`n`'s own does
   * with `sameContents`: a mode change).
   */
  changed(n: ONode, sameContents = false): void {
    if (n.kind !== 'dir') this.onTouch?.(this.pathOf(n));
    n.version++;
    if (n.kind !== 'symlink' && !sameContents) n.oid = undefined;
    for (let d = n.parent; d !== undefined; d = d.parent) {
      d.oid = undefined;
      d.version++;
    }
  }

  /**
   * Writes what changed to the store (into `batch` if given: `Store.commitBatch` writes it).
   * Returns the root tree and every object written (to be made durable before a ref
   * points at them). Empty directories are left out.
   *
   * A `.gitmodules` or `.gitattributes` (as git sees the name) written new or moved here must pass
   * `git fsck --strict`'s checks: EINVAL naming the path and the rule otherwise, before
   * the tree naming it is written. One unchanged in its place is in history already.
   */
  async writeTree(batch?: ObjectBatch): Promise<{ tree: Oid; written: Oid[] }> {
    const written: Oid[] = [];
    const tree = (await this.writeDir(this.root, written, batch)) ?? (await this.store.writeTree([], batch));
    if (this.root.oid === undefined) written.push(tree);
    return { tree, written };
  }

  private async writeDir(d: ODir, written: Oid[], batch: ObjectBatch | undefined): Promise<Oid | undefined> {
    if (d.oid !== undefined) return d.oid;
    const entries: TreeEntry[] = [];
    for (const [name, c] of await this.children(d)) {
      if (c.kind === 'dir') {
        const oid = await this.writeDir(c, written, batch);
        if (oid !== undefined) entries.push({ mode: '040000', path: name, oid, type: 'tree' });
      } else if (c.kind === 'file') {
        if (c.oid === undefined || c.moved === true) {
          const check = isGitmodulesName(name) ? checkGitmodules : isGitattributesName(name) ? checkGitattributes : undefined;
          const problem = check?.(await this.read(c));
          if (problem !== undefined) throw new FsError('EINVAL', `${this.pathOf(c)}: ${problem.message}`, { reason: problem.rule.startsWith('gitmodules') ? 'gitmodules' : 'gitattributes', rule: problem.rule, path: this.pathOf(c) });
        }
        let oid = c.oid;
        if (oid === undefined) {
          oid = await this.store.writeBlob(await this.read(c), batch);
          written.push(oid);
        }
        entries.push({ mode: c.exec ? '100755' : '100644', path: name, oid, type: 'blob' });
      } else {
        let oid = c.oid;
        if (oid === undefined) {
          oid = await this.store.writeBlob(new TextEncoder().encode(c.target), batch);
          written.push(oid);
        }
        entries.push({ mode: '120000', path: name, oid, type: 'blob' });
      }
    }
    if (entries.length === 0) return undefined;
    const oid = await this.store.writeTree(entries, batch);
    written.push(oid);
    return oid;
  }
}
