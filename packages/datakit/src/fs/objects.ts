/**
 * `/snapshots/`, `/trees/`, `/commits/`: objects by hash. The directories list as
 * empty; walking to a hash works (datakit datakit.ml `snapshots_dir`, `trees_dir`,
 * `commit_dir`).
 *
 *   snapshots/<commit>/ro/       the commit's tree, read-only
 *   snapshots/<commit>/hash      "<commit>" (no newline, as datakit's ro_of_string name)
 *   snapshots/<commit>/msg       the message, ending in "\n"
 *   snapshots/<commit>/parents   "<parent>\n" per parent
 *   snapshots/<commit>/diff/<c>  files changed since commit <c> (see diff.ts)
 *   trees/F-<blob> X-<blob> L-<blob>   a file, an executable, a symlink's target
 *   trees/D-<tree>/                    a directory, read-only
 *   commits/<commit>             the commit object as `git cat-file commit` prints it
 *                                (datakit prints Irmin's JSON here; git's own text is
 *                                what a git repository has to offer)
 */
import { isOid } from '../store/store.js';
import { noEntry, readOnlyDir } from './errors.js';
import type { Node } from './node.js';
import { constFile, StaticDir, StatusFile } from './node.js';
import type { Repo } from './repo.js';
import { RoDir } from './tree-ro.js';
import { diffDir } from './diff.js';

/** A read-only directory whose children are made on lookup and never listed. */
function lookupDir(name: string, lookup: (name: string) => Promise<Node>): Node {
  return {
    kind: 'dir',
    name,
    key: name,
    stat: () => Promise.resolve({ size: 0, perm: 0o555 }),
    lookup,
    list: () => Promise.resolve([]),
    mkdir: () => Promise.reject(readOnlyDir()),
    create: () => Promise.reject(readOnlyDir()),
    unlink: () => Promise.reject(readOnlyDir()),
    rename: () => Promise.reject(readOnlyDir()),
  };
}

export function snapshotsDir(repo: Repo): Node {
  return lookupDir('snapshots', async (hash) => {
    const c = await repo.commit(hash);
    const key = `snapshots/${hash}`;
    const children: Node[] = [
      new RoDir(repo.store, () => Promise.resolve(c.tree), `${key}/ro`, []),
      constFile('hash', `${key}/hash`, hash),
      constFile('msg', `${key}/msg`, c.message.endsWith('\n') ? c.message : `${c.message}\n`),
      constFile('parents', `${key}/parents`, c.parents.map((p) => `${p}\n`).join('')),
      diffDir(repo, `${key}/diff`, () => Promise.resolve(c.tree)),
    ];
    return new StaticDir(hash, key, () => children);
  });
}

export function treesDir(repo: Repo): Node {
  return lookupDir('trees', async (name) => {
    const kind = name.slice(0, 2);
    const hash = name.slice(2);
    if (!isOid(hash)) throw noEntry(name);
    const type = await repo.store.objectType(hash);
    if (kind === 'D-') {
      if (type !== 'tree') throw noEntry(name);
      return new RoDir(repo.store, () => Promise.resolve(hash), `trees/${name}`, [], name);
    }
    if ((kind !== 'F-' && kind !== 'X-' && kind !== 'L-') || type !== 'blob') throw noEntry(name);
    if (kind === 'L-') {
      const data = await repo.store.readBlob(hash);
      return {
        kind: 'symlink',
        name,
        key: `trees/${name}`,
        stat: () => Promise.resolve({ size: data.length, perm: 0o777 }),
        readlink: () => Promise.resolve(new TextDecoder().decode(data)),
      };
    }
    // Read when opened; stat tells the size from the object's header.
    return new StatusFile(name, `trees/${name}`, () => repo.store.readBlob(hash), kind === 'X-' ? 0o555 : 0o444, () => repo.store.blobSize(hash));
  });
}

export function commitsDir(repo: Repo): Node {
  return lookupDir('commits', async (hash) => {
    await repo.commit(hash);
    const raw = await repo.store.readRaw(hash);
    return constFile(hash, `commits/${hash}`, raw.content);
  });
}

