/**
 * Three-way merge of git trees, as datakit's merge.ml does it: no merging inside files.
 *
 * datakit merge.ml: types first, "Some `Node, Some `Contents ... -> `Conflict"
 *   ("File vs dir"); directories (on either side) merge recursively; files go through
 *   Irmin's `option (idempotent (blob, perm))` merge with the base as `old`:
 *   the side that changed wins, the same change on both is no conflict, and
 *   "Error (`Conflict "default") -> note_conflict path leaf "Changed on both branches"";
 *   other conflicts keep Irmin's text: "option: add/del" (changed on one side, removed
 *   on the other), "default: add/add and no common ancestor".
 *   A conflicting path gets the file "** Conflict **\n<why>\n" (mode 100644).
 *
 * Trees are read from and written to the store; the result lists every object written.
 */
import type { Oid, Store, TreeEntry } from '../store/store.js';

export interface Conflict {
  path: string;
  why: string;
}

export interface MergeResult {
  /** The merged root tree; with conflicts only when `markConflicts` was asked for. */
  tree?: Oid;
  conflicts: Conflict[];
  written: Oid[];
}

type Slot = Pick<TreeEntry, 'mode' | 'oid'> | undefined;

const same = (a: Slot, b: Slot): boolean => (a === undefined ? b === undefined : b !== undefined && a.mode === b.mode && a.oid === b.oid);
const isTree = (s: Slot): s is Pick<TreeEntry, 'mode' | 'oid'> => s !== undefined && s.mode === '040000';

interface Ctx {
  store: Store;
  conflicts: Conflict[];
  written: Oid[];
  mark: boolean;
}

/**
 * Merges `theirs` into `ours` from their common ancestor `base` (undefined: no shared
 * history). With `markConflicts`, a tree is made even when there are conflicts, with
 * conflict files in their places (a transaction's merge); without, conflicts give no tree.
 */
export async function mergeTrees(
  store: Store,
  base: Oid | undefined,
  ours: Oid | undefined,
  theirs: Oid | undefined,
  { markConflicts = false }: { markConflicts?: boolean } = {},
): Promise<MergeResult> {
  const ctx: Ctx = { store, conflicts: [], written: [], mark: markConflicts };
  const tree = await mergeDir(ctx, base, ours, theirs, '');
  if (ctx.conflicts.length > 0 && !markConflicts) return { conflicts: ctx.conflicts, written: ctx.written };
  const root = tree ?? (await store.writeTree([]));
  if (tree === undefined) ctx.written.push(root);
  return { tree: root, conflicts: ctx.conflicts, written: ctx.written };
}

async function read(store: Store, oid: Oid | undefined): Promise<Map<string, Slot>> {
  const m = new Map<string, Slot>();
  if (oid !== undefined) for (const e of await store.readTree(oid)) m.set(e.path, { mode: e.mode, oid: e.oid });
  return m;
}

async function conflict(ctx: Ctx, path: string, why: string): Promise<Slot> {
  ctx.conflicts.push({ path, why });
  if (!ctx.mark) return undefined;
  const oid = await ctx.store.writeBlob(new TextEncoder().encode(`** Conflict **\n${why}\n`));
  ctx.written.push(oid);
  return { mode: '100644', oid };
}

async function mergeDir(ctx: Ctx, base: Oid | undefined, ours: Oid | undefined, theirs: Oid | undefined, prefix: string): Promise<Oid | undefined> {
  if (ours === theirs) return ours;
  const [b, o, t] = await Promise.all([read(ctx.store, base), read(ctx.store, ours), read(ctx.store, theirs)]);
  const out: TreeEntry[] = [];
  for (const name of [...new Set([...o.keys(), ...t.keys()])].sort()) {
    const bs = b.get(name);
    const os = o.get(name);
    const ts = t.get(name);
    const path = prefix === '' ? name : `${prefix}/${name}`;
    let result: Slot;
    if (same(os, ts)) result = os;
    else if (os !== undefined && ts !== undefined && isTree(os) !== isTree(ts)) result = await conflict(ctx, path, 'File vs dir');
    else if (isTree(os) || isTree(ts)) {
      const oid = await mergeDir(ctx, isTree(bs) ? bs.oid : undefined, os?.oid, ts?.oid, path);
      result = oid === undefined ? undefined : { mode: '040000', oid };
    } else {
      // Files (or absent); a directory in the base is no ancestor of a file.
      const old = isTree(bs) ? undefined : bs;
      if (same(os, old)) result = ts;
      else if (same(ts, old)) result = os;
      else if (os === undefined || ts === undefined) result = await conflict(ctx, path, 'option: add/del');
      else if (old === undefined) result = await conflict(ctx, path, 'default: add/add and no common ancestor');
      else result = await conflict(ctx, path, 'Changed on both branches');
    }
    if (result !== undefined) out.push({ ...result, path: name, type: result.mode === '040000' ? 'tree' : 'blob' });
  }
  if (out.length === 0) return undefined;
  const oid = await ctx.store.writeTree(out);
  ctx.written.push(oid);
  return oid;
}
