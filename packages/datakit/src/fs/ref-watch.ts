/**
 * Notices branch refs moved by writers outside this server (the git CLI, another server
 * on the same repository) as they happen: inotify (node's fs.watch) on `refs/heads/`
 * and on the repository directory (for `packed-refs`). git moves a ref by writing
 * `<ref>.lock` and renaming it over `<ref>`, so every move makes events here.
 *
 * Only top-level branch names are reported (those with a '/' are not shown over 9P).
 * Where watching is not possible (no inotify, the directory missing), nothing is
 * reported and the callers' polling (`pollMs`) is what notices outside writers.
 */
import type { FSWatcher } from 'node:fs';
import { watch } from 'node:fs';
import { join } from 'node:path';

/**
 * Calls `onChange(branch)` when `refs/heads/<branch>` may have moved, and
 * `onChange(undefined)` when any branch may have (packed-refs changed). Returns the
 * function that stops watching. The watchers do not keep the process alive.
 */
export function watchRefs(gitdir: string, onChange: (branch: string | undefined) => void): () => void {
  const watchers: FSWatcher[] = [];
  const add = (dir: string, name: (file: string) => string | undefined | null): void => {
    try {
      const w = watch(dir, { persistent: false }, (_event, file) => {
        const n = file === null ? undefined : name(String(file));
        if (n !== null) onChange(n);
      });
      // The directory went away (a test's repository removed): stop, polling remains.
      w.on('error', () => w.close());
      watchers.push(w);
    } catch {
      // No inotify here, or no such directory: polling remains.
    }
  };
  add(join(gitdir, 'refs', 'heads'), (f) => (f.endsWith('.lock') ? f.slice(0, -'.lock'.length) : f));
  add(gitdir, (f) => (f === 'packed-refs' || f === 'packed-refs.lock' ? undefined : null));
  return () => {
    for (const w of watchers) w.close();
  };
}
