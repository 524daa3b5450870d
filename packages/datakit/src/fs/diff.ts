/**
 * `diff/<commit>` in snapshots and transactions: datakit datakit.ml `Diff.vfs_dir`.
 *
 *   "let pp_op ppf = function `Added _ -> "+" | `Removed _ -> "-" | `Updated _ -> "*""
 *   "Fmt.pf ppf "%a %s\n" pp_op op path"
 *
 * One line per file (not directory) that differs between `<commit>` and this tree:
 * "+ path" added since, "- path" removed, "* path" changed (contents or mode). Lines are
 * sorted by path. The directory lists as empty; walking to a commit id works.
 */
import type { Oid, Store, TreeEntry } from '../store/store.js';
import { readOnlyDir } from './errors.js';
import type { Node } from './node.js';
import { constFile } from './node.js';
import type { Repo } from './repo.js';

async function entries(store: Store, tree: Oid | undefined): Promise<Map<string, TreeEntry>> {
  const m = new Map<string, TreeEntry>();
  if (tree !== undefined) for (const e of await store.readTree(tree)) m.set(e.path, e);
  return m;
}

/** `+`/`-`/`*` lines for the files that differ between trees `from` and `to`. */
export async function diffTrees(store: Store, from: Oid | undefined, to: Oid | undefined, prefix = ''): Promise<string[]> {
  if (from === to) return [];
  const [a, b] = await Promise.all([entries(store, from), entries(store, to)]);
  const out: string[] = [];
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(name);
    const y = b.get(name);
    const path = prefix === '' ? name : `${prefix}/${name}`;
    if (x !== undefined && y !== undefined && x.mode === y.mode && x.oid === y.oid) continue;
    const xt = x?.type === 'tree' ? x.oid : undefined;
    const yt = y?.type === 'tree' ? y.oid : undefined;
    if (xt !== undefined || yt !== undefined) out.push(...(await diffTrees(store, xt, yt, path)));
    const xf = x !== undefined && x.type !== 'tree';
    const yf = y !== undefined && y.type !== 'tree';
    if (xf && yf) out.push(`* ${path}`);
    else if (xf) out.push(`- ${path}`);
    else if (yf) out.push(`+ ${path}`);
  }
  return out.sort((p, q) => (p.slice(2) < q.slice(2) ? -1 : p.slice(2) > q.slice(2) ? 1 : 0));
}

/** A `diff/` directory against the tree `current()` gives. */
export function diffDir(repo: Repo, key: string, current: () => Promise<Oid | undefined>): Node {
  return {
    kind: 'dir',
    name: 'diff',
    key,
    stat: () => Promise.resolve({ size: 0, perm: 0o555 }),
    lookup: async (hash: string): Promise<Node> => {
      const c = await repo.commit(hash);
      const lines = await diffTrees(repo.store, c.tree, await current());
      return constFile(hash, `${key}/${hash}`, lines.map((l) => `${l}\n`).join(''));
    },
    list: () => Promise.resolve([]),
    mkdir: () => Promise.reject(readOnlyDir()),
    create: () => Promise.reject(readOnlyDir()),
    unlink: () => Promise.reject(readOnlyDir()),
    rename: () => Promise.reject(readOnlyDir()),
  };
}

