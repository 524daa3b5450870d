/**
 * `/remotes/`: datakit remote.ml. Not persisted; one set per connection, as datakit's
 * filesystem is made per connection.
 *
 *   mkdir remotes/<name>          adds a remote ("Already exists" if there is one)
 *   remotes/<name>/url            read-write: the URL
 *   remotes/<name>/fetch          write a branch name: fetches it; errors
 *                                 "error: remote url is not defined",
 *                                 "error: no head to fetch", "error: cannot fetch <url>"
 *   remotes/<name>/head           stream: each commit fetched, one per line (nothing
 *                                 until the first fetch)
 *
 * Fetched commits land in the repository (and under `refs/remotes/<name>/<branch>`), so
 * `branch/<b>/fast-forward` or a transaction's `merge` can use them.
 */
import { isValidBranchName } from '../store/store.js';
import type { Oid } from '../store/store.js';
import { alreadyExists, badName, dirOnly, FsError, noEntry, readOnlyDir } from './errors.js';
import { CommandFile } from './command.js';
import type { Fetcher } from './fetch.js';
import type { Node } from './node.js';
import { dec, enc, MemoryFile, StaticDir } from './node.js';
import type { Repo } from './repo.js';
import { StreamFile } from './stream.js';
import { checkName } from './overlay.js';
import { Watchable } from './watch.js';

class Remote {
  readonly url: MemoryFile;
  readonly head = new Watchable<Oid | undefined>(undefined);

  constructor(
    readonly name: string,
    readonly key: string,
  ) {
    this.url = new MemoryFile('url', `${key}/url`, new Uint8Array(0), 4096);
  }
}

export function remotesDir(repo: Repo, fetcher: Fetcher, connKey: string): Node {
  const remotes = new Map<string, Remote>();
  const dirOf = (r: Remote): Node => {
    const head = new StreamFile('head', `${r.key}/head`, () => {
      let sent = r.head.version === 0 ? undefined : r.head.value;
      let first = true;
      return Promise.resolve({
        next: async (signal: AbortSignal) => {
          for (;;) {
            const v = r.head.version;
            if (r.head.value !== undefined && (first || r.head.value !== sent)) {
              first = false;
              sent = r.head.value;
              return enc.encode(`${sent}\n`);
            }
            await r.head.changed(v, signal);
          }
        },
      });
    });
    const fetch = new CommandFile('fetch', `${r.key}/fetch`, async (branch) => {
      const url = dec.decode(r.url.data).trim();
      if (url === '') throw new FsError('EINVAL', 'error: remote url is not defined');
      if (!isValidBranchName(branch)) throw badName(branch);
      const oid = await fetcher({ gitdir: repo.store.gitdir, url, branch, ref: `refs/remotes/${r.name}/${branch}` });
      r.head.set(oid);
      return '';
    });
    const children = [r.url, head, fetch];
    return new StaticDir(r.name, r.key, () => children);
  };
  return {
    kind: 'dir',
    name: 'remotes',
    key: `${connKey}/remotes`,
    stat: () => Promise.resolve({ size: 0, perm: 0o755 }),
    lookup: (name: string): Promise<Node> => {
      const r = remotes.get(name);
      return r === undefined ? Promise.reject(noEntry(name)) : Promise.resolve(dirOf(r));
    },
    list: () => Promise.resolve([...remotes.values()].map(dirOf)),
    mkdir: (name: string): Promise<Node> => {
      checkName(name);
      // It becomes part of a ref name: the same rules as a branch.
      if (!isValidBranchName(name)) return Promise.reject(badName(name));
      if (remotes.has(name)) return Promise.reject(alreadyExists());
      if (remotes.size >= 256) return Promise.reject(new FsError('ENOSPC', 'At most 256 remotes per connection'));
      const r = new Remote(name, `${connKey}/remotes/${name}`);
      remotes.set(name, r);
      return Promise.resolve(dirOf(r));
    },
    create: () => Promise.reject(dirOnly()),
    unlink: (name: string, dir: boolean): Promise<void> => {
      // datakit refuses ("Can only contain directories"); removing a remote is harmless.
      if (!dir) return Promise.reject(new FsError('EISDIR', 'Is a directory'));
      if (!remotes.delete(name)) return Promise.reject(noEntry(name));
      return Promise.resolve();
    },
    rename: (): Promise<void> => Promise.reject(readOnlyDir()),
  };
}
