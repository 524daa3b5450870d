/**
 * `/branch/<name>/watch/`: datakit 9p.md "Watches" and datakit.ml `watch_dir`,
 * `hash_line`.
 *
 *   watch/tree.live                 the whole tree
 *   watch/src.node/ui.node/tree.live   the path src/ui
 *
 * A `tree.live` is a stream: first the path's state, then a new line each time the
 * head changes it, coalesced like head.live. A state is "\n" (absent), `D-<tree>`,
 * `F-<blob>`, `X-<blob>` (executable) or `L-<blob>` (symlink). Listing shows
 * `.node` directories for the entries that exist now; any path may be watched.
 */
import type { Oid } from '../store/store.js';
import { noEntry, readOnlyDir } from './errors.js';
import type { Node } from './node.js';
import { enc } from './node.js';
import type { Repo } from './repo.js';
import type { StreamSource } from './stream.js';
import { StreamFile } from './stream.js';
import { findEntry } from './tree-ro.js';

/** `git hash-object -t tree /dev/null`. */
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

export type HeadChanged = (since: number, signal: AbortSignal) => Promise<void>;

/** datakit `hash_line` for `path` at commit `head`. */
export async function hashLine(repo: Repo, head: Oid | undefined, path: readonly string[]): Promise<string> {
  // An empty branch's root is the empty tree (datakit's test_watch expects its hash).
  if (head === undefined) return path.length === 0 ? `D-${EMPTY_TREE}\n` : '\n';
  const tree = (await repo.store.readCommit(head)).tree;
  const e = await findEntry(repo.store, tree, path);
  if (e === undefined) return '\n';
  const tag = e.mode === '040000' ? 'D' : e.mode === '100755' ? 'X' : e.mode === '120000' ? 'L' : 'F';
  return `${tag}-${e.oid}\n`;
}

function treeLive(repo: Repo, branch: string, path: readonly string[], changed: HeadChanged): Promise<StreamSource> {
  let last: string | undefined;
  const w = repo.watch(branch);
  // Held for the stream's life: the repository forgets a Watchable nobody listens to, and
  // this loop compares versions of this one.
  const off = w.subscribe(() => undefined);
  return Promise.resolve({
    close: off,
    next: async (signal: AbortSignal) => {
      if (last === undefined) await repo.head(branch);
      for (;;) {
        const v = w.version;
        const now = await hashLine(repo, w.value, path);
        if (now !== last) {
          last = now;
          return enc.encode(now);
        }
        await changed(v, signal);
      }
    },
  });
}

export function watchDir(repo: Repo, branch: string, path: readonly string[], changed: HeadChanged): Node {
  const key = `branch/${branch}/watch/${path.map((p) => `${p}.node`).join('/')}`;
  const live = new StreamFile('tree.live', `${key}/tree.live`, () => treeLive(repo, branch, path, changed));
  const child = (name: string): Node => watchDir(repo, branch, [...path, name], changed);
  return {
    kind: 'dir',
    name: path.length === 0 ? 'watch' : `${path[path.length - 1] ?? ''}.node`,
    key,
    stat: () => Promise.resolve({ size: 0, perm: 0o555 }),
    lookup: (name: string): Promise<Node> => {
      if (name === 'tree.live') return Promise.resolve(live);
      if (name.endsWith('.node') && name.length > 5) return Promise.resolve(child(name.slice(0, -5)));
      return Promise.reject(noEntry(name));
    },
    list: async (): Promise<readonly Node[]> => {
      const head = await repo.head(branch);
      if (head === undefined) return [live];
      const e = await findEntry(repo.store, (await repo.store.readCommit(head)).tree, path);
      const names = e === undefined || e.type !== 'tree' ? [] : (await repo.store.readTree(e.oid)).map((x) => x.path);
      return [live, ...names.map(child)];
    },
    mkdir: () => Promise.reject(readOnlyDir()),
    create: () => Promise.reject(readOnlyDir()),
    unlink: () => Promise.reject(readOnlyDir()),
    rename: () => Promise.reject(readOnlyDir()),
  };
}
