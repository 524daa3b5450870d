/**
 * Git's lock-file protocol for refs (see git's lockfile.c): `<ref>.lock` is created with
 * O_CREAT|O_EXCL, the new value is written and fsynced into it, and it is renamed over the
 * ref; the directory is fsynced too, so the rename survives a crash. A second writer, in
 * this process or in `git` itself, fails to create the lock and retries, so a
 * compare-and-swap made under the lock is exact.
 */
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DatakitError } from '../errors.js';

export interface LockOptions {
  /** How long to keep retrying a held lock before giving up (ms). */
  timeoutMs?: number;
}

/**
 * Runs `body` holding `<path>.lock`. `body` returns the new file content, or `undefined`
 * to leave the file unchanged; the content is fsynced before the rename publishes it.
 */
export async function withLockFile<T>(
  path: string,
  body: () => Promise<{ content?: string; result: T }>,
  { timeoutMs = 5000 }: LockOptions = {},
): Promise<T> {
  const lockPath = `${path}.lock`;
  const deadline = performance.now() + timeoutMs;
  let delay = 1;
  for (;;) {
    let handle;
    try {
      handle = await open(lockPath, 'wx', 0o644);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (performance.now() > deadline) {
        throw new DatakitError('LOCKED', `${lockPath} is held by another writer`, { path: lockPath });
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 50);
      continue;
    }
    let renamed = false;
    try {
      const { content, result } = await body();
      if (content !== undefined) {
        await handle.writeFile(content);
        await handle.sync();
        await handle.close();
        await rename(lockPath, path);
        renamed = true;
        await syncDir(dirname(path));
      }
      return result;
    } finally {
      if (!renamed) {
        await handle.close().catch(() => undefined);
        await rm(lockPath, { force: true });
      }
    }
  }
}

/** Makes a rename in `dir` durable; file systems that refuse to fsync a directory are let be. */
async function syncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    await h.close();
  }
}
